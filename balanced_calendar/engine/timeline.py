"""Turn one person's events into per-day figures (DESIGN.md §4), vectorised with numpy/pandas.

Nothing here loops per minute or per event in Python except the one pass that reads the
event objects into columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import filterfalse
from operator import attrgetter, methodcaller
from typing import Any

import numpy as np
import pandas as pd

from balanced_calendar.engine.calendar import RangeCalendar, range_calendar
from balanced_calendar.engine.intervals import gaps, intersect_sorted, overlap, split_by_day, union
from balanced_calendar.model import Event, Kind, Policy, Response, ShowAs, Status, Timeline
from balanced_calendar.model.timeline import DAY_COLUMNS, MEETING_COLUMNS

_COUNTED_SHOW_AS = (ShowAs.BUSY, ShowAs.TENTATIVE)
_NOT_WORK_KINDS = (Kind.OUT_OF_OFFICE, Kind.WORKING_LOCATION, Kind.OWN_BLOCK)


@dataclass(frozen=True)
class EventColumns:
    """The timed events of a person as parallel arrays."""

    start: np.ndarray       # int64 epoch seconds
    end: np.ndarray
    counted: np.ndarray     # bool: DESIGN.md §4 "counted event"
    meeting: np.ndarray     # bool: counted and others >= 1
    focus: np.ndarray       # bool: kind focus (counts as free for longest_free)
    ooo: np.ndarray         # bool: live out-of-office (timed)
    organizer_is_self: np.ndarray


_TIMESTAMP = methodcaller("timestamp")
_IS_ALL_DAY = attrgetter("all_day")


def _ids(members: Iterable[object]) -> np.ndarray:
    return np.array([id(m) for m in members], dtype=np.int64)


def _column(events: list[Event], field: str, dtype: type, n: int,
            convert: Callable[[Any], Any] | None = None) -> np.ndarray:
    """``convert(event.<field>)`` of every event as an array: one C-level ``map``, no Python loop."""
    values = map(attrgetter(field), events)
    return np.fromiter(values if convert is None else map(convert, values), dtype=dtype, count=n)


def event_columns(events: Sequence[Event], policy: Policy) -> tuple[EventColumns, list[Event]]:
    """Split ``events`` into timed columns and the list of all-day events.

    Every column is one C-level pass over the events. Enum fields are read as their ``id()`` and
    compared in numpy, which is exactly the ``is`` tests of DESIGN.md §4 (and ``in`` for members).
    """
    timed = list(filterfalse(_IS_ALL_DAY, events))
    all_day = list(filter(_IS_ALL_DAY, events))
    n = len(timed)
    start = np.floor(_column(timed, "start", np.float64, n, _TIMESTAMP)).astype(np.int64)
    end = np.floor(_column(timed, "end", np.float64, n, _TIMESTAMP)).astype(np.int64)
    status_id = _column(timed, "status", np.int64, n, id)
    response_id = _column(timed, "response", np.int64, n, id)
    show_id = _column(timed, "show_as", np.int64, n, id)
    kind_id = _column(timed, "kind", np.int64, n, id)
    live = (status_id != id(Status.CANCELLED)) & (response_id != id(Response.DECLINED))
    oof = (show_id == id(ShowAs.OOF)) | (kind_id == id(Kind.OUT_OF_OFFICE))
    focus = kind_id == id(Kind.FOCUS)
    show = np.isin(show_id, _ids(_COUNTED_SHOW_AS))
    work_kind = ~np.isin(kind_id, _ids(_NOT_WORK_KINDS))
    # ``in`` also matches equal non-members (a plain "busy" string): redo those few exactly.
    for i in np.flatnonzero(~np.isin(show_id, _ids(ShowAs)) | ~np.isin(kind_id, _ids(Kind))):
        show[i] = timed[i].show_as in _COUNTED_SHOW_AS
        work_kind[i] = timed[i].kind not in _NOT_WORK_KINDS
    others = _column(timed, "others", np.int64, n)
    org_self = _column(timed, "organizer_is_self", bool, n)
    max_len = policy.thresholds.max_event_hours * 3600
    counted = live & show & work_kind & (end - start <= max_len) & (end > start)
    return EventColumns(start, end, counted, counted & (others >= 1), focus, live & oof, org_self), all_day


def _leave_days(cal: RangeCalendar, cols: EventColumns, all_day: list[Event], share: float) -> np.ndarray:
    n = len(cal.dates)
    first = cal.dates[0]
    cover = np.zeros(n + 1, dtype=np.int64)
    for e in all_day:  # all-day OOO is rare: a handful per person
        if e.status is Status.CANCELLED or e.response is Response.DECLINED:
            continue
        if not (e.show_as is ShowAs.OOF or e.kind is Kind.OUT_OF_OFFICE):
            continue
        a = max((e.start - first).days, 0)  # type: ignore[operator]
        b = min((max(e.end, e.start + dt.timedelta(days=1)) - first).days, n)  # type: ignore[operator]
        if b > a:
            cover[a] += 1
            cover[b] -= 1
    on_leave = np.cumsum(cover)[:n] > 0
    # Timed out-of-office covering >= share of the day's working window.
    o_start, o_end = union(cols.start[cols.ooo], cols.end[cols.ooo])
    if o_start.size:
        window = cal.w_end - cal.w_start
        seg, s, e = intersect_sorted(cal.w_start, cal.w_end, o_start, o_end)
        covered = np.bincount(seg, weights=e - s, minlength=n)
        on_leave |= (window > 0) & (covered >= share * window)
    return on_leave


def build_timeline(events: Sequence[Event], policy: Policy, *, zone: str, start: dt.date, end: dt.date,
                   person: str = "") -> Timeline:
    """Per-day figures and meeting pieces of ``events`` over ``[start, end]`` in ``zone``."""
    cal = range_calendar(policy, zone, start, end)
    n = len(cal.dates)
    cols, all_day = event_columns(events, policy)
    bounds = cal.bounds
    day_start, day_end = bounds[:-1], bounds[1:]

    on_leave = _leave_days(cal, cols, all_day, policy.thresholds.leave_cover_share)
    is_workday = cal.in_workweek & ~cal.is_holiday & ~on_leave
    # Non-workdays have an empty window W(D) (and no break or meeting window).
    def only_workdays(values: np.ndarray) -> np.ndarray:
        return np.where(is_workday, values, day_start)

    w_start, w_end = only_workdays(cal.w_start), only_workdays(cal.w_end)
    b_start, b_end = only_workdays(cal.b_start), only_workdays(cal.b_end)
    mw_start, mw_end = only_workdays(cal.mw_start), only_workdays(cal.mw_end)

    # Counted time: union, cut at midnights.
    u_start, u_end = union(cols.start[cols.counted], cols.end[cols.counted])
    day, ps, pe, _ = split_by_day(u_start, u_end, bounds)
    work_s = np.bincount(day, weights=pe - ps, minlength=n).astype(np.int64)
    inside = np.bincount(day, weights=overlap(ps, pe, w_start[day], w_end[day]), minlength=n).astype(np.int64)
    after_s = work_s - inside
    first_start = np.full(n, -1, dtype=np.int64)
    last_end = np.full(n, -1, dtype=np.int64)
    if day.size:
        days_with, first_idx = np.unique(day, return_index=True)
        last_idx = np.r_[first_idx[1:], day.size] - 1
        first_start[days_with] = ps[first_idx]
        last_end[days_with] = pe[last_idx]

    # Meeting time: union of meetings.
    m_start, m_end = union(cols.start[cols.meeting], cols.end[cols.meeting])
    mday, mps, mpe, _ = split_by_day(m_start, m_end, bounds)
    meeting_s = np.bincount(mday, weights=mpe - mps, minlength=n).astype(np.int64)

    # Longest free stretch of W(D) minus break minus counted events (focus counts as free).
    busy = cols.counted & ~cols.focus
    f_start, f_end = gaps(*union(cols.start[busy], cols.end[busy]))
    seg_start = np.concatenate([w_start, b_end])
    seg_end = np.concatenate([b_start, w_end])
    seg_day = np.concatenate([np.arange(n), np.arange(n)])
    nonempty = seg_end > seg_start
    seg, fs, fe = intersect_sorted(seg_start[nonempty], seg_end[nonempty], f_start, f_end)
    longest = np.zeros(n, dtype=np.float64)
    np.maximum.at(longest, seg_day[nonempty][seg], (fe - fs).astype(np.float64))
    longest[~is_workday] = np.nan

    days = pd.DataFrame({
        "date": list(cal.dates),
        "iso_week": list(cal.iso_week),
        "in_workweek": cal.in_workweek,
        "holiday": cal.holiday_column,
        "on_leave": on_leave,
        "is_workday": is_workday,
        "day_start": day_start, "day_end": day_end,
        "w_start": w_start, "w_end": w_end, "b_start": b_start, "b_end": b_end,
        "mw_start": mw_start, "mw_end": mw_end,
        "window_net_s": (w_end - w_start) - (b_end - b_start),
        "work_s": work_s, "meeting_s": meeting_s, "after_s": after_s,
        "first_start": first_start, "last_end": last_end,
        "longest_free_s": longest,
    }, columns=list(DAY_COLUMNS))

    # Individual meetings, cut at midnights (for per-meeting rules).
    idx = np.flatnonzero(cols.meeting)
    order = idx[np.argsort(cols.start[idx], kind="stable")]
    pday, pps, ppe, src = split_by_day(cols.start[order], cols.end[order], bounds)
    # Stable sort by (day, piece_start): what DataFrame.sort_values(kind="stable") gives, without pandas.
    by_day = np.lexsort((pps, pday))
    pday, pps, ppe, src = pday[by_day], pps[by_day], ppe[by_day], order[src[by_day]]
    meetings = pd.DataFrame({
        "day": pday, "start": cols.start[src], "end": cols.end[src],
        "piece_start": pps, "piece_end": ppe, "organizer_is_self": cols.organizer_is_self[src],
    }, columns=list(MEETING_COLUMNS))
    return Timeline(person=person, timezone=zone, start=start, end=end, days=days, meetings=meetings)
