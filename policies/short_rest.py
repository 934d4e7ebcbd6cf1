"""Less than N hours between the last end of one day and the first start of the next."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from balanced_calendar.model import FindingBlock, Policy
from policies._shared import minutes

if TYPE_CHECKING:
    from balanced_calendar.engine.timeline import Timeline

RULE = "short_rest"
DEFINITION: dict[str, str] = {
    "en": "less than {min_rest_hours} hours between the end of one day's work and the start of the next",
    "id": "kurang dari {min_rest_hours} jam antara selesai kerja satu hari dan mulai kerja hari berikutnya",
}
DESCRIBE: dict[str, str] = {
    "en": "only {rest_minutes:h} h of rest before {date}",
    "id": "hanya {rest_minutes:h} jam istirahat sebelum {date}",
}


def evaluate(t: Timeline, p: Policy) -> FindingBlock:
    first, last = t.days.first_start, t.days.last_end
    rest = first[1:] - last[:-1]
    both = (first[1:] >= 0) & (last[:-1] >= 0)
    hit = np.flatnonzero(both & (rest < p.thresholds.min_rest_hours * 3600)) + 1
    mins = minutes(rest[hit - 1])
    return FindingBlock(RULE, ("date", "rest_minutes"), hit.size, lambda: zip(t.date_texts(hit), mins.tolist()))
