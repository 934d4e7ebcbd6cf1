"""An ISO week whose meeting minutes exceed a share of its workdays' net working time."""

from __future__ import annotations

import numpy as np

from balanced_calendar.model import Finding, Policy, Timeline
from policies._shared import minutes

RULE = "meeting_overload"
DEFINITION: dict[str, str] = {
    "en": "a week in which meetings take more than {meeting_share_pct}% of working hours (breaks excluded)",
    "id": "pekan dengan waktu rapat lebih dari {meeting_share_pct}% jam kerja (tanpa waktu istirahat)",
}
DESCRIBE: dict[str, str] = {
    "en": "{minutes:h} h of meetings in {week} (limit {limit_minutes:h} h)",
    "id": "{minutes:h} jam rapat pada pekan {week} (batas {limit_minutes:h} jam)",
}


def evaluate(t: Timeline, p: Policy) -> list[Finding]:
    d = t.days
    weeks, week_of_day = np.unique(d["iso_week"].to_numpy(), return_inverse=True)  # sorted, as groupby
    meeting_min = minutes(d["meeting_s"].to_numpy())
    net = np.where(d["is_workday"].to_numpy(), d["window_net_s"].to_numpy(), 0)
    week_minutes = np.zeros(weeks.size, dtype=np.int64)
    week_net = np.zeros(weeks.size, dtype=np.int64)
    np.add.at(week_minutes, week_of_day, meeting_min)
    np.add.at(week_net, week_of_day, net)
    share = p.thresholds.meeting_share
    findings = []
    for week, mins, net_s in zip(weeks.tolist(), week_minutes.tolist(), week_net.tolist()):
        limit_s = share * net_s
        if mins * 60 > limit_s:
            findings.append(Finding(RULE, {"week": str(week), "minutes": int(mins),
                                           "limit_minutes": int(round(limit_s / 60))}))
    return findings
