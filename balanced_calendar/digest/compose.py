"""Compose a weekly digest: the data of one person's week, no presentation.

:func:`compose` reads only what the store holds for *that* person (their day figures, their
findings, their own blocks, and — for leaders — the meetings they organised) and returns a
:class:`Digest`: plain values that :mod:`balanced_calendar.digest.render` turns into a message.
Nothing about anyone else enters a digest.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from balanced_calendar.model import Finding, Policy, UserError
from balanced_calendar.planner.desired import Proposal, proposals_from
from balanced_calendar.store import PersonRecord, Store
from balanced_calendar.timezones import load_zone

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")

#: suggestion keys, in the order they are preferred when several findings call for them
SUGGESTIONS = ("recovery_leave", "core_window", "time_blocking", "breathing_pause", "walk", "smart_priorities")

#: days from the sending Monday in which the planner's proposals may fall (holidays, long weekends)
PROPOSAL_DAYS = 14

#: which findings call for which suggestions
_CALLS_FOR: dict[str, tuple[str, ...]] = {
    "overtime_streak": ("recovery_leave", "walk"),
    "after_hours": ("walk", "smart_priorities"),
    "long_day": ("walk",),
    "short_rest": ("walk",),
    "weekend_work": ("smart_priorities",),
    "holiday_work": ("smart_priorities",),
    "leave_work": ("smart_priorities",),
    "out_of_window_meeting": ("core_window",),
    "break_overlap": ("core_window", "breathing_pause"),
    "back_to_back": ("breathing_pause",),
    "focus_deficit": ("time_blocking",),
    "meeting_overload": ("time_blocking", "smart_priorities"),
}


class BadWeek(UserError):
    """An ISO week that cannot be read."""


def parse_week(text: str) -> tuple[int, int]:
    """``"2026-W51"`` → ``(2026, 51)``. Raises :class:`BadWeek` with a hint."""
    m = _WEEK.match(text.strip())
    if m:
        year, week = int(m.group(1)), int(m.group(2))
        try:
            dt.date.fromisocalendar(year, week, 1)
            return year, week
        except ValueError:
            pass
    raise BadWeek(f"{text!r} is not an ISO week", hint="write it like 2026-W51 (year, W, two-digit week)")


def week_label(year: int, week: int) -> str:
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class DayFigures:
    """One day of the covered week (minutes)."""

    date: dt.date
    work: int
    meetings: int
    after: int
    window: int  # net working window (0 on a day off, a holiday or leave)
    is_workday: bool
    on_leave: bool
    holiday: str | None


@dataclass(frozen=True)
class WeekTotals:
    week: str
    work: int
    meetings: int
    after: int


@dataclass(frozen=True)
class LeaderExample:
    """Meetings the person organised outside the meeting window or working hours."""

    meetings: int
    people_touched: int  # sum of other participants over those meetings


@dataclass(frozen=True)
class Block:
    date: dt.date
    start: str  # local HH:MM
    end: str
    kind: str


@dataclass(frozen=True)
class Digest:
    """Everything one person's weekly digest says, as data."""

    key: str  # the outbox key: digest:<pseudonym>:<week>
    email: str
    pseudonym: str
    lang: str
    zone: str
    year: int
    week: int
    start: dt.date
    end: dt.date
    days: tuple[DayFigures, ...]
    totals: WeekTotals
    trend: tuple[WeekTotals, ...]  # 4 weeks, oldest first, the covered week last
    focus_days: int  # workdays with a free stretch of at least focus_min_minutes
    workdays: int
    findings: tuple[Finding, ...]
    rules: tuple[str, ...]  # the rules that fired, in order, for their definitions
    suggestions: tuple[str, ...]
    next_blocks: tuple[Block, ...]
    #: a recovery-leave day, a meeting-free day: only shown, never written to the calendar
    proposals: tuple[Proposal, ...]
    reflection: bool
    leader: LeaderExample | None
    all_leave: bool
    policy: Policy = field(repr=False, compare=False)

    @property
    def label(self) -> str:
        return week_label(self.year, self.week)


def digest_key(pseudonym: str, year: int, week: int) -> str:
    """The idempotency key of a person-week (outbox and job queue): no address in it."""
    return f"digest:{pseudonym}:{week_label(year, week)}"


def choose_suggestions(findings: list[Finding] | tuple[Finding, ...]) -> tuple[str, ...]:
    """2–3 suggestions chosen from the findings (most findings first, then :data:`SUGGESTIONS`
    order); two gentle defaults when nothing fired."""
    score: dict[str, int] = {}
    for f in findings:
        for key in _CALLS_FOR.get(f.rule, ()):
            # an overtime streak outweighs everything else: recovery comes first
            score[key] = score.get(key, 0) + (100 if key == "recovery_leave" else 1)
    chosen = sorted(score, key=lambda k: (-score[k], SUGGESTIONS.index(k)))[:3]
    for default in ("walk", "smart_priorities", "time_blocking"):
        if len(chosen) >= 2:
            break
        if default not in chosen:
            chosen.append(default)
    return tuple(chosen)


def _windows(policy: Policy, zone: str, start: dt.date, end: dt.date) -> dict[dt.date, tuple[Any, ...]]:
    """Per date: (window start, window end, break minutes, meeting window start, end) as epoch seconds."""
    from balanced_calendar.engine.calendar import range_calendar

    cal = range_calendar(policy, zone, start, end)
    return {d: (int(cal.w_start[i]), int(cal.w_end[i]), int(cal.b_end[i] - cal.b_start[i]),
                int(cal.mw_start[i]), int(cal.mw_end[i]))
            for i, d in enumerate(cal.dates)}


def _workdays(policy: Policy, zone: str, first: dt.date, days: int) -> list[dt.date]:
    """The policy's workdays (workweek, not a holiday) among ``days`` days from ``first``."""
    from balanced_calendar.engine.calendar import range_calendar

    cal = range_calendar(policy, zone, first, first + dt.timedelta(days=days - 1))
    return [d for d, work, off in zip(cal.dates, cal.in_workweek.tolist(), cal.is_holiday.tolist())
            if work and not off]


def _leader_example(store: Store, person: PersonRecord, policy: Policy, zone: str, start: dt.date,
                    end: dt.date) -> LeaderExample:
    tz = load_zone(zone)
    windows = _windows(policy, zone, start, end)
    events = store.load_events(person.email, dt.datetime.combine(start, dt.time(), tz),
                               dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tz))
    count = touched = 0
    for e in events:
        if (e.all_day or not e.organizer_is_self or e.others <= 0 or e.status == "cancelled"
                or not isinstance(e.start, dt.datetime) or not isinstance(e.end, dt.datetime)):
            continue
        day = e.start.astimezone(tz).date()
        w_start, w_end, _brk, mw_start, mw_end = windows.get(day, (0, 0, 0, 0, 0))
        s, t = int(e.start.timestamp()), int(e.end.timestamp())
        off_day = w_end <= w_start
        if off_day or s < mw_start or t > mw_end or s < w_start or t > w_end:
            count += 1
            touched += e.others
    return LeaderExample(count, touched)


def is_leader(config: Any, email: str) -> bool:
    """Whether ``email`` leads a team in ``config`` (a :class:`~balanced_calendar.config.Config`)."""
    wanted = email.lower()
    return any(wanted in (leader.lower() for leader in team.leaders) for team in config.teams)


def compose(store: Store, person: PersonRecord, policy: Policy, year: int, week: int, *,
            lang: str | None = None, leader: bool = False) -> Digest:
    """The digest of ``person`` for ISO ``year``-W``week`` from what the store holds.

    Raises :class:`~balanced_calendar.store.errors.NotEnrolled` for an unknown person.
    """
    start = dt.date.fromisocalendar(year, week, 1)
    end = start + dt.timedelta(days=6)
    zone = person.timezone
    lang = lang or person.language
    windows = _windows(policy, zone, start, end)
    stored = {d["date"]: d for d in store.load_audit_days(person.email, start - dt.timedelta(days=21), end)}
    days: list[DayFigures] = []
    for i in range(7):
        date = start + dt.timedelta(days=i)
        d = stored.get(date.isoformat(), {})
        w_start, w_end, brk, _ms, _me = windows[date]
        workday = bool(d.get("is_workday", w_end > w_start))
        window = max(0, (w_end - w_start - brk) // 60) if workday else 0
        days.append(DayFigures(date, int(d.get("work_minutes", 0)), int(d.get("meeting_minutes", 0)),
                               int(d.get("after_hours_minutes", 0)), window, workday,
                               bool(d.get("on_leave", False)), d.get("holiday")))
    trend: list[WeekTotals] = []
    for back in (3, 2, 1, 0):
        first = start - dt.timedelta(days=7 * back)
        rows = [stored[k] for k in ((first + dt.timedelta(days=i)).isoformat() for i in range(7)) if k in stored]
        y, w, _ = first.isocalendar()
        trend.append(WeekTotals(week_label(y, w), sum(int(r["work_minutes"]) for r in rows),
                                sum(int(r["meeting_minutes"]) for r in rows),
                                sum(int(r["after_hours_minutes"]) for r in rows)))
    findings = tuple(store.load_findings(person.email, start, end))
    rules: list[str] = []
    for f in findings:
        if f.rule not in rules:
            rules.append(f.rule)
    focus_min = policy.thresholds.focus_min_minutes
    workdays = [stored.get(d.date.isoformat(), {}) for d in days if d.is_workday]
    focus_days = sum(1 for d in workdays if (d.get("longest_free_minutes") or 0) >= focus_min)
    in_workweek = [d for d in days if d.date.isoweekday() in policy.workweek]
    all_leave = bool(in_workweek) and any(d.on_leave for d in in_workweek) and all(
        d.on_leave or d.holiday for d in in_workweek)
    tz = load_zone(zone)
    next_start, next_end = end + dt.timedelta(days=1), end + dt.timedelta(days=7)
    blocks = tuple(Block(b.date, f"{b.start.astimezone(tz):%H:%M}", f"{b.end.astimezone(tz):%H:%M}", b.kind)
                   for b in store.own_blocks(person.email, next_start, next_end) if b.state == "active")
    sent_on = end + dt.timedelta(days=1)  # the Monday the digest goes out
    proposals = proposals_from(findings, _workdays(policy, zone, sent_on, PROPOSAL_DAYS))
    return Digest(
        key=digest_key(person.pseudonym, year, week), email=person.email, pseudonym=person.pseudonym,
        lang=lang, zone=zone, year=year, week=week, start=start, end=end, days=tuple(days),
        totals=trend[-1], trend=tuple(trend), focus_days=focus_days, workdays=len(workdays),
        findings=findings, rules=tuple(rules), suggestions=choose_suggestions(findings),
        next_blocks=blocks, proposals=proposals, reflection=sent_on.day <= 7,
        leader=_leader_example(store, person, policy, zone, start, end) if leader else None,
        all_leave=all_leave, policy=policy)
