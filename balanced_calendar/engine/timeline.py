"""One person's audited range as numpy columns (docs/rules.md), and how it is built.

The engine builds a :class:`Timeline` from :class:`~balanced_calendar.engine.columns.EventArrays`;
each rule in ``policies/`` is a pure function over it. Times are int64 seconds since the Unix
epoch (UTC), so arithmetic is exact and vectorised; :meth:`Timeline.clock` turns them back into
local ``HH:MM``. Nothing here loops per event or per minute in Python, and no pandas object is
made per person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from balanced_calendar.engine.calendar import RangeCalendar, range_calendar
from balanced_calendar.engine.columns import KIND_CODE, RESPONSE_CODE, SHOW_AS_CODE, STATUS_CODE, EventArrays
from balanced_calendar.engine.intervals import gaps, intersect_sorted, overlap, split_by_day, union
from balanced_calendar.model import Kind, Policy, Response, ShowAs, Status

#: "HH:MM" of every minute of a day, indexed by minutes since local midnight; [1440] is "24:00".
_HHMM = np.array([f"{m // 60:02d}:{m % 60:02d}" for m in range(24 * 60 + 1)], dtype=object)

_CANCELLED = STATUS_CODE[Status.CANCELLED]
_DECLINED = RESPONSE_CODE[Response.DECLINED]
_OOF = SHOW_AS_CODE[ShowAs.OOF]
_COUNTED_SHOW_AS = [SHOW_AS_CODE[ShowAs.BUSY], SHOW_AS_CODE[ShowAs.TENTATIVE]]
_NOT_WORK_KINDS = [KIND_CODE[Kind.OUT_OF_OFFICE], KIND_CODE[Kind.WORKING_LOCATION], KIND_CODE[Kind.OWN_BLOCK]]
_OUT_OF_OFFICE = KIND_CODE[Kind.OUT_OF_OFFICE]
_FOCUS = KIND_CODE[Kind.FOCUS]


@dataclass(frozen=True, slots=True)
class DayTable:
    """One entry per local date of the range, in order (arrays of length n)."""

    in_workweek: np.ndarray     # bool: weekday belongs to the policy's workweek
    is_holiday: np.ndarray      # bool: the policy calendar names a holiday
    holiday: tuple[str | None, ...]  # holiday name or None
    on_leave: np.ndarray        # bool: leave day (all-day OOO, or timed OOO >= share of the window)
    is_workday: np.ndarray      # bool: in workweek, not holiday, not leave
    day_start: np.ndarray       # int64: local midnight
    day_end: np.ndarray         # int64: next local midnight
    w_start: np.ndarray         # int64: working window W(D) (empty at day_start on non-workdays)
    w_end: np.ndarray
    b_start: np.ndarray         # int64: break inside W(D) (empty when none)
    b_end: np.ndarray
    mw_start: np.ndarray        # int64: meeting window (empty on non-workdays)
    mw_end: np.ndarray
    window_net_s: np.ndarray    # int64: |W(D)| - |break|
    work_s: np.ndarray          # int64 seconds (unions)
    meeting_s: np.ndarray
    after_s: np.ndarray
    first_start: np.ndarray     # int64, -1 when no counted time
    last_end: np.ndarray
    longest_free_s: np.ndarray  # float seconds, NaN on non-workdays


@dataclass(frozen=True, slots=True)
class MeetingTable:
    """One entry per (meeting, local day it touches), sorted by (day, piece_start)."""

    day: np.ndarray             # intp: index of the local date
    start: np.ndarray           # int64: the whole meeting
    end: np.ndarray
    piece_start: np.ndarray     # int64: the part on that day
    piece_end: np.ndarray
    organizer_is_self: np.ndarray  # bool

    def __len__(self) -> int:
        return int(self.day.size)


@dataclass(frozen=True, slots=True)
class Timeline:
    """A person's audited range: per-day figures, meeting pieces and the range calendar."""

    person: str
    timezone: str
    start: dt.date
    end: dt.date
    days: DayTable
    meetings: MeetingTable
    calendar: RangeCalendar

    def clock(self, instants: Sequence[int] | np.ndarray, day_index: Sequence[int] | np.ndarray) -> list[str]:
        """Local ``HH:MM`` of each instant, read on the given day (``24:00`` at or after its end)."""
        instants = np.asarray(instants, dtype=np.int64)
        day_index = np.asarray(day_index, dtype=np.intp)
        if instants.size == 0:
            return []
        elapsed = instants - self.days.day_start[day_index]
        at_end = instants >= self.days.day_end[day_index]
        minute = np.where(at_end, 24 * 60, np.clip(elapsed // 60, 0, 24 * 60 - 1))
        text = _HHMM[minute]
        # Days with an offset change (or instants outside their day): the zone's own wall clock.
        odd = np.flatnonzero(~at_end & (~self.calendar.regular[day_index] | (elapsed < 0)))
        if odd.size:
            tz = ZoneInfo(self.timezone)
            for i in odd.tolist():
                wall = dt.datetime.fromtimestamp(int(instants[i]), tz)
                text[i] = _HHMM[wall.hour * 60 + wall.minute]
        return text.tolist()

    def date_str(self, day_index: int) -> str:
        """ISO text of the date at ``day_index``."""
        return self.calendar.date_text[day_index]

    def date_texts(self, day_index: np.ndarray) -> list[str]:
        """ISO texts of the dates at ``day_index``."""
        texts = self.calendar.date_text
        return [texts[i] for i in day_index.tolist()]


def _leave_days(cal: RangeCalendar, ev: EventArrays, live: np.ndarray, oof: np.ndarray, timed: np.ndarray,
                share: float) -> np.ndarray:
    n = len(cal.dates)
    first = cal.dates[0].toordinal() - dt.date(1970, 1, 1).toordinal()
    whole = np.flatnonzero(ev.all_day & live & oof)
    on_leave = np.zeros(n, dtype=bool)
    if whole.size:
        s = ev.start[whole] // 86400
        e = np.maximum(ev.end[whole] // 86400, s + 1)
        a = np.maximum(s - first, 0)
        b = np.minimum(e - first, n)
        keep = b > a
        cover = np.zeros(n + 1, dtype=np.int64)
        np.add.at(cover, a[keep], 1)
        np.add.at(cover, b[keep], -1)
        on_leave = np.cumsum(cover)[:n] > 0
    # Timed out-of-office covering >= share of the day's working window.
    ooo = timed & live & oof
    o_start, o_end = union(ev.start[ooo], ev.end[ooo])
    if o_start.size:
        window = cal.w_end - cal.w_start
        seg, s2, e2 = intersect_sorted(cal.w_start, cal.w_end, o_start, o_end)
        covered = np.bincount(seg, weights=e2 - s2, minlength=n)
        on_leave |= (window > 0) & (covered >= share * window)
    return on_leave


def counted_mask(ev: EventArrays, policy: Policy) -> np.ndarray:
    """Which events are counted events (docs/rules.md): timed, live, busy or tentative, work, not too long."""
    live = (ev.status != _CANCELLED) & (ev.response != _DECLINED)
    show, kind = ev.show_as, ev.kind
    return (~ev.all_day & live & ((show == _COUNTED_SHOW_AS[0]) | (show == _COUNTED_SHOW_AS[1]))
            & (kind != _NOT_WORK_KINDS[0]) & (kind != _NOT_WORK_KINDS[1]) & (kind != _NOT_WORK_KINDS[2])
            & (ev.end - ev.start <= policy.thresholds.max_event_hours * 3600) & (ev.end > ev.start))


def build_timeline(ev: EventArrays, policy: Policy, *, zone: str, start: dt.date, end: dt.date,
                   person: str = "") -> Timeline:
    """Per-day figures and meeting pieces of the events ``ev`` over ``[start, end]`` in ``zone``.

    ``zone`` must be an IANA name. Applies the counted-event, meeting and leave rules of docs/rules.md.
    """
    cal = range_calendar(policy, zone, start, end)
    n = len(cal.dates)
    bounds = cal.bounds
    day_start, day_end = bounds[:-1], bounds[1:]

    timed = ~ev.all_day
    live = (ev.status != _CANCELLED) & (ev.response != _DECLINED)
    oof = (ev.show_as == _OOF) | (ev.kind == _OUT_OF_OFFICE)
    counted = counted_mask(ev, policy)
    meeting = counted & (ev.others >= 1)

    on_leave = _leave_days(cal, ev, live, oof, timed, policy.thresholds.leave_cover_share)
    is_workday = cal.in_workweek & ~cal.is_holiday & ~on_leave

    # Non-workdays have an empty window W(D) (and no break or meeting window).
    def only_workdays(values: np.ndarray) -> np.ndarray:
        return np.where(is_workday, values, day_start)

    w_start, w_end = only_workdays(cal.w_start), only_workdays(cal.w_end)
    b_start, b_end = only_workdays(cal.b_start), only_workdays(cal.b_end)

    # Counted time: union, cut at midnights.
    u_start, u_end = union(ev.start[counted], ev.end[counted])
    day, ps, pe, _ = split_by_day(u_start, u_end, bounds)
    work_s = np.bincount(day, weights=pe - ps, minlength=n).astype(np.int64)
    inside = np.bincount(day, weights=overlap(ps, pe, w_start[day], w_end[day]), minlength=n).astype(np.int64)
    first_start = np.full(n, -1, dtype=np.int64)
    last_end = np.full(n, -1, dtype=np.int64)
    if day.size:
        new_day = np.empty(day.size, dtype=bool)
        new_day[0] = True
        np.not_equal(day[1:], day[:-1], out=new_day[1:])  # pieces are in time order, so days ascend
        first_idx = np.flatnonzero(new_day)
        last_idx = np.append(first_idx[1:], day.size) - 1
        first_start[day[first_idx]] = ps[first_idx]
        last_end[day[first_idx]] = pe[last_idx]

    # Meeting time: union of meetings.
    m_start, m_end = union(ev.start[meeting], ev.end[meeting])
    mday, mps, mpe, _ = split_by_day(m_start, m_end, bounds)
    meeting_s = np.bincount(mday, weights=mpe - mps, minlength=n).astype(np.int64)

    # Longest free stretch of W(D) minus break minus counted events (focus counts as free).
    busy = counted & (ev.kind != _FOCUS)
    f_start, f_end = gaps(*union(ev.start[busy], ev.end[busy]))
    seg_start = np.concatenate([w_start, b_end])
    seg_end = np.concatenate([b_start, w_end])
    nonempty = np.flatnonzero(seg_end > seg_start)
    seg, fs, fe = intersect_sorted(seg_start[nonempty], seg_end[nonempty], f_start, f_end)
    longest = np.zeros(n, dtype=np.float64)
    np.maximum.at(longest, nonempty[seg] % n, (fe - fs).astype(np.float64))
    longest[~is_workday] = np.nan

    days = DayTable(
        in_workweek=cal.in_workweek, is_holiday=cal.is_holiday, holiday=cal.holiday,
        on_leave=on_leave, is_workday=is_workday, day_start=day_start, day_end=day_end,
        w_start=w_start, w_end=w_end, b_start=b_start, b_end=b_end,
        mw_start=only_workdays(cal.mw_start), mw_end=only_workdays(cal.mw_end),
        window_net_s=(w_end - w_start) - (b_end - b_start),
        work_s=work_s, meeting_s=meeting_s, after_s=work_s - inside,
        first_start=first_start, last_end=last_end, longest_free_s=longest,
    )

    # Individual meetings, cut at midnights (for per-meeting rules).
    idx = np.flatnonzero(meeting)
    order = idx[np.argsort(ev.start[idx], kind="stable")]
    pday, pps, ppe, src = split_by_day(ev.start[order], ev.end[order], bounds)
    by_day = np.lexsort((pps, pday))  # stable sort by (day, piece_start)
    src = order[src[by_day]]
    meetings = MeetingTable(day=pday[by_day], start=ev.start[src], end=ev.end[src], piece_start=pps[by_day],
                            piece_end=ppe[by_day], organizer_is_self=ev.organizer_is_self[src])
    return Timeline(person=person, timezone=zone, start=start, end=end, days=days, meetings=meetings,
                    calendar=cal)
