"""Builders for rule tests: events in a zone, an audit run, a day lookup."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any
from zoneinfo import ZoneInfo

from balanced_calendar.engine import audit_events
from balanced_calendar.model import AuditResult, Event
from balanced_calendar.policyfile import load_policy

_ids = itertools.count()

#: the ``[service]`` section of the CLI tests' configs: a sync window wide enough to hold the
#: fixtures' December 2026 weeks whatever today is
SERVICE = '''[service]
state_dir = "state"
vault_key_file = "vault-key"
policy = "asn-id"
timezone = "Asia/Jakarta"
sync_past_weeks = 520
sync_future_weeks = 520
'''


def at(zone: str, when: str) -> dt.datetime:
    """``"2026-12-14 08:00"`` in ``zone`` (``24:00`` means next midnight)."""
    day, clock = when.split()
    if clock == "24:00":
        return dt.datetime.combine(dt.date.fromisoformat(day) + dt.timedelta(days=1), dt.time(), ZoneInfo(zone))
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time.fromisoformat(clock), ZoneInfo(zone))


def ev(day: str, start: str, end: str, *, zone: str = "Asia/Jakarta", end_day: str | None = None,
       **fields: Any) -> Event:
    """A timed event on ``day`` from ``start`` to ``end`` (on ``end_day`` if given)."""
    return Event(uid=f"e{next(_ids)}", start=at(zone, f"{day} {start}"),
                 end=at(zone, f"{end_day or day} {end}"), **fields)


def meeting(day: str, start: str, end: str, **fields: Any) -> Event:
    return ev(day, start, end, others=fields.pop("others", 2), **fields)


def all_day(first: str, last_exclusive: str, **fields: Any) -> Event:
    return Event(uid=f"a{next(_ids)}", start=dt.date.fromisoformat(first),
                 end=dt.date.fromisoformat(last_exclusive), all_day=True, **fields)


def audit(events: list[Event], start: str, end: str | None = None, *, policy: str = "asn-id",
          zone: str = "Asia/Jakarta") -> AuditResult:
    return audit_events(events, load_policy(policy), zone=zone, start=dt.date.fromisoformat(start),
                        end=dt.date.fromisoformat(end or start), person="p@example.org")


def day(result: AuditResult, date: str) -> dict[str, Any]:
    return next(d for d in result.days if d["date"] == date)


def findings(result: AuditResult, rule: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in f.as_dict().items() if k != "rule"} for f in result.findings if f.rule == rule]
