"""A workday whose longest free stretch inside working hours is under N minutes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from balanced_calendar.model import FindingBlock, Policy
from policies._shared import minutes

if TYPE_CHECKING:
    from balanced_calendar.engine.timeline import Timeline

RULE = "focus_deficit"
DEFINITION: dict[str, str] = {
    "en": ("a workday without {focus_min_minutes} uninterrupted minutes inside working hours "
           "(outside the break and meetings)"),
    "id": ("hari kerja tanpa {focus_min_minutes} menit waktu fokus tanpa gangguan dalam jam kerja "
           "(di luar istirahat dan rapat)"),
}
DESCRIBE: dict[str, str] = {
    "en": "longest free stretch on {date} only {longest_free_minutes:h} h",
    "id": "waktu luang terpanjang pada {date} hanya {longest_free_minutes:h} jam",
}


def evaluate(t: Timeline, p: Policy) -> FindingBlock:
    d = t.days
    free = d.longest_free_s
    hit = np.flatnonzero(d.is_workday & (free < p.thresholds.focus_min_minutes * 60))
    mins = minutes(free[hit])
    return FindingBlock(RULE, ("date", "longest_free_minutes"), hit.size,
                        lambda: zip(t.date_texts(hit), mins.tolist()))
