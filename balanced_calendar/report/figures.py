"""The figures of one reported group in one ISO week: aggregates only (docs/reports.md).

Input is what :meth:`~balanced_calendar.store.AuditStore.team_audit` returns for the group's
contributing members (day figures and findings, known by pseudonym) and each member's
after-hours hour grid (:mod:`balanced_calendar.report.hours`). pandas does the cross-person
aggregation; the per-person frame lives only inside :func:`week_figures`, and what it returns
holds no pseudonym, no per-person row, no rank, no minimum and no maximum.
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


def _spread(values: pd.Series, k: int) -> dict[str, Any]:
    """Median and quartiles in hours, or only ``n`` when fewer than ``k`` values exist."""
    n = int(values.size)
    if n < k:
        return {"n": n, "median": None, "q1": None, "q3": None}
    q = values.quantile([0.25, 0.5, 0.75])
    return {"n": n, "median": round(float(q[0.5]) / 60, 2), "q1": round(float(q[0.25]) / 60, 2),
            "q3": round(float(q[0.75]) / 60, 2)}


def week_figures(audits: Sequence[PersonAudit], grids: Mapping[str, np.ndarray], start: dt.date, *,
                 focus_min_minutes: int, k: int) -> dict[str, Any]:
    """The aggregates of ``audits`` (the contributing members) over the week starting ``start``.

    ``grids[pseudonym]`` is a ``(7, 24)`` bool array of after-hours hours. Raises
    ``ValueError`` when fewer than ``k`` members are given: the caller's guard must have
    suppressed the group.
    """
    n = len(audits)
    if n < k:
        raise ValueError(f"a group of {n} is under k = {k}: it must be suppressed, not aggregated")
    first, last = start.isoformat(), (start + dt.timedelta(days=6)).isoformat()
    dates = set(week_dates(start))
    days = pd.DataFrame.from_records(
        [(a.pseudonym, d.get("is_workday"), d.get("after_hours_minutes") or 0, d.get("meeting_minutes") or 0,
          d.get("longest_free_minutes"))
         for a in audits for d in a.days if str(d["date"]) in dates],
        columns=["who", "workday", "after", "meetings", "free"])
    people = pd.Index(sorted(a.pseudonym for a in audits), name="who")
    per_person = days.groupby("who")[["after", "meetings"]].sum().reindex(people, fill_value=0)
    workdays = days[days["workday"].astype(bool)].copy()
    workdays["focus"] = workdays["free"].where(workdays["free"].fillna(0) >= focus_min_minutes, 0).fillna(0)
    focus = workdays.groupby("who")["focus"].sum()  # only members with at least one workday

    findings = pd.DataFrame.from_records(
        [(a.pseudonym, f.rule, *_finding_dates(f.rule, f.fields)) for a in audits for f in a.findings],
        columns=["who", "rule", "first", "last"])
    in_week = findings[(findings["first"] <= last) & (findings["last"] >= first) & (findings["first"] != "")]
    shares = {}
    for name, rules in SHARES.items():
        affected = in_week[in_week["rule"].isin(rules)]["who"].nunique()
        shares[name] = round(affected / n, 4)
    out_of_window = int((in_week["rule"] == "out_of_window_meeting").sum())

    stacked = np.zeros((7, 24), dtype=np.int64)
    for a in audits:
        grid = grids.get(a.pseudonym)
        if grid is not None:
            stacked += grid.astype(np.int64)
    heatmap = [[int(c) if c >= k else None for c in row] for row in stacked.tolist()]

    return {
        "members": n,
        "shares": shares,
        "hours": {"after_hours": _spread(per_person["after"], k), "meetings": _spread(per_person["meetings"], k),
                  "focus": _spread(focus, k)},
        "out_of_window_meetings_per_person": round(out_of_window / n, 2),
        "heatmap": heatmap,
    }
