"""An ISO week whose meeting minutes exceed a share of its workdays' net working time."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from balanced_calendar.model import FindingBlock, Policy
from policies._shared import minutes

if TYPE_CHECKING:
    from balanced_calendar.engine.timeline import Timeline

RULE = "meeting_overload"
DEFINITION: dict[str, str] = {
    "en": "a week in which meetings take more than {meeting_share_pct}% of working hours (breaks excluded)",
    "id": "pekan dengan waktu rapat lebih dari {meeting_share_pct}% jam kerja (tanpa waktu istirahat)",
}
DESCRIBE: dict[str, str] = {
    "en": "{minutes:h} h of meetings in {week} (limit {limit_minutes:h} h)",
    "id": "{minutes:h} jam rapat pada pekan {week} (batas {limit_minutes:h} jam)",
}


def evaluate(t: Timeline, p: Policy) -> FindingBlock:
    d = t.days
    names, week_of_day = t.calendar.weeks  # weeks in order, as text sorts them
    n_weeks = len(names)
    week_minutes = np.bincount(week_of_day, weights=minutes(d.meeting_s), minlength=n_weeks).astype(np.int64)
    week_net = np.bincount(week_of_day, weights=np.where(d.is_workday, d.window_net_s, 0),
                           minlength=n_weeks).astype(np.int64)
    week_workdays = np.bincount(week_of_day, weights=d.is_workday, minlength=n_weeks)
    limit_s = p.thresholds.meeting_share * week_net
    # A week without a workday in range has limit 0 and never fires (docs/rules.md).
    hit = np.flatnonzero((week_workdays > 0) & (week_minutes * 60 > limit_s))
    mins = week_minutes[hit].tolist()
    limits = [int(round(s / 60)) for s in limit_s[hit].tolist()]
    return FindingBlock(RULE, ("week", "minutes", "limit_minutes"), hit.size,
                        lambda: zip([names[i] for i in hit.tolist()], mins, limits))
