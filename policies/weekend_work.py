"""Counted work on a day outside the workweek."""

from __future__ import annotations

import numpy as np

from balanced_calendar.model import Finding, Policy, Timeline
from policies._shared import minutes

RULE = "weekend_work"
DEFINITION: dict[str, str] = {
    "en": "any work on a day outside the workweek",
    "id": "ada waktu kerja pada hari di luar pekan kerja (akhir pekan)",
}
DESCRIBE: dict[str, str] = {
    "en": "{minutes:h} h of work on {date} (weekend)",
    "id": "{minutes:h} jam kerja pada {date} (akhir pekan)",
}


def evaluate(t: Timeline, p: Policy) -> list[Finding]:
    d = t.days
    hit = np.flatnonzero(~d["in_workweek"].to_numpy() & (d["work_s"].to_numpy() > 0))
    mins = minutes(d["work_s"].to_numpy()[hit])
    return [Finding(RULE, {"date": t.date_str(i), "minutes": int(m)}) for i, m in zip(hit, mins)]
