"""Counted work on a leave day that is neither weekend nor holiday."""

from __future__ import annotations

import numpy as np

from balanced_calendar.model import Finding, Policy, Timeline
from policies._shared import minutes

RULE = "leave_work"
DEFINITION = "any work on a day of leave (out of office all day, or for at least half the working hours)"


def evaluate(t: Timeline, p: Policy) -> list[Finding]:
    d = t.days
    mask = (d["on_leave"].to_numpy() & d["in_workweek"].to_numpy() & d["holiday"].isna().to_numpy()
            & (d["work_s"].to_numpy() > 0))
    hit = np.flatnonzero(mask)
    mins = minutes(d["work_s"].to_numpy()[hit])
    return [Finding(RULE, {"date": t.date_str(i), "minutes": int(m)}) for i, m in zip(hit, mins)]
