"""Run every rule over a person's timeline and produce the ``audit`` contract (docs/audit-json.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np

from balanced_calendar.engine.columns import EventArrays, events_to_columns
from balanced_calendar.engine.timeline import Timeline, build_timeline
from balanced_calendar.model import AuditResult, Event, Finding, FindingBlock, Findings, InputError, Policy, Window
from balanced_calendar.timezones import load_zone
from policies import RULES


def read_window(start: dt.date, end: dt.date, zone: str) -> Window:
    """The absolute time a connector must read to audit local dates ``[start, end]``."""
    tz = load_zone(zone)
    return Window(dt.datetime.combine(start, dt.time(), tzinfo=tz),
                  dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz))


def evaluate_rules(timeline: Timeline, policy: Policy) -> Findings:
    """Findings of every rule, in rule order then date order (each rule returns its own in date order).

    A rule may return a :class:`FindingBlock` (kept unread) or a plain list of findings (sorted here).
    """
    blocks: list[Sequence[Finding]] = []
    for rule in RULES:
        found = rule.evaluate(timeline, policy)
        if not isinstance(found, FindingBlock):
            found = sorted(found, key=lambda f: f.anchor)
        blocks.append(found)
    return Findings(blocks)


def _minutes(seconds: np.ndarray) -> list[int]:
    return ((seconds + 30) // 60).tolist()


def day_rows(t: Timeline) -> list[dict[str, Any]]:
    """The ``days`` array of the contract, one dict per date (keys in the contract's order)."""
    d = t.days
    n = d.work_s.size
    has = np.flatnonzero(d.first_start >= 0)
    first_txt = np.full(n, None, dtype=object)
    last_txt = np.full(n, None, dtype=object)
    if has.size:
        first_txt[has] = t.clock(d.first_start[has], has)
        last_txt[has] = t.clock(d.last_end[has], has)
    free_s = d.longest_free_s
    workday = ~np.isnan(free_s)
    free = np.full(n, None, dtype=object)
    free[workday] = (free_s[workday].astype(np.int64) + 30) // 60
    return [
        {
            "date": day,
            "is_workday": is_workday,
            "holiday": name,
            "on_leave": on_leave,
            "work_minutes": w,
            "meeting_minutes": m,
            "after_hours_minutes": a,
            "first_start": first_text,
            "last_end": last_text,
            "longest_free_minutes": longest,
        }
        for day, is_workday, name, on_leave, w, m, a, first_text, last_text, longest
        in zip(t.calendar.date_text, d.is_workday.tolist(), d.holiday, d.on_leave.tolist(), _minutes(d.work_s),
               _minutes(d.meeting_s), _minutes(d.after_s), first_txt.tolist(), last_txt.tolist(), free.tolist())
    ]


def audit_columns(columns: EventArrays, policy: Policy, *, zone: str, start: dt.date, end: dt.date,
                  person: str = "") -> AuditResult:
    """Audit one person's events, given as columns, over local dates ``[start, end]`` (inclusive).

    The columnar entry point (encoding: :mod:`balanced_calendar.engine.columns`). Findings are
    built as objects only when ``result.findings`` is read. Raises
    :class:`~balanced_calendar.model.InputError` for an unknown zone or a range that ends before
    it starts.
    """
    zone = str(load_zone(zone).key)  # "WIB" -> "Asia/Jakarta": the calendar needs the IANA name
    if end < start:
        raise InputError(f"the range ends ({end}) before it starts ({start})")
    timeline = build_timeline(columns, policy, zone=zone, start=start, end=end, person=person)
    return AuditResult(person=person, timezone=zone, policy=policy.name, start=start, end=end,
                       days=day_rows(timeline), findings=evaluate_rules(timeline, policy), timeline=timeline)


def audit_events(events: Sequence[Event], policy: Policy, *, zone: str, start: dt.date, end: dt.date,
                 person: str = "") -> AuditResult:
    """Audit ``events`` of one person over local dates ``[start, end]`` (inclusive).

    Converts the events with :func:`events_to_columns` and calls :func:`audit_columns`.
    Raises :class:`~balanced_calendar.model.InputError` for an unknown zone or a range that
    ends before it starts.
    """
    load_zone(zone)  # an unknown zone is reported before any work
    return audit_columns(events_to_columns(events), policy, zone=zone, start=start, end=end, person=person)
