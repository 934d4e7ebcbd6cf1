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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from balanced_calendar.config import Config
from balanced_calendar.model import Policy, UserError
from balanced_calendar.report.figures import covers_week, week_figures
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


def team_zone(config: Config, team_id: str) -> str:
    """The zone a team's report runs in: the zone most of its members share (ties: the
    service's zone if among them, else the first by name); the service's zone for an empty team."""
    team = config.team(team_id)
    zones: dict[str, int] = {}
    for email in sorted(team.members if team else ()):
        person = config.person(email)
        if person is not None:
            zones[person.timezone] = zones.get(person.timezone, 0) + 1
    if not zones:
        return config.service.timezone
    best = max(zones.values())
    tied = sorted(z for z, c in zones.items() if c == best)
    return config.service.timezone if config.service.timezone in tied else tied[0]


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
    zones = {config.service.timezone} | {team_zone(config, t.id) for t in config.teams}
    return all(now.astimezone(load_zone(z)).date() >= end for z in zones)


def plans(store: Store, config: Config, policy: Policy, weeks: Sequence[tuple[int, int]],
          now: dt.datetime) -> dict[str, dict[str, Any]]:
    """The plans of ``weeks`` (by ISO week label), stored ones as they are, missing ones
    computed in chronological order and stored.

    Raises :class:`UserError` when one of the weeks has not ended yet.
    """
    for year, week in weeks:
        if not week_ended(config, year, week, now):
            raise UserError(f"week {week_label(year, week)} has not ended yet: a team report covers a whole week",
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
    out: dict[str, dict[str, Any]] = {}
    for year, week in weeks:
        label = week_label(year, week)
        start = monday(year, week)
        contributing = {p for p, a in audits.items() if covers_week(a, start)}
        before = monday(year, week) - dt.timedelta(days=7)
        y0, w0, _ = before.isocalendar()
        previous = out.get(week_label(y0, w0)) or stored_plan(store, y0, w0)
        offset = (start - first).days
        week_grids = {p: g[offset:offset + 7] for p, g in grids.items()}
        out[label] = _plan_week(config, policy, label, start, audits, email_pseudonym, contributing, week_grids, tokens, previous, k)
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


def _plan_week(config: Config, policy: Policy, label: str, start: dt.date, audits: dict[str, PersonAudit],
               email_pseudonym: dict[str, str], contributing: set[str], grids: dict[str, np.ndarray],
               tokens: dict[str, str], previous: dict[str, Any] | None, k: int) -> dict[str, Any]:
    groups: dict[str, Any] = {}
    published: dict[str, frozenset[str]] = {}
    focus_min = policy.thresholds.focus_min_minutes
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
                entry.update(status="published", members=len(cohort),
                             figures=week_figures([audits[p] for p in sorted(cohort)], grids, start,
                                                  focus_min_minutes=focus_min, k=k))
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
            entry.update(status="published", members=len(org),
                         figures=week_figures([audits[p] for p in sorted(org)], grids, start,
                                              focus_min_minutes=focus_min, k=k))
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
