"""More than N minutes from the first start to the last end of a day."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from balanced_calendar.model import FindingBlock, Policy
from policies._shared import minutes

if TYPE_CHECKING:
    from balanced_calendar.engine.timeline import Timeline

RULE = "long_day"
DEFINITION: dict[str, str] = {
    "en": "more than {long_day_minutes} minutes from the first start to the last end of a day",
    "id": "lebih dari {long_day_minutes} menit dari mulai pertama hingga selesai terakhir dalam sehari",
}
DESCRIBE: dict[str, str] = {
    "en": "{span_minutes:h} h from first start to last end on {date}",
    "id": "{span_minutes:h} jam dari mulai pertama hingga selesai terakhir pada {date}",
}


def long_days(t: Timeline, p: Policy) -> np.ndarray:
    """Indices of the days that are long days (the planner plans recovery after them)."""
    first = t.days.first_start
    span = t.days.last_end - first
    return np.flatnonzero((first >= 0) & (span > p.thresholds.long_day_minutes * 60))


def evaluate(t: Timeline, p: Policy) -> FindingBlock:
    hit = long_days(t, p)
    mins = minutes(t.days.last_end[hit] - t.days.first_start[hit])
    return FindingBlock(RULE, ("date", "span_minutes"), hit.size, lambda: zip(t.date_texts(hit), mins.tolist()))
