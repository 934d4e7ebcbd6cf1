"""A workday whose longest free stretch inside working hours is under N minutes."""

from __future__ import annotations

import numpy as np

from balanced_calendar.model import Finding, Policy, Timeline
from policies._shared import minutes

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


def evaluate(t: Timeline, p: Policy) -> list[Finding]:
    d = t.days
    free = d["longest_free_s"].to_numpy()
    hit = np.flatnonzero(d["is_workday"].to_numpy() & (free < p.thresholds.focus_min_minutes * 60))
    return [Finding(RULE, {"date": t.date_str(i), "longest_free_minutes": int(m)})
            for i, m in zip(hit, minutes(free[hit]))]
