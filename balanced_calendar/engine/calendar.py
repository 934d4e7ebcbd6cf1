"""The policy calendar of a date range in one zone: midnights, windows, holidays.

It depends only on (policy, zone, range), so it is computed once and shared by every
person with the same zone — the common case in an agency.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import pandas as pd

from balanced_calendar.model import Policy


@dataclass(frozen=True, eq=False)
class RangeCalendar:
    """Column arrays over the ``n`` local dates of ``[start, end]``.

    ``bounds`` has n+1 local midnights. Window columns are epoch seconds; on days with no
    policy hours (outside the workweek) every window is empty at ``bounds[i]``.
    """

    zone: str
    dates: tuple[dt.date, ...]
    bounds: np.ndarray
    in_workweek: np.ndarray
    holiday: tuple[str | None, ...]
    w_start: np.ndarray
    w_end: np.ndarray
    b_start: np.ndarray
    b_end: np.ndarray
    mw_start: np.ndarray
    mw_end: np.ndarray
    iso_week: tuple[str, ...]

    @cached_property
    def is_holiday(self) -> np.ndarray:
        """bool per date: the policy calendar names a holiday."""
        return np.array([h is not None for h in self.holiday], dtype=bool)

    @cached_property
    def date_text(self) -> tuple[str, ...]:
        """ISO text of every date (``"2026-12-14"``), shared by every person's findings and days."""
        return tuple(d.isoformat() for d in self.dates)

    @cached_property
    def regular(self) -> np.ndarray:
        """bool per date: the day lasts exactly 24 h, so its wall clock is ``midnight + elapsed``.

        False on the days of a UTC-offset change (DST, zone reforms).
        """
        return np.diff(self.bounds) == 86400

    @cached_property
    def weeks(self) -> tuple[tuple[str, ...], np.ndarray]:
        """The ISO weeks of the range in order, and the week index of every date."""
        names = tuple(sorted(set(self.iso_week)))
        index = {name: i for i, name in enumerate(names)}
        return names, np.array([index[w] for w in self.iso_week], dtype=np.intp)


def _localize(naive: np.ndarray, zone: str) -> np.ndarray:
    """Epoch seconds of naive local wall times (non-existent -> shifted forward, ambiguous -> first)."""
    index = pd.DatetimeIndex(naive.astype("datetime64[s]"))
    aware = index.tz_localize(zone, ambiguous=np.ones(len(index), dtype=bool), nonexistent="shift_forward")
    return (aware.asi8 // 10**9 if aware.unit == "ns" else aware.as_unit("s").asi8).astype(np.int64)


@lru_cache(maxsize=256)
def range_calendar(policy: Policy, zone: str, start: dt.date, end: dt.date) -> RangeCalendar:
    """Build (or reuse) the calendar of ``[start, end]`` for ``policy`` in ``zone``."""
    n = (end - start).days + 1
    dates = tuple(start + dt.timedelta(days=i) for i in range(n))
    midnight = np.array([np.datetime64(start, "s") + np.timedelta64(i * 86400, "s") for i in range(n + 1)])
    bounds = _localize(midnight, zone)
    local_midnight = midnight[:-1]

    hours = [policy.hours_for(d) for d in dates]
    in_workweek = np.array([d.isoweekday() in policy.workweek for d in dates])
    has_hours = np.array([h is not None for h in hours])

    def wall(minutes: list[int | None]) -> np.ndarray:
        offs = np.array([m if m is not None else 0 for m in minutes], dtype=np.int64)
        return _localize(local_midnight + offs.astype("timedelta64[m]"), zone)

    def column(pick) -> np.ndarray:  # type: ignore[no-untyped-def]
        values = wall([pick(h) if h is not None else None for h in hours])
        return np.where(has_hours, values, bounds[:-1])

    w_start = column(lambda h: h.start)
    w_end = column(lambda h: h.end)
    b_start = column(lambda h: h.break_start if h.break_start is not None else h.start)
    b_end = column(lambda h: h.break_end if h.break_end is not None else h.start)
    mw_start = column(lambda h: policy.meeting_window[0])
    mw_end = column(lambda h: policy.meeting_window[1])
    holiday = tuple(policy.holidays.name(d) for d in dates)
    iso_week = tuple(f"{d.isocalendar().year}-W{d.isocalendar().week:02d}" for d in dates)
    return RangeCalendar(zone, dates, bounds, in_workweek, holiday, w_start, w_end, b_start, b_end,
                         mw_start, mw_end, iso_week)
