"""A meeting on a workday that overlaps the break by at least N minutes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from balanced_calendar.model import FindingBlock, Policy

if TYPE_CHECKING:
    from balanced_calendar.engine.timeline import Timeline

RULE = "break_overlap"
DEFINITION: dict[str, str] = {
    "en": "a meeting that takes at least {break_overlap_minutes} minutes of the break",
    "id": "rapat yang memakan sedikitnya {break_overlap_minutes} menit waktu istirahat",
}
DESCRIBE: dict[str, str] = {
    "en": "meeting {start}–{end} on {date} takes the break",
    "id": "rapat {start}–{end} pada {date} memakan waktu istirahat",
}


def evaluate(t: Timeline, p: Policy) -> FindingBlock:
    m, d = t.meetings, t.days
    day, ps, pe = m.day, m.piece_start, m.piece_end
    taken = np.clip(np.minimum(pe, d.b_end[day]) - np.maximum(ps, d.b_start[day]), 0, None)
    hit = np.flatnonzero(d.is_workday[day] & (taken >= p.thresholds.break_overlap_minutes * 60))
    days, s, e = day[hit], ps[hit], pe[hit]
    return FindingBlock(RULE, ("date", "start", "end"), hit.size,
                        lambda: zip(t.date_texts(days), t.clock(s, days), t.clock(e, days)))
