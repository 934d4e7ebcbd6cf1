"""Run every rule over a person's timeline and produce the ``audit`` contract (DESIGN.md §5)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np

from balanced_calendar.engine.timeline import build_timeline
from balanced_calendar.model import AuditResult, Event, Finding, InputError, Policy, Timeline, Window
from balanced_calendar.timezones import load_zone
from policies import RULES


def read_window(start: dt.date, end: dt.date, zone: str) -> Window:
    """The absolute time a connector must read to audit local dates ``[start, end]``."""
    tz = load_zone(zone)
    return Window(dt.datetime.combine(start, dt.time(), tzinfo=tz),
                  dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz))


def evaluate_rules(timeline: Timeline, policy: Policy) -> list[Finding]:
    """Findings of every rule, in rule order then date order."""
    findings: list[Finding] = []
    for rule in RULES:
        found = rule.evaluate(timeline, policy)
        findings.extend(sorted(found, key=lambda f: f.anchor))
    return findings


def day_rows(t: Timeline) -> list[dict[str, Any]]:
    """The ``days`` array of the contract, one dict per date."""
    d = t.days
    n = len(d)
    idx = np.arange(n)
    first = d["first_start"].to_numpy()
    last = d["last_end"].to_numpy()
    has = first >= 0
    first_txt = [None] * n
    last_txt = [None] * n
    where = np.flatnonzero(has)
    for i, text in zip(where, t.clock(first[where], idx[where])):
        first_txt[i] = text
    for i, text in zip(where, t.clock(last[where], idx[where])):
        last_txt[i] = text
    # Plain Python values column by column (tolist), then one dict per date.
    work = ((d["work_s"].to_numpy() + 30) // 60).tolist()
    meet = ((d["meeting_s"].to_numpy() + 30) // 60).tolist()
    after = ((d["after_s"].to_numpy() + 30) // 60).tolist()
    free = [None if f != f else (int(f) + 30) // 60 for f in d["longest_free_s"].to_numpy().tolist()]  # NaN -> None
    dates = d["date"].tolist()
    holiday = d["holiday"].tolist()
    workday = d["is_workday"].to_numpy().tolist()
    leave = d["on_leave"].to_numpy().tolist()
    return [
        {
            "date": day.isoformat(),
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
        in zip(dates, workday, holiday, leave, work, meet, after, first_txt, last_txt, free)
    ]


def audit_events(events: Sequence[Event], policy: Policy, *, zone: str, start: dt.date, end: dt.date,
                 person: str = "") -> AuditResult:
    """Audit ``events`` of one person over local dates ``[start, end]`` (inclusive).

    Raises :class:`~balanced_calendar.model.InputError` for an unknown zone or a range that
    ends before it starts.
    """
    zone = str(load_zone(zone).key)  # "WIB" -> "Asia/Jakarta": pandas and zoneinfo need the IANA name
    if end < start:
        raise InputError(f"the range ends ({end}) before it starts ({start})")
    timeline = build_timeline(events, policy, zone=zone, start=start, end=end, person=person)
    return AuditResult(person=person, timezone=zone, policy=policy.name, start=start, end=end,
                       days=day_rows(timeline), findings=evaluate_rules(timeline, policy), timeline=timeline)
