"""Planner benchmark: plan N people x 10 workdays from the store, without writes.

Setup (not timed): a fresh SQLite store with N enrolled people, each with a random working
fortnight of meetings and solo work (about 40 events, some after hours and back to back),
stored as a sync would store them. Timed, per run: for every person, load their events of the
horizon from the store as columns, compute the desired blocks (engine timeline, recovery,
breaks, focus) and reconcile them with the own-block records and tombstones the store holds.
Nothing is written to any calendar. Prints each run and the median.

    python bench/bench_planner.py --people 1000 --repeat 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from balanced_calendar.model import Event  # noqa: E402
from balanced_calendar.planner.reconcile import reconcile  # noqa: E402
from balanced_calendar.planner.run import desired_for, read_bounds, title_of  # noqa: E402
from balanced_calendar.planner.settings import settings_for  # noqa: E402
from balanced_calendar.policyfile import load_policy  # noqa: E402
from balanced_calendar.store import PersonRecord, SyncState, open_store  # noqa: E402

ZONE = ZoneInfo("Asia/Jakarta")
NOW = dt.datetime(2026, 12, 13, 20, 0, tzinfo=ZONE)


def events_of(rng: random.Random) -> list[Event]:
    out = []
    for day in range(-7, 21):
        date = NOW.date() + dt.timedelta(days=day)
        if date.isoweekday() > 5:
            continue
        for i in range(rng.randint(0, 4)):
            start = dt.datetime.combine(date, dt.time(rng.randint(7, 17), rng.choice((0, 30))), ZONE)
            out.append(Event(uid=f"{day}-{i}", start=start, end=start + dt.timedelta(minutes=rng.choice((30, 60, 90))),
                             others=rng.choice((0, 2, 5)), organizer_is_self=False))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    policy = load_policy("asn-id")
    settings = settings_for(policy)
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(Path(folder))
        rng = random.Random(7)
        people = []
        t0 = time.perf_counter()
        for n in range(args.people):
            person = store.upsert_person(PersonRecord(f"p{n}@agency.go.id", "memory", protect=True))
            lo = dt.datetime.combine(NOW.date() - dt.timedelta(days=8), dt.time(), ZONE)
            hi = lo + dt.timedelta(days=40)
            store.replace_events(person.email, "primary", lo, hi, events_of(rng),
                                 SyncState(person.email, "primary", window_start=lo, window_end=hi))
            people.append(person)
        print(f"setup: {args.people} people stored in {time.perf_counter() - t0:.1f} s")
        runs = []
        for run in range(args.repeat):
            t0 = time.perf_counter()
            blocks = 0
            for person in people:
                plan = desired_for(store, person, policy, settings, NOW)
                lo, hi = read_bounds(NOW, person.timezone, settings)
                diff = reconcile(plan.blocks, [], store.own_blocks(person.email, lo.date(), hi.date()),
                                 store.tombstones(person.email), now=int(NOW.timestamp()),
                                 read_start=int(lo.timestamp()), read_end=int(hi.timestamp()),
                                 title=title_of(person.language))
                blocks += len(diff.changes)
            runs.append(time.perf_counter() - t0)
            print(f"run {run + 1}: {args.people} people x 10 workdays planned in {runs[-1]:.2f} s "
                  f"({blocks} blocks)")
        print(f"median: {statistics.median(runs):.2f} s")


if __name__ == "__main__":
    main()
