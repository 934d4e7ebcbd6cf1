"""The daemon's ``plan`` job: daily at 05:30 in each protected person's zone, and after a sync
that changed what the store holds of their next workdays (a due-time job keyed by a digest of
those events, so an unchanged calendar never plans twice)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Sequence

from balanced_calendar.config import Config
from balanced_calendar.due import Daily, Handler, JobKind, Subject
from balanced_calendar.model import UserError
from balanced_calendar.planner.command import plan_one
from balanced_calendar.planner.desired import horizon_dates
from balanced_calendar.planner.settings import settings_for
from balanced_calendar.preferences import own_planner
from balanced_calendar.runtime import Runtime, open_runtime
from balanced_calendar.store import PersonRecord
from balanced_calendar.timezones import load_zone

log = logging.getLogger(__name__)

#: local time of the daily plan (before a working day starts at 07:30)
DAILY_AT = dt.time(5, 30)


def plan_subjects(rt: Runtime) -> list[Subject]:
    """Everyone who allowed writes (``protect = true``)."""
    return [Subject(p.pseudonym, p.timezone) for p in rt.store.list_people() if p.protect]


def plan_kind(config: Config, environ: object, clock: Callable[[], dt.datetime]) -> JobKind:
    """The ``plan`` job kind: applies each protected person's plan through their connector."""

    def handle(subjects: Sequence[Subject], stop: threading.Event) -> dict[str, str]:
        wanted = {s.id for s in subjects}
        failed: dict[str, str] = {}
        with open_runtime(config, environ=environ, clock=clock) as rt:  # type: ignore[arg-type]
            for person in rt.store.list_people():
                if person.pseudonym not in wanted or not person.protect:
                    continue
                if stop.is_set():
                    failed[person.pseudonym] = "not started"
                    continue
                # Instances sharing a store may hold two plan jobs of one person at once (the
                # daily one and one after a sync): one plans at a time, the other then finds the
                # blocks written and changes nothing.
                shared = bool(getattr(rt.store, "shared", False))
                try:
                    with rt.store.exclusive(f"plan-{person.pseudonym}", wait=120) if shared \
                            else contextlib.nullcontext():
                        plan_one(rt, person, apply=True, force=False)
                except UserError as exc:
                    failed[person.pseudonym] = exc.public
                    log.warning("plan of %s failed: %s", person.pseudonym, failed[person.pseudonym])
        return failed

    handler: Handler = handle
    return JobKind("plan", Daily(DAILY_AT), handler)


def horizon_digest(rt: Runtime, person: PersonRecord) -> str:
    """A digest of the stored events of ``person``'s planning horizon (changes when they change)."""
    settings = settings_for(rt.policy, rt.config, person.email, own=own_planner(rt, person.email))
    tz = load_zone(person.timezone)
    first, last = horizon_dates(rt.clock().astimezone(tz).date(), settings)
    cols = rt.store.load_event_columns(person.email, dt.datetime.combine(first, dt.time(), tzinfo=tz),
                                       dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz))
    digest = hashlib.blake2b(digest_size=8)
    for name in ("start", "end", "all_day", "status", "response", "show_as", "kind", "others"):
        digest.update(getattr(cols, name).tobytes())
    return digest.hexdigest()


def after_sync(rt: Runtime, people: Iterable[PersonRecord]) -> int:
    """Enqueue a ``plan`` job for each protected person whose next workdays changed; returns how many."""
    now = rt.clock()
    queued = 0
    for person in people:
        if person.protect:
            key = f"plan:{person.pseudonym}:events-{horizon_digest(rt, person)}"
            queued += rt.store.enqueue_job(key, "plan", person.pseudonym, now)
    return queued
