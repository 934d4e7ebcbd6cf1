"""An ISO week whose meeting minutes exceed a share of its workdays' net working time."""

from __future__ import annotations

import numpy as np

from balanced_calendar.model import Finding, Policy, Timeline
from policies._shared import minutes

RULE = "meeting_overload"
DEFINITION = "a week in which meetings take more than {meeting_share_pct}% of working hours (breaks excluded)"


def evaluate(t: Timeline, p: Policy) -> list[Finding]:
    d = t.days
    weeks, week_of_day = np.unique(d["iso_week"].to_numpy(), return_inverse=True)  # sorted, as groupby
    meeting_min = minutes(d["meeting_s"].to_numpy())
    net = np.where(d["is_workday"].to_numpy(), d["window_net_s"].to_numpy(), 0)
    week_minutes = np.zeros(weeks.size, dtype=np.int64)
    week_net = np.zeros(weeks.size, dtype=np.int64)
    week_workdays = np.zeros(weeks.size, dtype=np.int64)
    np.add.at(week_minutes, week_of_day, meeting_min)
    np.add.at(week_net, week_of_day, net)
    np.add.at(week_workdays, week_of_day, d["is_workday"].to_numpy().astype(np.int64))
    share = p.thresholds.meeting_share
    findings = []
    for week, mins, net_s, workdays in zip(weeks.tolist(), week_minutes.tolist(), week_net.tolist(),
                                           week_workdays.tolist()):
        limit_s = share * net_s
        if workdays and mins * 60 > limit_s:  # a week without a workday in range never fires
            findings.append(Finding(RULE, {"week": str(week), "minutes": int(mins),
                                           "limit_minutes": int(round(limit_s / 60))}))
    return findings
