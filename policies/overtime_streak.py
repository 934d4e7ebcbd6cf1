"""≥ N consecutive overtime days; non-workdays without overtime neither extend nor break a run."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from balanced_calendar.model import FindingBlock, Policy

if TYPE_CHECKING:
    from balanced_calendar.engine.timeline import Timeline

RULE = "overtime_streak"
DEFINITION: dict[str, str] = {
    "en": ("{overtime_streak_days} or more overtime days in a row (a day with at least "
           "{overtime_day_minutes} minutes outside working hours); a workday without overtime ends "
           "the run, a weekend or holiday without overtime is skipped"),
    "id": ("{overtime_streak_days} hari lembur atau lebih berturut-turut (hari dengan sedikitnya "
           "{overtime_day_minutes} menit kerja di luar jam kerja); hari kerja tanpa lembur memutus "
           "rangkaian, akhir pekan atau hari libur tanpa lembur dilewati"),
}
DESCRIBE: dict[str, str] = {
    "en": "{days} overtime days in a row, {start} to {end}",
    "id": "{days} hari lembur berturut-turut, {start} s.d. {end}",
}


def evaluate(t: Timeline, p: Policy) -> FindingBlock:
    th = p.thresholds
    keys = ("start", "end", "days")
    overtime = t.days.after_s >= th.overtime_day_minutes * 60
    relevant = np.flatnonzero(overtime | t.days.is_workday)
    if relevant.size == 0:
        return FindingBlock(RULE, keys, 0, tuple)
    flags = overtime[relevant]
    # Runs of True in `flags`: boundaries where the value changes.
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flags.astype(np.int8), [0]))))
    starts, stops = edges[::2], edges[1::2]  # stops exclusive
    long_enough = stops - starts >= th.overtime_streak_days
    a, b = starts[long_enough], stops[long_enough]
    return FindingBlock(RULE, keys, a.size, lambda: zip(t.date_texts(relevant[a]), t.date_texts(relevant[b - 1]),
                                                        (b - a).tolist()))
