"""One person end to end: stored events -> desired blocks -> the calendar's own blocks -> diff -> writes."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from balanced_calendar import texts
from balanced_calendar.model import Policy, Window
from balanced_calendar.planner.apply import Applied, apply_diff
from balanced_calendar.planner.desired import DesiredPlan, horizon_dates, plan_blocks
from balanced_calendar.planner.reconcile import Diff, own_blocks_of, reconcile
from balanced_calendar.planner.settings import PlanSettings
from balanced_calendar.store import PersonRecord, Store
from balanced_calendar.timezones import load_zone
from connectors.base import Connector

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PersonPlan:
    """The outcome of planning one person: the wanted blocks, the diff, and what was written."""

    pseudonym: str
    zone: str
    plan: DesiredPlan
    diff: Diff
    applied: Applied | None = None


def title_of(lang: str):  # type: ignore[no-untyped-def]
    """The localised title of each block kind ("Fokus kerja", "Focus time", ...)."""
    return lambda kind: texts.text(f"block.{kind}", lang)


def read_bounds(now: dt.datetime, zone: str, settings: PlanSettings) -> tuple[dt.datetime, dt.datetime]:
    """Local midnight of today to the end of the planning horizon, in the person's zone."""
    tz = load_zone(zone)
    first, last = horizon_dates(now.astimezone(tz).date(), settings)
    today = first + dt.timedelta(days=(now.astimezone(tz).date() - first).days)
    return (dt.datetime.combine(today, dt.time(), tzinfo=tz),
            dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz))


def desired_for(store: Store, person: PersonRecord, policy: Policy, settings: PlanSettings, now: dt.datetime,
                keep: list[tuple[int, int]] | None = None) -> DesiredPlan:
    """The blocks ``person`` should have, from what the store holds of their calendar."""
    tz = load_zone(person.timezone)
    first, last = horizon_dates(now.astimezone(tz).date(), settings)
    columns = store.load_event_columns(person.email, dt.datetime.combine(first, dt.time(), tzinfo=tz),
                                       dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz))
    return plan_blocks(columns, policy, settings, zone=person.timezone, now=now, pseudonym=person.pseudonym,
                       keep=keep or ())


def plan_person(store: Store, connector: Connector, person: PersonRecord, policy: Policy,
                settings: PlanSettings, now: dt.datetime, *, apply: bool = False, force: bool = False) -> PersonPlan:
    """Plan ``person``: a dry run unless ``apply``. The calendar's own blocks are read through
    ``connector`` (the truth, found by tag); writes go through it too.

    Raises :class:`~balanced_calendar.planner.apply.TooManyDeletes` (nothing written) when
    the run would delete more than ``max_deletes`` blocks and ``force`` is not given, and
    the connector's errors (``ReadOnlyConnector`` for a person without ``protect``).
    """
    tz = load_zone(person.timezone)
    lo, hi = read_bounds(now, person.timezone, settings)
    found = own_blocks_of(connector.read(Window(lo, hi), tz), person.pseudonym)
    records = store.own_blocks(person.email, lo.date(), hi.date())
    tombstones = store.tombstones(person.email)
    title = title_of(person.language)
    now_s = int(now.timestamp())
    bounds = {"now": now_s, "read_start": int(lo.timestamp()), "read_end": int(hi.timestamp()), "title": title}

    # Own blocks the planner may not move (started, edited, other people's) are kept free of new blocks.
    fixed = {r.block_id for r in records if r.state == "edited_by_user"}
    keep = [(f.start, f.end) for f in found if f.block_id in fixed or f.start <= now_s]
    plan = desired_for(store, person, policy, settings, now, keep)
    diff = reconcile(plan.blocks, found, records, tombstones, **bounds)  # type: ignore[arg-type]
    if set(diff.kept) - set(keep):  # blocks found edited just now: plan around them too
        plan = desired_for(store, person, policy, settings, now, sorted(set(keep) | set(diff.kept)))
        diff = reconcile(plan.blocks, found, records, tombstones, **bounds)  # type: ignore[arg-type]
    applied = None
    if apply:
        applied = apply_diff(diff, connector, store, email=person.email, pseudonym=person.pseudonym, tz=tz,
                             limit=settings.numbers.max_deletes, force=force)
        log.info("planned %s: %s", person.pseudonym,
                 ", ".join(f"{count} {op}" for op, count in applied.done.items() if count) or "no change")
    return PersonPlan(person.pseudonym, person.timezone, plan, diff, applied)
