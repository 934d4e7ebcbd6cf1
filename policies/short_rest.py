"""Less than N hours between the last end of one day and the first start of the next."""

from __future__ import annotations

import numpy as np

from balanced_calendar.model import Finding, Policy, Timeline
from policies._shared import minutes

RULE = "short_rest"
DEFINITION: dict[str, str] = {
    "en": "less than {min_rest_hours} hours between the end of one day's work and the start of the next",
    "id": "kurang dari {min_rest_hours} jam antara selesai kerja satu hari dan mulai kerja hari berikutnya",
}
DESCRIBE: dict[str, str] = {
    "en": "only {rest_minutes:h} h of rest before {date}",
    "id": "hanya {rest_minutes:h} jam istirahat sebelum {date}",
}


def evaluate(t: Timeline, p: Policy) -> list[Finding]:
    first = t.days["first_start"].to_numpy()
    last = t.days["last_end"].to_numpy()
    if first.size < 2:
        return []
    rest = first[1:] - last[:-1]
    both = (first[1:] >= 0) & (last[:-1] >= 0)
    hit = np.flatnonzero(both & (rest < p.thresholds.min_rest_hours * 3600))
    return [Finding(RULE, {"date": t.date_str(i + 1), "rest_minutes": int(r)})
            for i, r in zip(hit, minutes(rest[hit]))]
