"""A workday whose longest free stretch inside working hours is under N minutes."""

from __future__ import annotations

import numpy as np

from balanced_calendar.model import Finding, Policy, Timeline
from policies._shared import minutes

RULE = "focus_deficit"
DEFINITION = ("a workday without {focus_min_minutes} uninterrupted minutes inside working hours "
              "(outside the break and meetings)")


def evaluate(t: Timeline, p: Policy) -> list[Finding]:
    d = t.days
    free = d["longest_free_s"].to_numpy()
    hit = np.flatnonzero(d["is_workday"].to_numpy() & (free < p.thresholds.focus_min_minutes * 60))
    return [Finding(RULE, {"date": t.date_str(i), "longest_free_minutes": int(m)})
            for i, m in zip(hit, minutes(free[hit]))]
