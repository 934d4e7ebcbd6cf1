"""More than N minutes from the first start to the last end of a day."""

from __future__ import annotations

import numpy as np

from balanced_calendar.model import Finding, Policy, Timeline
from policies._shared import minutes

RULE = "long_day"
DEFINITION: dict[str, str] = {
    "en": "more than {long_day_minutes} minutes from the first start to the last end of a day",
    "id": "lebih dari {long_day_minutes} menit dari mulai pertama hingga selesai terakhir dalam sehari",
}
DESCRIBE: dict[str, str] = {
    "en": "{span_minutes:h} h from first start to last end on {date}",
    "id": "{span_minutes:h} jam dari mulai pertama hingga selesai terakhir pada {date}",
}


def evaluate(t: Timeline, p: Policy) -> list[Finding]:
    first = t.days["first_start"].to_numpy()
    span = t.days["last_end"].to_numpy() - first
    hit = np.flatnonzero((first >= 0) & (span > p.thresholds.long_day_minutes * 60))
    return [Finding(RULE, {"date": t.date_str(i), "span_minutes": int(s)}) for i, s in zip(hit, minutes(span[hit]))]
