"""A workday with at least N minutes of counted time outside the working window."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from balanced_calendar.model import FindingBlock, Policy
from policies._shared import minutes

if TYPE_CHECKING:
    from balanced_calendar.engine.timeline import Timeline

RULE = "after_hours"
DEFINITION: dict[str, str] = {
    "en": "a workday with at least {after_hours_minutes} minutes of work outside working hours",
    "id": "hari kerja dengan sedikitnya {after_hours_minutes} menit kerja di luar jam kerja",
}
DESCRIBE: dict[str, str] = {
    "en": "{minutes:h} h outside working hours on {date}",
    "id": "{minutes:h} jam di luar jam kerja pada {date}",
}


def evaluate(t: Timeline, p: Policy) -> FindingBlock:
    d = t.days
    hit = np.flatnonzero(d.is_workday & (d.after_s >= p.thresholds.after_hours_minutes * 60))
    mins = minutes(d.after_s[hit])
    return FindingBlock(RULE, ("date", "minutes"), hit.size, lambda: zip(t.date_texts(hit), mins.tolist()))
