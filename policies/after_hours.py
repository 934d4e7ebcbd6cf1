"""A workday with at least N minutes of counted time outside the working window."""

from __future__ import annotations

import numpy as np

from balanced_calendar.model import Finding, Policy, Timeline
from policies._shared import minutes

RULE = "after_hours"
DEFINITION: dict[str, str] = {
    "en": "a workday with at least {after_hours_minutes} minutes of work outside working hours",
    "id": "hari kerja dengan sedikitnya {after_hours_minutes} menit kerja di luar jam kerja",
}
DESCRIBE: dict[str, str] = {
    "en": "{minutes:h} h outside working hours on {date}",
    "id": "{minutes:h} jam di luar jam kerja pada {date}",
}


def evaluate(t: Timeline, p: Policy) -> list[Finding]:
    d = t.days
    after = d["after_s"].to_numpy()
    hit = np.flatnonzero(d["is_workday"].to_numpy() & (after >= p.thresholds.after_hours_minutes * 60))
    return [Finding(RULE, {"date": t.date_str(i), "minutes": int(m)}) for i, m in zip(hit, minutes(after[hit]))]
