"""Two or more meetings chained with gaps under N minutes, spanning at least M minutes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from balanced_calendar.model import FindingBlock, Policy
from policies._shared import minutes

if TYPE_CHECKING:
    from balanced_calendar.engine.timeline import Timeline

RULE = "back_to_back"
DEFINITION: dict[str, str] = {
    "en": ("two or more meetings with less than {back_to_back_gap_minutes} minutes between them, "
           "together lasting at least {back_to_back_span_minutes} minutes"),
    "id": ("dua rapat atau lebih dengan jeda kurang dari {back_to_back_gap_minutes} menit, "
           "yang bersama-sama berlangsung sedikitnya {back_to_back_span_minutes} menit"),
}
DESCRIBE: dict[str, str] = {
    "en": "back-to-back meetings {start}–{end} on {date} ({minutes:h} h)",
    "id": "rapat beruntun {start}–{end} pada {date} ({minutes:h} jam)",
}


def chains(t: Timeline, p: Policy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(day index, chain start, chain end)`` of every back-to-back chain, in date order
    (the planner puts a short break after each)."""
    m = t.meetings  # sorted by (day, piece_start)
    if len(m) < 2:
        empty = np.empty(0, dtype=np.int64)
        return empty.astype(np.intp), empty, empty
    th = p.thresholds
    day, ps, pe = m.day, m.piece_start, m.piece_end
    reach = np.maximum.accumulate(pe)
    new = np.ones(ps.size, dtype=bool)
    new[1:] = (day[1:] != day[:-1]) | (ps[1:] - reach[:-1] >= th.back_to_back_gap_minutes * 60)
    first = np.flatnonzero(new)
    count = np.diff(np.append(first, ps.size))
    chain_start = ps[first]
    chain_end = np.maximum.reduceat(pe, first)
    span = chain_end - chain_start
    hit = np.flatnonzero((count >= 2) & (span >= th.back_to_back_span_minutes * 60))
    return day[first[hit]], chain_start[hit], chain_end[hit]


def evaluate(t: Timeline, p: Policy) -> FindingBlock:
    keys = ("date", "start", "end", "minutes")
    days, s, e = chains(t, p)
    if days.size == 0:
        return FindingBlock(RULE, keys, 0, tuple)
    mins = minutes(e - s)
    return FindingBlock(RULE, keys, days.size, lambda: zip(t.date_texts(days), t.clock(s, days), t.clock(e, days),
                                                           mins.tolist()))
