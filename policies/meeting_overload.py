"""An ISO week whose meeting minutes exceed a share of its workdays' net working time."""

from __future__ import annotations

from balanced_calendar.model import Finding, Policy, Timeline
from policies._shared import minutes

RULE = "meeting_overload"
DEFINITION = "a week in which meetings take more than {meeting_share_pct}% of working hours (breaks excluded)"


def evaluate(t: Timeline, p: Policy) -> list[Finding]:
    d = t.days
    frame = d.assign(
        meeting_min=minutes(d["meeting_s"].to_numpy()),
        net=d["window_net_s"].where(d["is_workday"], 0),
    )
    weeks = frame.groupby("iso_week", sort=True).agg(minutes=("meeting_min", "sum"), net=("net", "sum"))
    share = p.thresholds.meeting_share
    findings = []
    for week, row in weeks.iterrows():
        limit_s = share * row["net"]
        if row["minutes"] * 60 > limit_s:
            findings.append(Finding(RULE, {"week": str(week), "minutes": int(row["minutes"]),
                                           "limit_minutes": int(round(limit_s / 60))}))
    return findings
