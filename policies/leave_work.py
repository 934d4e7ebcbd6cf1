"""Counted work on a leave day that is neither weekend nor holiday."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from balanced_calendar.model import FindingBlock, Policy
from policies._shared import minutes

if TYPE_CHECKING:
    from balanced_calendar.engine.timeline import Timeline

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


def evaluate(t: Timeline, p: Policy) -> FindingBlock:
    d = t.days
    hit = np.flatnonzero(d.on_leave & d.in_workweek & ~d.is_holiday & (d.work_s > 0))
    mins = minutes(d.work_s[hit])
    return FindingBlock(RULE, ("date", "minutes"), hit.size, lambda: zip(t.date_texts(hit), mins.tolist()))
