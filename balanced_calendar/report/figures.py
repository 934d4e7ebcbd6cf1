"""The figures of one reported group in one ISO week: aggregates only (docs/reports.md).

Input is what :meth:`~balanced_calendar.store.AuditStore.team_audit` returns (day figures and
findings, known by pseudonym), turned once into a per-person-week frame (:func:`person_weeks`),
and each member's after-hours hour grid (:mod:`balanced_calendar.report.hours`). pandas does the
cross-person aggregation; the per-person frame stays inside the planning step, and what
:func:`week_figures` returns holds no pseudonym, no per-person row, no rank, no minimum and no
maximum.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from balanced_calendar.store import PersonAudit

#: the shares of members with a finding, and the rules that make each
SHARES: dict[str, tuple[str, ...]] = {
    "overtime_streak": ("overtime_streak",),
    "weekend_or_holiday_work": ("weekend_work", "holiday_work"),
    "short_rest": ("short_rest",),
}

#: the hour figures per person shown as median and quartiles
HOURS = ("after_hours", "meetings", "focus")


def week_dates(start: dt.date) -> list[str]:
    return [(start + dt.timedelta(days=i)).isoformat() for i in range(7)]


def covers_week(audit: PersonAudit, start: dt.date) -> bool:
    """Whether the stored audit holds every day of the week starting ``start`` (a contributing member)."""
    wanted = set(week_dates(start))
    return wanted <= {str(d["date"]) for d in audit.days}


def _finding_dates(rule: str, fields: Mapping[str, Any]) -> tuple[str, str]:
    if "date" in fields:
        return str(fields["date"]), str(fields["date"])
    if "start" in fields and "end" in fields and rule == "overtime_streak":
        return str(fields["start"]), str(fields["end"])
    return "", ""


def _spreads(week: pd.DataFrame, k: int) -> dict[str, dict[str, Any]]:
    """Median and quartiles in hours of each hour figure (one pandas call for all three); only
    ``n`` where fewer than ``k`` members have a value."""
    columns = {"after_hours": "after", "meetings": "meetings", "focus": "focus"}
    counts = week[list(columns.values())].count()
    q = week[list(columns.values())].astype("float64").quantile([0.25, 0.5, 0.75])
    out = {}
    for name, column in columns.items():
        n = int(counts[column])
        if n < k:
            out[name] = {"n": n, "median": None, "q1": None, "q3": None}
        else:
            out[name] = {"n": n, "median": round(float(q.at[0.5, column]) / 60, 2),
                         "q1": round(float(q.at[0.25, column]) / 60, 2), "q3": round(float(q.at[0.75, column]) / 60, 2)}
    return out


def person_weeks(audits: Sequence[PersonAudit], mondays: Sequence[dt.date], *,
                 focus_min_minutes: int) -> pd.DataFrame:
    """One row per (ISO week Monday, pseudonym) of ``audits``: the week's after-hours, meeting and
    focus minutes (focus: NaN without a workday), whether each share's findings occurred, and the
    out-of-window meetings. Internal to the aggregation: never shown, never stored."""
    week_of = {(m + dt.timedelta(days=i)).isoformat(): m.isoformat() for m in mondays for i in range(7)}
    days = pd.DataFrame.from_records(
        [(week_of[str(d["date"])], a.pseudonym, bool(d.get("is_workday")), d.get("after_hours_minutes") or 0,
          d.get("meeting_minutes") or 0, d.get("longest_free_minutes"))
         for a in audits for d in a.days if str(d["date"]) in week_of],
        columns=["week", "who", "workday", "after", "meetings", "free"])
    free = days["free"].astype("float64").fillna(0)
    days["focus"] = free.where(free >= focus_min_minutes, 0.0)
    days["focus"] = days["focus"].where(days["workday"])  # NaN off workdays
    per = days.groupby(["week", "who"]).agg(after=("after", "sum"), meetings=("meetings", "sum"),
                                            focus=("focus", "sum"), workdays=("workday", "sum"))
    per.loc[per["workdays"] == 0, "focus"] = np.nan
    rows = []
    for a in audits:
        for f in a.findings:
            first, last = _finding_dates(f.rule, f.fields)
            if not first:
                continue
            for monday in mondays:
                start, end = monday.isoformat(), (monday + dt.timedelta(days=6)).isoformat()
                if first <= end and last >= start:
                    rows.append((start, a.pseudonym, f.rule))
    found = pd.DataFrame.from_records(rows, columns=["week", "who", "rule"])
    for name, rules in SHARES.items():
        hit = found[found["rule"].isin(rules)].groupby(["week", "who"]).size()
        per[name] = hit.reindex(per.index, fill_value=0) > 0
    oow = found[found["rule"] == "out_of_window_meeting"].groupby(["week", "who"]).size()
    per["out_of_window"] = oow.reindex(per.index, fill_value=0)
    return per


def week_figures(week: pd.DataFrame, grids: np.ndarray, *, k: int) -> dict[str, Any]:
    """The aggregates of one group in one week.

    ``week`` holds the contributing members' rows of :func:`person_weeks` for that week,
    ``grids`` their ``(7, 24)`` after-hours hour grids stacked ``(members, 7, 24)``. Raises
    ``ValueError`` when fewer than ``k`` members are given: the caller's guard must have
    suppressed the group.
    """
    n = len(week)
    if n < k:
        raise ValueError(f"a group of {n} is under k = {k}: it must be suppressed, not aggregated")
    counts = grids.sum(axis=0) if grids.size else np.zeros((7, 24), dtype=np.int64)
    return {
        "members": n,
        "shares": {name: round(int(week[name].sum()) / n, 4) for name in SHARES},
        "hours": _spreads(week, k),
        "out_of_window_meetings_per_person": round(int(week["out_of_window"].sum()) / n, 2),
        "heatmap": [[int(c) if c >= k else None for c in row] for row in counts.tolist()],
    }
