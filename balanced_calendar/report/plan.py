"""Which groups a week's reports may show, and their figures, decided once per week (docs/reports.md).

A **week plan** covers every configured team plus the organisation page (:data:`ORG`) for one
ISO week. It applies the guards of docs/privacy.md in one place:

1. **Contributing members**: enrolled, their latest consent names ``anonymised_team_report``,
   a member of the team (or of a child team), and their stored audit covers the whole week.
2. **Cohort (joiners in batches)**: a team's cohort is last week's cohort minus those who no
   longer contribute; new contributors join it only when at least ``k`` of them are waiting
   (or when the team has no earlier week). A single joiner therefore never changes a
   team's figures on their own.
3. **Suppression**: a group with fewer than ``k`` members in its cohort is suppressed.
4. **Differencing at run time**: a group whose cohort overlaps an already published group's
   and differs from it by 1 … k-1 members is suppressed (teams in config order, the
   organisation page last). The config check refuses such teams up front; this catches
   differences that only arise from who enrolled.
5. **Frozen weeks**: the plan is computed the first time any report shows the week and, once
   it publishes anything, stored (``meta`` ``report.week:<ISO week>``); later reports, the
   8-week trend included, show the stored figures. A week is never recomputed over a different membership, so two published
   figures of one week never differ by one person. Only ended weeks are planned.

The stored plan holds aggregates and, per team, the cohort as keyed hashes of pseudonyms
(no address, no pseudonym): enough to compare next week's cohort, useless without the
installation's secret.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from balanced_calendar.config import Config
from balanced_calendar.model import Policy, UserError
from balanced_calendar.report.figures import covers_week, person_weeks, week_figures
from balanced_calendar.report.hours import after_hours_grid
from balanced_calendar.store import PersonAudit, PersonRecord, Store
from balanced_calendar.teams import differencing
from balanced_calendar.timezones import load_zone

log = logging.getLogger(__name__)

#: the id of the organisation-wide page (not a valid team slug, so it never clashes)
ORG = "@org"
#: the consent purpose a member's data needs to enter a team report
PURPOSE = "anonymised_team_report"
#: how far before a week findings are read (an overtime streak that started earlier still counts)
LOOKBACK = dt.timedelta(days=14)


def week_label(year: int, week: int) -> str:
    return f"{year}-W{week:02d}"


def monday(year: int, week: int) -> dt.date:
    return dt.date.fromisocalendar(year, week, 1)


def previous_weeks(year: int, week: int, count: int) -> list[tuple[int, int]]:
    """``count`` ISO weeks ending with ``year``-W``week``, oldest first."""
    first = monday(year, week)
    out = []
    for back in range(count - 1, -1, -1):
        y, w, _ = (first - dt.timedelta(days=7 * back)).isocalendar()
        out.append((y, w))
    return out


def team_zones(config: Config) -> dict[str, str]:
    """Every team's zone: the zone most of its members share (ties: the service's zone if among
    them, else the first by name); the service's zone for a team without members."""
    zone_of = {p.email: p.timezone for p in config.people}
    out = {}
    for team in config.teams:
        zones: dict[str, int] = {}
        for email in team.members:
            if email in zone_of:
                zones[zone_of[email]] = zones.get(zone_of[email], 0) + 1
        if not zones:
            out[team.id] = config.service.timezone
            continue
        best = max(zones.values())
        tied = sorted(z for z, c in zones.items() if c == best)
        out[team.id] = config.service.timezone if config.service.timezone in tied else tied[0]
    return out


def team_zone(config: Config, team_id: str) -> str:
    """The zone of one team (see :func:`team_zones`)."""
    return team_zones(config).get(team_id, config.service.timezone)


@dataclass(frozen=True)
class Eligible:
    """Who may contribute this week: enrolled, consenting people, by address."""

    people: dict[str, PersonRecord]


def eligible(store: Store) -> Eligible:
    people = {}
    for person in store.list_people():
        consents = store.consents(person.email)
        if consents and PURPOSE in consents[-1].purposes:
            people[person.email.lower()] = person
    return Eligible(people)


def _token(store: Store, pseudonym: str) -> str:
    return store.pseudonym(f"report-cohort:{pseudonym}@report")[2:]


def _key(label: str) -> str:
    return f"report.week:{label}"


def stored_plan(store: Store, year: int, week: int) -> dict[str, Any] | None:
    raw = store.get_meta(_key(week_label(year, week)))
    return None if raw is None else json.loads(raw.decode())


def week_ended(config: Config, year: int, week: int, now: dt.datetime) -> bool:
    """Whether the week is over in every team's zone (and the service's)."""
    end = monday(year, week) + dt.timedelta(days=7)
    zones = {config.service.timezone} | set(team_zones(config).values())
    return all(now.astimezone(load_zone(z)).date() >= end for z in zones)


def plans(store: Store, config: Config, policy: Policy, weeks: Sequence[tuple[int, int]],
          now: dt.datetime, cache: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """The plans of ``weeks`` (by ISO week label), stored ones as they are, missing ones
    computed in chronological order and stored. ``cache`` keeps plans between calls (one
    command writing many reports reads each week once).

    Raises :class:`UserError` when one of the weeks has not ended yet.
    """
    if cache is not None and all(week_label(y, w) in cache for y, w in weeks):
        return {week_label(y, w): cache[week_label(y, w)] for y, w in weeks}
    last = max(weeks)
    if not week_ended(config, *last, now):
        raise UserError(f"week {week_label(*last)} has not ended yet: a team report covers a whole week",
                        hint="ask for an earlier week, e.g. last week")
    found: dict[str, dict[str, Any]] = {}
    missing = []
    for year, week in sorted(weeks):
        plan = stored_plan(store, year, week)
        if plan is None:
            missing.append((year, week))
        else:
            found[week_label(year, week)] = plan
    if missing:
        for label, plan in _compute(store, config, policy, missing).items():
            if not any(g["status"] == "published" for g in plan["groups"].values()):
                found[label] = plan  # nothing shown: nothing to keep consistent with later
                continue
            store.set_meta(_key(label), json.dumps(plan, sort_keys=True).encode(), overwrite=False)
            stored = store.get_meta(_key(label))  # another instance may have been first: theirs stands
            found[label] = json.loads(stored.decode()) if stored else plan
    if cache is not None:
        cache.update(found)
    return found


def _compute(store: Store, config: Config, policy: Policy,
             weeks: Sequence[tuple[int, int]]) -> dict[str, dict[str, Any]]:
    """Plans for ``weeks`` (sorted), reading the store once for the whole range."""
    k = config.reports.k
    who = eligible(store)
    members = {e for t in config.teams for e in t.members if e in who.people}
    first, last = monday(*weeks[0]), monday(*weeks[-1]) + dt.timedelta(days=6)
    audits = {a.pseudonym: a for a in store.team_audit(sorted(members), first - LOOKBACK, last)}
    by_pseudonym = {who.people[e].pseudonym: who.people[e] for e in members}
    grids = _grids(store, policy, [by_pseudonym[p] for p in audits if p in by_pseudonym], first, last)
    tokens = {p: _token(store, p) for p in audits}
    email_pseudonym = {e: who.people[e].pseudonym for e in members}
    mondays = [monday(y, w) for y, w in weeks]
    table = person_weeks(list(audits.values()), mondays, focus_min_minutes=policy.thresholds.focus_min_minutes)
    order = sorted(grids)
    stacked = np.stack([grids[p] for p in order]) if order else np.zeros((0, (last - first).days + 1, 24), bool)
    row_of = {p: i for i, p in enumerate(order)}
    out: dict[str, dict[str, Any]] = {}
    for (year, week), start in zip(weeks, mondays):
        label = week_label(year, week)
        contributing = {p for p, a in audits.items() if covers_week(a, start) and p in row_of}
        y0, w0, _ = (start - dt.timedelta(days=7)).isocalendar()
        previous = out.get(week_label(y0, w0)) or stored_plan(store, y0, w0)
        offset = (start - first).days
        week_table = table.xs(start.isoformat(), level="week") if contributing else table.iloc[0:0]

        def figures(group: frozenset[str]) -> dict[str, Any]:
            members_ = sorted(group)
            rows = stacked[[row_of[p] for p in members_], offset:offset + 7].astype(np.int64)
            return week_figures(week_table.loc[members_], rows, k=k)

        out[label] = _plan_week(config, label, email_pseudonym, contributing, tokens, previous, k, figures)
    return out


def _grids(store: Store, policy: Policy, people: Iterable[PersonRecord], first: dt.date,
           last: dt.date) -> dict[str, np.ndarray]:
    """Each person's after-hours hours over ``[first, last]`` in their own zone."""
    out = {}
    for person in people:
        tz = load_zone(person.timezone)
        columns = store.load_event_columns(person.email, dt.datetime.combine(first, dt.time(), tz),
                                           dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tz))
        out[person.pseudonym] = after_hours_grid(columns, policy, zone=person.timezone, start=first, end=last)
    return out


def _plan_week(config: Config, label: str, email_pseudonym: dict[str, str], contributing: set[str],
               tokens: dict[str, str], previous: dict[str, Any] | None, k: int,
               figures: Callable[[frozenset[str]], dict[str, Any]]) -> dict[str, Any]:
    groups: dict[str, Any] = {}
    published: dict[str, frozenset[str]] = {}
    for team in config.teams:
        present = frozenset(email_pseudonym[e] for e in team.members if e in email_pseudonym
                            and email_pseudonym[e] in contributing)
        cohort, waiting = _cohort(present, tokens, (previous or {}).get("groups", {}).get(team.id), k)
        entry: dict[str, Any] = {"cohort": sorted(tokens[p] for p in cohort), "waiting": waiting}
        if len(cohort) < k:
            entry.update(status="suppressed", reason="too_few", members=None)
        else:
            clash = next((d for d in differencing({**published, team.id: cohort}, k) if team.id in d[:2]), None)
            if clash is not None:
                other = clash.first if clash.second == team.id else clash.second
                entry.update(status="suppressed", reason="differencing", other=other, members=None)
            else:
                published[team.id] = cohort
                entry.update(status="published", members=len(cohort), figures=figures(cohort))
        groups[team.id] = entry
    org = frozenset().union(*published.values()) if published else frozenset()
    entry = {"teams": sorted(published)}
    if len(org) < k:
        entry.update(status="suppressed", reason="too_few", members=None)
    else:
        clash = next((d for d in differencing({**published, ORG: org}, k) if ORG in d[:2]), None)
        if clash is not None:
            entry.update(status="suppressed", reason="differencing",
                         other=clash.first if clash.second == ORG else clash.second, members=None)
        else:
            entry.update(status="published", members=len(org), figures=figures(org))
    groups[ORG] = entry
    return {"week": label, "k": k, "groups": groups}


def _cohort(present: frozenset[str], tokens: dict[str, str], before: dict[str, Any] | None,
            k: int) -> tuple[frozenset[str], int]:
    """This week's cohort and how many new contributors wait to join (see the module doc)."""
    if before is None or before.get("status") != "published":
        return present, 0  # nothing published last week: nothing to difference against
    known = set(before.get("cohort", ()))
    staying = frozenset(p for p in present if tokens[p] in known)
    joiners = present - staying
    if len(joiners) >= k:
        return present, 0
    return staying, len(joiners)
