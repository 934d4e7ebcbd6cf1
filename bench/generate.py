"""Deterministic synthetic calendars for the audit benchmark.

``person_events(person, weeks=52, seed=...)`` returns the normalised
:class:`balanced_calendar.model.Event` instances one person would get from a connector
(recurrences expanded) for ``weeks`` ISO weeks starting on :data:`START` — about 29
instances a week, ~1,500 a person-year. The same ``(seed, person)`` always gives the same
events (for a given numpy version), whichever process generates them, so benchmark workers
generate their own people instead of receiving them pickled.

The mix (per person, with per-person propensities drawn once):

* meetings with others (``others >= 1``) on workdays, 15-minute grid, mostly inside
  09:00–15:00 but some early, over lunch or late; ~7 % tentative, ~2 % declined,
  ~2 % cancelled, ~4 % shown as free, ~1 % unanswered; ~30 % organised by the person;
* solo work blocks and focus blocks (``kind = focus``);
* evenings (after 17:00, a few past midnight) and weekend work, by propensity; ASN public
  holidays and cuti bersama are treated like weekends (occasional work only);
* one all-day ``working_location`` event a week, a few all-day out-of-office spells
  (multi-day leave), a few timed half-day OOO, an occasional > 16 h "trip" marker;
* a few events written in another Indonesian zone (the organiser's), as providers do.

People live in Asia/Jakarta (WIB), Asia/Makassar (WITA) or Asia/Jayapura (WIT).

Run ``python bench/generate.py --people 3`` for counts per person.
"""

from __future__ import annotations

import argparse
import datetime as dt
from functools import lru_cache
from itertools import chain
from zoneinfo import ZoneInfo

import numpy as np

from balanced_calendar.model import Event, Kind, Response, ShowAs, Status
from balanced_calendar.policyfile import load_policy

#: Monday of the first generated week (the 52 weeks include Ramadan, Eid and cuti bersama).
START = dt.date(2026, 1, 5)
ZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")
ZONE_WEIGHTS = (0.55, 0.30, 0.15)
DEFAULT_SEED = 20260105

_TZ = {z: ZoneInfo(z) for z in ZONES}
_MEETING_LEN = (30, 45, 60, 60, 60, 90, 120)  # minutes, weighted by repetition
_MINUTES = [dt.timedelta(minutes=m) for m in range(60 * 60)]  # up to 60 h, shared


def person_zone(person: int, seed: int = DEFAULT_SEED) -> str:
    """The person's IANA zone (stable, drawn from the same stream as the events)."""
    rng = np.random.default_rng([seed, person])
    return ZONES[int(rng.choice(len(ZONES), p=ZONE_WEIGHTS))]


def audit_range(weeks: int = 52) -> tuple[dt.date, dt.date]:
    """The local dates (inclusive) the generated calendars cover."""
    return START, START + dt.timedelta(days=7 * weeks - 1)


@lru_cache(maxsize=8)
def _holiday_offsets(weeks: int) -> frozenset[int]:
    """Day offsets from :data:`START` that are ASN holidays (incl. cuti bersama): treated like weekends."""
    calendar = load_policy("asn-id").holidays
    return frozenset(i for i in range(7 * weeks) if calendar.name(START + dt.timedelta(days=i)) is not None)


def person_events(person: int, weeks: int = 52, seed: int = DEFAULT_SEED) -> list[Event]:
    """All event instances of ``person`` over ``weeks`` weeks from :data:`START`."""
    rng = np.random.default_rng([seed, person])
    zone = ZONES[int(rng.choice(len(ZONES), p=ZONE_WEIGHTS))]
    tz = _TZ[zone]
    uid_prefix = f"bench-{seed}-{person}-"
    n_days = 7 * weeks
    holidays = _holiday_offsets(weeks)

    # Per-person propensities.
    meetings_per_day = rng.uniform(3.3, 5.3)
    solo_per_day = rng.uniform(0.7, 1.3)
    focus_per_day = rng.uniform(0.1, 0.7)
    evening_p = rng.uniform(0.03, 0.35)
    early_p = rng.uniform(0.0, 0.2)
    weekend_p = rng.uniform(0.0, 0.5)
    organiser_p = rng.uniform(0.1, 0.5)
    # Counts per day, drawn up front; then a stream of uniforms in [0, 1) for everything else
    # (scalar numpy calls would cost more than building the events).
    n_meetings = rng.poisson(meetings_per_day, n_days).tolist()
    n_solo = rng.poisson(solo_per_day, n_days).tolist()
    n_focus = rng.poisson(focus_per_day, n_days).tolist()
    n_weekend = rng.poisson(0.3, n_days).tolist()
    n_leave = int(rng.poisson(3 * weeks / 52))
    u = chain.from_iterable(iter(lambda: rng.random(4096).tolist(), None)).__next__

    def between(lo: int, hi: int) -> int:  # integer in [lo, hi)
        return lo + int(u() * (hi - lo))

    def pick(options: tuple[int, ...]) -> int:
        return options[int(u() * len(options))]

    out: list[Event] = []
    append = out.append
    k = 0

    def add(start: dt.datetime | dt.date, end: dt.datetime | dt.date, **fields: object) -> None:
        nonlocal k
        append(Event(uid_prefix + str(k), start, end, **fields))  # type: ignore[arg-type]
        k += 1

    # Leave spells: ~3 multi-day all-day OOO a year (1–5 days), timed half days below.
    leave_days: set[int] = set()
    for _ in range(n_leave):
        first, length = between(0, n_days), between(1, 6)
        first_day = START + dt.timedelta(days=first)
        add(first_day, first_day + dt.timedelta(days=length), all_day=True, show_as=ShowAs.OOF,
            kind=Kind.OUT_OF_OFFICE if u() < 0.7 else Kind.EVENT)
        leave_days.update(range(first, first + length))

    for i in range(n_days):
        day = START + dt.timedelta(days=i)
        midnight = dt.datetime(day.year, day.month, day.day, tzinfo=tz)

        def at(minute: int) -> dt.datetime:
            return midnight + _MINUTES[minute]

        weekday = i % 7  # START is a Monday
        if weekday >= 5 or i in holidays:
            if u() < weekend_p:  # weekend work
                for _ in range(1 + n_weekend[i]):
                    s = between(8 * 4, 20 * 4) * 15
                    add(at(s), at(s + pick(_MEETING_LEN)), others=(u() < 0.3) * between(1, 4))
            continue
        if weekday == 0 or u() < 0.05:
            add(day, day + dt.timedelta(days=1), all_day=True, show_as=ShowAs.FREE, kind=Kind.WORKING_LOCATION)
        if i in leave_days:
            if u() < 0.15:  # a stray invitation accepted while on leave
                s = between(9 * 4, 15 * 4) * 15
                add(at(s), at(s + 60), others=3, response=Response.ACCEPTED, organizer_is_self=False)
            continue
        if u() < 0.015:  # timed half-day out of office
            add(at(7 * 60 + 30), at(12 * 60), kind=Kind.OUT_OF_OFFICE, show_as=ShowAs.OOF)
        if u() < 0.01:  # a trip marker longer than max_event_hours
            add(at(5 * 60), at(5 * 60 + 60 * between(18, 50)), others=0)

        # Meetings: 15-minute grid, mostly 09:00–15:00.
        for _ in range(n_meetings[i]):
            r = u()
            if r < 0.75:
                s = between(9 * 4, 15 * 4) * 15
            elif r < 0.9:
                s = between(7 * 4 + 2, 9 * 4) * 15
            else:
                s = between(15 * 4, 18 * 4) * 15
            length = pick(_MEETING_LEN)
            own = u() < organiser_p
            r = u()
            status, response, show = Status.CONFIRMED, (Response.ORGANIZER if own else Response.ACCEPTED), ShowAs.BUSY
            if r < 0.02:
                status = Status.CANCELLED
            elif r < 0.05 and not own:
                response = Response.DECLINED
            elif r < 0.11:
                status, show = Status.TENTATIVE, ShowAs.TENTATIVE
                if not own:
                    response = Response.TENTATIVE
            elif r < 0.15:
                show = ShowAs.FREE
            elif r < 0.17 and not own:
                response = Response.NEEDS_ACTION
            begin = at(s)
            if u() >= 0.9:  # written in the organiser's zone
                begin = begin.astimezone(_TZ[ZONES[between(0, 3)]])
            add(begin, begin + _MINUTES[length], status=status, response=response, show_as=show,
                others=between(1, 12), organizer_is_self=own)

        # Solo work and focus blocks inside the day.
        for _ in range(n_solo[i]):
            s = between(7 * 4 + 2, 16 * 4) * 15
            add(at(s), at(s + pick((30, 60, 90, 120))), others=0)
        for _ in range(n_focus[i]):
            s = between(7 * 4 + 2, 11 * 4) * 15
            add(at(s), at(s + pick((60, 90, 120))), kind=Kind.FOCUS, others=0)

        if u() < early_p:  # early start
            s = between(5 * 4, 7 * 4) * 15
            add(at(s), at(s + pick((30, 60, 90))), others=between(0, 3))
        if u() < evening_p:  # evening work, a few past midnight
            s = between(17 * 4, 23 * 4) * 15
            add(at(s), at(s + pick((30, 60, 90, 120, 180))), others=(u() < 0.4) * between(1, 5))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=3)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    total = 0
    for p in range(args.people):
        events = person_events(p, args.weeks, args.seed)
        total += len(events)
        by_kind: dict[str, int] = {}
        for e in events:
            key = "all-day" if e.all_day else ("meeting" if e.others else "solo") + f"/{e.kind}"
            by_kind[key] = by_kind.get(key, 0) + 1
        print(f"person {p} ({person_zone(p, args.seed)}): {len(events)} events, "
              f"{len(events) / args.weeks:.1f}/week  {dict(sorted(by_kind.items()))}")
    print(f"total {total} events, {total / max(args.people, 1):.0f} per person")


if __name__ == "__main__":
    main()
