"""A person's audited range as columns, and what the rules say about it.

The engine (``balanced_calendar.engine``) builds a :class:`Timeline`; each rule in
``policies/`` is a pure function ``Timeline, Policy -> list[Finding]``.

Times are integer seconds since the Unix epoch (UTC), so arithmetic is exact and
vectorised; :meth:`Timeline.clock` turns them back into local ``HH:MM``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

#: Columns of :attr:`Timeline.days`, one row per local date of the range, in order.
DAY_COLUMNS = (
    "date",            # datetime.date
    "iso_week",        # "2026-W51"
    "in_workweek",     # bool: weekday belongs to the policy's workweek
    "holiday",         # str | None: holiday name from the policy calendar
    "on_leave",        # bool: leave day (all-day OOO, or timed OOO >= share of the window)
    "is_workday",      # bool: in workweek, not holiday, not leave
    "day_start", "day_end",   # int64: local midnight .. next local midnight
    "w_start", "w_end",       # int64: working window W(D) (empty = day_start on non-workdays)
    "b_start", "b_end",       # int64: break inside W(D) (empty when none)
    "mw_start", "mw_end",     # int64: meeting window (empty on non-workdays)
    "window_net_s",           # int64: |W(D)| - |break|
    "work_s", "meeting_s", "after_s",  # int64 seconds (unions)
    "first_start", "last_end",         # int64, -1 when no counted time
    "longest_free_s",                  # float seconds, NaN on non-workdays
)

#: Columns of :attr:`Timeline.meetings`: one row per (meeting, local day it touches).
MEETING_COLUMNS = ("day", "start", "end", "piece_start", "piece_end", "organizer_is_self")

#: "HH:MM" of every minute of a day, indexed by minutes since local midnight.
_HHMM = np.array([f"{m // 60:02d}:{m % 60:02d}" for m in range(24 * 60)], dtype=object)


@dataclass(frozen=True)
class Timeline:
    person: str
    timezone: str
    start: dt.date
    end: dt.date
    days: pd.DataFrame
    meetings: pd.DataFrame

    def clock(self, instants: Sequence[int] | np.ndarray, day_index: Sequence[int] | np.ndarray) -> list[str]:
        """Local ``HH:MM`` of each instant, read on the given day (``24:00`` at its end)."""
        instants = np.asarray(instants, dtype=np.int64)
        day_index = np.asarray(day_index, dtype=np.int64)
        if instants.size == 0:
            return []
        # Local wall time as naive datetimes -> minutes since local midnight -> "HH:MM" table.
        utc = pd.DatetimeIndex(instants.astype("datetime64[s]"), tz="UTC")
        wall = np.asarray(utc.tz_convert(self.timezone).tz_localize(None), dtype="datetime64[m]")
        text = _HHMM[wall.astype(np.int64) % (24 * 60)]
        day_end = self.days["day_end"].to_numpy()[day_index]
        text[instants >= day_end] = "24:00"
        return text.tolist()

    @cached_property
    def _date_texts(self) -> list[str]:
        """ISO text of every date of the range (rules ask for it once per finding)."""
        return [day.isoformat() for day in self.days["date"]]

    def date_str(self, day_index: int) -> str:
        return self._date_texts[day_index]


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule firing. ``fields`` follow DESIGN.md §4 (e.g. ``date``, ``minutes``)."""

    rule: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, **self.fields}

    @property
    def anchor(self) -> str:
        """The date (or ISO week) the finding belongs to, for sorting and display."""
        for key in ("date", "start", "week"):
            if key in self.fields:
                return str(self.fields[key])
        return ""


@dataclass(frozen=True)
class AuditResult:
    """The ``audit`` JSON contract of DESIGN.md §5, plus the timeline it came from."""

    person: str
    timezone: str
    policy: str
    start: dt.date
    end: dt.date
    days: list[dict[str, Any]]
    findings: list[Finding]
    timeline: Timeline | None = None

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for finding in self.findings:
            counts[finding.rule] = counts.get(finding.rule, 0) + 1
        return {
            "work_minutes": sum(d["work_minutes"] for d in self.days),
            "meeting_minutes": sum(d["meeting_minutes"] for d in self.days),
            "after_hours_minutes": sum(d["after_hours_minutes"] for d in self.days),
            "findings": counts,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "person": self.person,
            "timezone": self.timezone,
            "policy": self.policy,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "days": self.days,
            "findings": [f.as_dict() for f in self.findings],
            "summary": self.summary(),
        }
