"""Pure: one person's stored events + policy -> the own blocks they should have (docs/planner.md).

The engine's timeline decides everything about a day (working window W(D), break,
workday, leave, counted events, after-hours time, long days, back-to-back chains); this
module only places blocks into what is left free:

* **recovery**: after a day with at least ``recovery_after_hours_minutes`` outside working
  hours, or a long day, the first ``recovery_minutes`` of the next workday's window, if free;
* **break**: after a back-to-back chain that ends inside the window, ``back_to_back_break_minutes``
  right after it, if free;
* **focus**: up to ``focus_target_minutes`` a workday, in blocks of ``focus_block_min_minutes``
  to ``focus_block_max_minutes``, earliest first inside the focus window, then anywhere in the
  window; never over a counted event, ``meeting_buffer_minutes`` clear of meetings, never in
  the break, outside the window, on a non-workday or on leave.

Overtime streaks and weekend work become :class:`Proposal` s for the digest, never blocks.
Times are int64 epoch seconds, as in the engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from balanced_calendar.engine.columns import EventArrays
from balanced_calendar.engine.intervals import union
from balanced_calendar.engine.timeline import Timeline, build_timeline, counted_mask
from balanced_calendar.model import Finding, Policy
from balanced_calendar.model.blockid import block_id
from balanced_calendar.planner.settings import PlanSettings
from balanced_calendar.timezones import load_zone
from policies import back_to_back, long_day, overtime_streak, weekend_work

#: days of history read before today (the day before the first workday decides its recovery)
PAST_DAYS = 7
#: blocks start on this grid (seconds): 10:40, never 10:37
GRID = 300

Interval = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Desired:
    """One block the person should have: ``[start, end)`` in epoch seconds."""

    block_id: str
    date: dt.date
    kind: str  # focus | recovery | break
    slot: int
    start: int
    end: int

    @property
    def minutes(self) -> int:
        return (self.end - self.start) // 60

    def local(self, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
        return (dt.datetime.fromtimestamp(self.start, tz), dt.datetime.fromtimestamp(self.end, tz))


@dataclass(frozen=True, slots=True)
class Proposal:
    """Something only the person can decide, shown in the digest: never written silently."""

    kind: str  # recovery_leave | meeting_free_day
    date: dt.date
    reason: str  # the rule that called for it: overtime_streak | weekend_work


@dataclass(frozen=True, slots=True)
class DesiredPlan:
    """The blocks of a person's next workdays, and their proposals."""

    workdays: tuple[dt.date, ...]
    blocks: tuple[Desired, ...]
    proposals: tuple[Proposal, ...]
    #: the horizon in epoch seconds: from now to the end of the last planned workday
    start: int
    end: int


def horizon_dates(today: dt.date, settings: PlanSettings) -> tuple[dt.date, dt.date]:
    """The local dates the timeline must cover: a week back and enough ahead for the workdays."""
    ahead = max(14, settings.numbers.horizon_workdays * 3 + 7)  # room for holidays and leave
    return today - dt.timedelta(days=PAST_DAYS), today + dt.timedelta(days=ahead)


def plan_blocks(columns: EventArrays, policy: Policy, settings: PlanSettings, *, zone: str,
                now: dt.datetime, pseudonym: str, keep: Sequence[Interval] = ()) -> DesiredPlan:
    """The blocks ``pseudonym`` should have on their next workdays (see the module doc).

    ``columns`` are their stored events (own blocks among them are ignored: they are not
    counted events); ``keep`` are intervals new blocks must not overlap (own blocks the user
    edited, blocks already under way). Only blocks starting after ``now`` are returned.
    """
    zone = str(load_zone(zone).key)
    today = now.astimezone(load_zone(zone)).date()
    first, last = horizon_dates(today, settings)
    t = build_timeline(columns, policy, zone=zone, start=first, end=last, person=pseudonym)
    n = settings.numbers
    d = t.days
    offset = (today - first).days
    workday = d.is_workday.copy()
    workday[:offset] = False
    days = np.flatnonzero(workday)[:n.horizon_workdays]
    now_s = int(now.timestamp())
    if days.size == 0:
        return DesiredPlan((), (), (), now_s, now_s)

    counted = counted_mask(columns, policy)
    busy = union(columns.start[counted], columns.end[counted])
    meets = counted & (columns.others >= 1)
    buffer = n.meeting_buffer_minutes * 60
    near = union(np.concatenate([columns.start[meets] - buffer, busy[0]]),
                 np.concatenate([columns.end[meets] + buffer, busy[1]]))
    kept = sorted((int(a), int(b)) for a, b in keep if b > a)

    heavy = (d.after_s >= n.recovery_after_hours_minutes * 60)
    heavy[long_day.long_days(t, policy)] = True
    chain_day, _chain_start, chain_end = back_to_back.chains(t, policy)

    blocks: list[Desired] = []
    all_workdays = np.flatnonzero(d.is_workday)
    for i in days.tolist():
        date = t.calendar.dates[i]
        w0, w1 = int(d.w_start[i]), int(d.w_end[i])
        b0, b1 = int(d.b_start[i]), int(d.b_end[i])
        window = [(w0, b0), (b1, w1)] if b1 > b0 else [(w0, w1)]
        window = [(a, b) for a, b in window if b > a]
        hard = _within(busy, w0, w1) + _within_list(kept, w0, w1)
        placed: list[Interval] = []
        if settings.recovery:
            before = all_workdays[all_workdays < i]
            since = int(before[-1]) if before.size else 0
            if heavy[since:i].any():
                slot = (w0, w0 + n.recovery_minutes * 60)
                if _fits(slot, window, hard):
                    blocks.append(Desired(block_id(pseudonym, date, "recovery", 0), date, "recovery", 0, *slot))
                    placed.append(slot)
            for slot_no, end in enumerate(chain_end[chain_day == i].tolist()):
                slot = (int(end), int(end) + n.back_to_back_break_minutes * 60)
                if w0 <= slot[0] < w1 and _fits(slot, window, hard + placed):
                    blocks.append(Desired(block_id(pseudonym, date, "break", slot_no), date, "break", slot_no, *slot))
                    placed.append(slot)
        if settings.focus and n.focus_target_minutes > 0:
            avoid = sorted(_within(near, w0, w1) + _within_list(kept, w0, w1) + placed)
            free = _subtract(window, avoid)
            f0, f1 = _focus_window(zone, date, n.focus_window)
            focus = _place_focus(free, (f0, f1), n.focus_target_minutes * 60, n.focus_block_min_minutes * 60,
                                 n.focus_block_max_minutes * 60)
            for slot_no, slot in enumerate(focus):
                blocks.append(Desired(block_id(pseudonym, date, "focus", slot_no), date, "focus", slot_no, *slot))
    blocks = [b for b in blocks if b.start > now_s]
    blocks.sort(key=lambda b: (b.start, b.kind))
    workdays = tuple(t.calendar.dates[i] for i in days.tolist())
    horizon_end = int(d.day_end[int(days[-1])])
    return DesiredPlan(workdays, tuple(blocks), _proposals(t, policy, workdays), now_s, horizon_end)


# -- placing -------------------------------------------------------------------------------
def _within(intervals: tuple[np.ndarray, np.ndarray], lo: int, hi: int) -> list[Interval]:
    """The sorted disjoint ``intervals`` that overlap ``[lo, hi)``, as Python pairs."""
    starts, ends = intervals
    a = int(np.searchsorted(ends, lo, side="right"))
    b = int(np.searchsorted(starts, hi, side="left"))
    return list(zip(starts[a:b].tolist(), ends[a:b].tolist()))


def _within_list(intervals: Sequence[Interval], lo: int, hi: int) -> list[Interval]:
    return [(a, b) for a, b in intervals if a < hi and b > lo]


def _fits(slot: Interval, window: Sequence[Interval], busy: Sequence[Interval]) -> bool:
    """``slot`` lies inside one piece of ``window`` and overlaps nothing ``busy``."""
    inside = any(a <= slot[0] and slot[1] <= b for a, b in window)
    return inside and not any(a < slot[1] and b > slot[0] for a, b in busy)


def _subtract(pieces: Sequence[Interval], busy: Sequence[Interval]) -> list[Interval]:
    """``pieces`` minus ``busy`` (both sorted), as sorted disjoint intervals."""
    out: list[Interval] = []
    for a, b in pieces:
        cursor = a
        for s, e in busy:
            if e <= cursor or s >= b:
                continue
            if s > cursor:
                out.append((cursor, s))
            cursor = max(cursor, e)
        if cursor < b:
            out.append((cursor, b))
    return out


def _take(free: Sequence[Interval], lo: int, hi: int, wanted: int, least: int, most: int
          ) -> list[Interval]:
    """Blocks of ``least``..``most`` seconds from the ``free`` parts of ``[lo, hi)``, earliest
    first, together at most ``wanted`` seconds."""
    out: list[Interval] = []
    for a, b in free:
        a, b = max(a, lo), min(b, hi)
        a = -(-a // GRID) * GRID
        while wanted >= least and b - a >= least:
            length = min(b - a, most, wanted)
            out.append((a, a + length))
            wanted -= length
            a = -(-(a + length) // GRID) * GRID
        if wanted < least:
            break
    return out


def _place_focus(free: list[Interval], focus_window: Interval, target: int, least: int, most: int
                 ) -> list[Interval]:
    first = _take(free, focus_window[0], focus_window[1], target, least, most)
    rest = target - sum(b - a for a, b in first)
    if rest >= least:
        left = _subtract(free, first)
        first += _take(left, -(2**62), 2**62, rest, least, most)
    return sorted(first)


@lru_cache(maxsize=4096)
def _focus_window(zone: str, date: dt.date, window: tuple[int, int]) -> Interval:
    tz = load_zone(zone)
    midnight = dt.datetime.combine(date, dt.time(), tzinfo=tz)

    def at(minutes: int) -> int:
        wall = midnight + dt.timedelta(minutes=minutes)  # wall-clock arithmetic in the zone
        return int(wall.timestamp())

    return at(window[0]), at(window[1])


# -- proposals ------------------------------------------------------------------------------
_PROPOSE = {"overtime_streak": ("recovery_leave", "end"), "weekend_work": ("meeting_free_day", "date")}


def _proposals(t: Timeline, policy: Policy, workdays: tuple[dt.date, ...]) -> tuple[Proposal, ...]:
    findings = [f for rule in (overtime_streak, weekend_work) for f in rule.evaluate(t, policy)]
    return proposals_from(findings, workdays)


def proposals_from(findings: Iterable[Finding], workdays: Sequence[dt.date]) -> tuple[Proposal, ...]:
    """Pure: a recovery-leave day after each overtime streak, a meeting-free day after weekend
    work, each on the first of ``workdays`` after the finding (none when no workday follows).
    Other findings are ignored. The planner passes its own findings and horizon; the weekly
    digest the stored findings of the week and the workdays of the week ahead."""
    found: dict[tuple[str, dt.date], Proposal] = {}
    days = sorted(workdays)
    for finding in findings:
        if finding.rule not in _PROPOSE:
            continue
        kind, key = _PROPOSE[finding.rule]
        after = dt.date.fromisoformat(str(finding.fields[key]))
        target = next((day for day in days if day > after), None)
        if target is not None:
            found.setdefault((kind, target), Proposal(kind, target, finding.rule))
    return tuple(sorted(found.values(), key=lambda p: (p.date, p.kind)))
