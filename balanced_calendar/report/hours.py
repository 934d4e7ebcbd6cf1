"""Which local hours of each day a person worked outside working hours (for the heat map).

One person at a time, from their stored events through the engine: counted time
(:func:`~balanced_calendar.engine.timeline.counted_mask`, a union, cut at local midnights)
minus the working window W(D) of that day, marked per local clock hour. On a non-workday
every counted minute is after hours, as in the audit's ``after_hours_minutes``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from balanced_calendar.engine.columns import EventArrays
from balanced_calendar.engine.intervals import split_by_day, union
from balanced_calendar.engine.timeline import build_timeline, counted_mask
from balanced_calendar.model import Policy


def after_hours_grid(ev: EventArrays, policy: Policy, *, zone: str, start: dt.date, end: dt.date) -> np.ndarray:
    """A bool array ``(days, 24)``: ``[i, h]`` is true when the person had counted time outside
    W(D) during local hour ``h`` of day ``start + i`` (any overlap counts)."""
    timeline = build_timeline(ev, policy, zone=zone, start=start, end=end)
    days = timeline.days
    n = days.day_start.size
    grid = np.zeros((n, 24), dtype=bool)
    counted = counted_mask(ev, policy)
    u_start, u_end = union(ev.start[counted], ev.end[counted])
    bounds = np.append(days.day_start, days.day_end[-1:])
    day, ps, pe, _ = split_by_day(u_start, u_end, bounds)
    if not day.size:
        return grid
    ws, we, ds = days.w_start[day], days.w_end[day], days.day_start[day]
    # the parts before and after the window (on a non-workday the window is empty at midnight)
    pieces = [(ps, np.minimum(pe, ws)), (np.maximum(ps, we), pe)]
    for a, b in pieces:
        keep = b > a
        for d, s, e, base in zip(day[keep].tolist(), a[keep].tolist(), b[keep].tolist(), ds[keep].tolist()):
            first = max(0, (s - base) // 3600)
            last = min(23, (e - 1 - base) // 3600)
            grid[d, first:last + 1] = True
    return grid
