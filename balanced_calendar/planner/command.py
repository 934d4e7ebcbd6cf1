"""``balanced-calendar plan``: the diff of each person's blocks; written only with ``--apply``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from balanced_calendar.model import UserError
from balanced_calendar.planner.run import PersonPlan, plan_person
from balanced_calendar.planner.settings import settings_for
from balanced_calendar.preferences import own_planner
from balanced_calendar.runtime import Runtime
from balanced_calendar.store import PersonRecord
from balanced_calendar.timezones import load_zone


def people_to_plan(rt: Runtime, email: str | None) -> list[PersonRecord]:
    """``email``'s record, or everyone with ``protect = true``."""
    if email is not None:
        return [rt.store.get_person(email)]
    return [p for p in rt.store.list_people() if p.protect]


def plan_one(rt: Runtime, person: PersonRecord, *, apply: bool, force: bool) -> PersonPlan:
    """Plan ``person`` with their connector; raises ``UserError`` when writing is not allowed."""
    if apply and not person.protect:
        raise UserError(f"{person.pseudonym} has not allowed writes (protect = false)",
                        hint="set protect = true in their [[people]] entry, with their consent")
    settings = settings_for(rt.policy, rt.config, person.email, own=own_planner(rt, person.email))
    with rt.connector_for(person) as connector:
        return plan_person(rt.store, connector, person, rt.policy, settings, rt.clock(), apply=apply, force=force)


def as_json(result: PersonPlan) -> dict[str, Any]:
    tz = load_zone(result.zone)

    def iso(seconds: int) -> str:
        return dt.datetime.fromtimestamp(seconds, tz).isoformat()

    return {
        "person": result.pseudonym,
        "applied": result.applied is not None,
        "counts": result.diff.counts(),
        "changes": [{"op": c.op, "block": c.block_id, "date": c.date.isoformat(), "kind": c.kind,
                     "start": iso(c.start), "end": iso(c.end), "title": c.title,
                     "was": None if c.was is None else [iso(c.was[0]), iso(c.was[1])], "reason": c.reason}
                    for c in result.diff.changes],
        "proposals": [{"kind": p.kind, "date": p.date.isoformat(), "reason": p.reason}
                      for p in result.plan.proposals],
    }


def as_table(result: PersonPlan) -> list[str]:
    tz = load_zone(result.zone)

    def hm(seconds: int) -> str:
        return dt.datetime.fromtimestamp(seconds, tz).strftime("%H:%M")

    counts = result.diff.counts()
    head = "applied" if result.applied is not None else "dry run"
    lines = [f"{result.pseudonym} ({head}): " + ", ".join(f"{n} {op}" for op, n in counts.items() if n)]
    for c in result.diff.changes:
        was = f"  (was {hm(c.was[0])}–{hm(c.was[1])})" if c.was else ""
        lines.append(f"  {c.op:<9} {c.date} {hm(c.start)}–{hm(c.end)}  {c.kind:<8} {c.title or ''}{was}"
                     f"{'  — ' + c.reason if c.reason else ''}")
    for p in result.plan.proposals:
        lines.append(f"  proposal  {p.date} {p.kind.replace('_', ' ')} (after {p.reason.replace('_', ' ')})")
    return lines


def run(rt: Runtime, email: str | None, *, apply: bool, force: bool, fmt: str, echo: Callable[[str], None]) -> int:
    """Returns the exit status: 0, or 1 when planning someone failed (the others still ran)."""
    results, failed = [], 0
    for person in people_to_plan(rt, email):
        try:
            results.append(plan_one(rt, person, apply=apply, force=force))
        except UserError as exc:
            if email is not None:
                raise
            failed += 1
            echo(f"error: {person.pseudonym}: {exc}")
    if fmt == "json":
        echo(json.dumps([as_json(r) for r in results], indent=2))
    else:
        for r in results:
            for line in as_table(r):
                echo(line)
        if not apply and any(r.diff.changes for r in results):
            echo("(dry run: nothing was written; add --apply to write)")
    return 1 if failed else 0
