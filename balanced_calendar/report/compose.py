"""A team's (or the organisation's) report of one ISO week, as plain data (docs/reports.md).

Built from the week plans of :mod:`balanced_calendar.report.plan` (the current week and the
trend weeks); the guards are applied again with the configured ``k`` (a raised ``k`` hides
what an earlier, smaller ``k`` let through). The result is JSON-able: it is what
``report --format json`` prints, and what the HTML and CSV are rendered from.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from balanced_calendar.config import Config
from balanced_calendar.model import Policy, UserError
from balanced_calendar.report.figures import HOURS, SHARES
from balanced_calendar.report.plan import ORG, monday, plans, previous_weeks, team_zone, week_label
from balanced_calendar.store import Store

#: the version of the JSON layout
FORMAT = 1


def _guard(figures: dict[str, Any] | None, members: int | None, k: int) -> dict[str, Any] | None:
    """``figures`` with everything under ``k`` hidden (``None`` when the group itself is under ``k``)."""
    if figures is None or members is None or members < k:
        return None
    hours = {name: (spread if spread["n"] >= k else {"n": spread["n"], "median": None, "q1": None, "q3": None})
             for name, spread in figures["hours"].items()}
    heatmap = [[c if c is not None and c >= k else None for c in row] for row in figures["heatmap"]]
    return {**figures, "hours": hours, "heatmap": heatmap}


def _trend_point(plan: dict[str, Any], group: str, k: int) -> dict[str, Any]:
    entry = plan["groups"].get(group)
    point: dict[str, Any] = {"week": plan["week"]}
    figures = _guard(entry.get("figures"), entry.get("members"), k) if entry else None
    if figures is None:
        point.update(status="suppressed", members=None, shares=None, median_hours=None,
                     out_of_window_meetings_per_person=None)
        return point
    point.update(status="published", members=figures["members"], shares=figures["shares"],
                 median_hours={name: figures["hours"][name]["median"] for name in HOURS},
                 out_of_window_meetings_per_person=figures["out_of_window_meetings_per_person"])
    return point


def _status(entry: dict[str, Any] | None, k: int) -> tuple[str, str | None, str | None]:
    if entry is None:
        return "suppressed", "not_planned", None
    if entry["status"] == "published" and (entry.get("members") or 0) < k:
        return "suppressed", "too_few", None
    return entry["status"], entry.get("reason"), entry.get("other")


def team_ids(config: Config) -> list[str]:
    return [t.id for t in config.teams]


def compose_report(store: Store, config: Config, policy: Policy, group: str, year: int, week: int,
                   now: dt.datetime, cache: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The report of team ``group`` (or :data:`ORG`) for ``year``-W``week``; ``cache`` keeps the
    week plans between calls (:func:`~balanced_calendar.report.plan.plans`).

    Raises :class:`UserError` for an unknown team or a week that has not ended.
    """
    k = config.reports.k
    if group != ORG and config.team(group) is None:
        raise UserError(f"unknown team {group!r}", hint="one of: " + ", ".join(team_ids(config)) if config.teams
                        else "declare [[teams]] in the config")
    weeks = previous_weeks(year, week, config.reports.weeks_trend)
    found = plans(store, config, policy, weeks, now, cache)
    current = found[week_label(year, week)]
    entry = current["groups"].get(group)
    status, reason, other = _status(entry, k)
    start = monday(year, week)
    report: dict[str, Any] = {
        "format": FORMAT,
        "group": "organisation" if group == ORG else "team",
        "team": None if group == ORG else group,
        "name": None if group == ORG else config.team(group).name,  # type: ignore[union-attr]
        "zone": config.service.timezone if group == ORG else team_zone(config, group),
        "week": week_label(year, week),
        "start": start.isoformat(),
        "end": (start + dt.timedelta(days=6)).isoformat(),
        "k": k,
        "status": status,
        "reason": reason,
        "differs_from": other,
        "members": None,
        "waiting_to_join": (entry or {}).get("waiting", 0) if group != ORG else None,
        "figures": None,
        "trend": [_trend_point(found[week_label(y, w)], group, k) for y, w in weeks],
    }
    figures = _guard((entry or {}).get("figures"), (entry or {}).get("members"), k) if status == "published" else None
    if figures is not None:
        report["members"] = figures["members"]
        report["figures"] = {key: value for key, value in figures.items() if key != "members"}
    if group == ORG:
        report["teams"] = []
        for team in config.teams:
            t_status, t_reason, t_other = _status(current["groups"].get(team.id), k)
            t_figures = _guard(current["groups"].get(team.id, {}).get("figures"),
                               current["groups"].get(team.id, {}).get("members"), k)
            row: dict[str, Any] = {"team": team.id, "name": team.name, "status": t_status if t_figures else
                                   "suppressed", "reason": t_reason, "differs_from": t_other}
            if t_figures is not None:
                row.update(members=t_figures["members"], shares=t_figures["shares"],
                           median_hours={name: t_figures["hours"][name]["median"] for name in HOURS},
                           out_of_window_meetings_per_person=t_figures["out_of_window_meetings_per_person"])
            report["teams"].append(row)
    return report


__all__ = ["FORMAT", "HOURS", "ORG", "SHARES", "compose_report", "team_ids"]
