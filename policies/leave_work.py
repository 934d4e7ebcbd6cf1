"""Counted work on a leave day that is neither weekend nor holiday."""

from __future__ import annotations

import numpy as np

from balanced_calendar.model import Finding, Policy, Timeline
from policies._shared import minutes

RULE = "leave_work"
DEFINITION: dict[str, str] = {
    "en": "any work on a day of leave (out of office all day, or for at least half the working hours)",
    "id": ("ada waktu kerja pada hari cuti (tidak masuk kantor sepanjang hari, atau sedikitnya separuh "
           "jam kerja)"),
}
DESCRIBE: dict[str, str] = {
    "en": "{minutes:h} h of work on {date} while on leave",
    "id": "{minutes:h} jam kerja pada {date} saat cuti",
}


def evaluate(t: Timeline, p: Policy) -> list[Finding]:
    d = t.days
    mask = (d["on_leave"].to_numpy() & d["in_workweek"].to_numpy() & d["holiday"].isna().to_numpy()
            & (d["work_s"].to_numpy() > 0))
    hit = np.flatnonzero(mask)
    mins = minutes(d["work_s"].to_numpy()[hit])
    return [Finding(RULE, {"date": t.date_str(i), "minutes": int(m)}) for i, m in zip(hit, mins)]
