"""Counted work on a day outside the workweek."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from balanced_calendar.model import FindingBlock, Policy
from policies._shared import minutes

if TYPE_CHECKING:
    from balanced_calendar.engine.timeline import Timeline

RULE = "weekend_work"
DEFINITION: dict[str, str] = {
    "en": "any work on a day outside the workweek",
    "id": "ada waktu kerja pada hari di luar pekan kerja (akhir pekan)",
}
DESCRIBE: dict[str, str] = {
    "en": "{minutes:h} h of work on {date} (weekend)",
    "id": "{minutes:h} jam kerja pada {date} (akhir pekan)",
}


def evaluate(t: Timeline, p: Policy) -> FindingBlock:
    d = t.days
    hit = np.flatnonzero(~d.in_workweek & (d.work_s > 0))
    mins = minutes(d.work_s[hit])
    return FindingBlock(RULE, ("date", "minutes"), hit.size, lambda: zip(t.date_texts(hit), mins.tolist()))
