"""Counted work on a holiday (incl. cuti bersama) that falls in the workweek."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from balanced_calendar.model import FindingBlock, Policy
from policies._shared import minutes

if TYPE_CHECKING:
    from balanced_calendar.engine.timeline import Timeline

RULE = "holiday_work"
DEFINITION: dict[str, str] = {
    "en": "any work on a public holiday or collective leave day (cuti bersama) in the workweek",
    "id": "ada waktu kerja pada hari libur nasional atau cuti bersama yang jatuh pada hari kerja",
}
DESCRIBE: dict[str, str] = {
    "en": "{minutes:h} h of work on {date} ({holiday})",
    "id": "{minutes:h} jam kerja pada {date} ({holiday})",
}


def evaluate(t: Timeline, p: Policy) -> FindingBlock:
    d = t.days
    hit = np.flatnonzero(d.in_workweek & d.is_holiday & (d.work_s > 0))
    mins = minutes(d.work_s[hit])
    return FindingBlock(RULE, ("date", "minutes", "holiday"), hit.size,
                        lambda: zip(t.date_texts(hit), mins.tolist(), [str(d.holiday[i]) for i in hit.tolist()]))
