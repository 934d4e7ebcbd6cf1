"""Counted work on a day outside the workweek."""

from __future__ import annotations

import numpy as np

from balanced_calendar.model import Finding, Policy, Timeline
from policies._shared import minutes

RULE = "weekend_work"
DEFINITION = "any work on a day outside the workweek"


def evaluate(t: Timeline, p: Policy) -> list[Finding]:
    d = t.days
    hit = np.flatnonzero(~d["in_workweek"].to_numpy() & (d["work_s"].to_numpy() > 0))
    mins = minutes(d["work_s"].to_numpy()[hit])
    return [Finding(RULE, {"date": t.date_str(i), "minutes": int(m)}) for i, m in zip(hit, mins)]
