"""Counted work on a holiday (incl. cuti bersama) that falls in the workweek."""

from __future__ import annotations

import numpy as np

from balanced_calendar.model import Finding, Policy, Timeline
from policies._shared import minutes

RULE = "holiday_work"
DEFINITION: dict[str, str] = {
    "en": "any work on a public holiday or collective leave day (cuti bersama) in the workweek",
    "id": "ada waktu kerja pada hari libur nasional atau cuti bersama yang jatuh pada hari kerja",
}
DESCRIBE: dict[str, str] = {
    "en": "{minutes:h} h of work on {date} ({holiday})",
    "id": "{minutes:h} jam kerja pada {date} ({holiday})",
}


def evaluate(t: Timeline, p: Policy) -> list[Finding]:
    d = t.days
    holiday = d["holiday"].notna().to_numpy()
    hit = np.flatnonzero(d["in_workweek"].to_numpy() & holiday & (d["work_s"].to_numpy() > 0))
    mins = minutes(d["work_s"].to_numpy()[hit])
    names = d["holiday"].to_numpy()[hit]
    return [Finding(RULE, {"date": t.date_str(i), "minutes": int(m), "holiday": str(h)})
            for i, m, h in zip(hit, mins, names)]
