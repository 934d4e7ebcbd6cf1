"""The planner in the embedded default: every demo person's blocks as an ICS file.

The demo's calendars are ICS files, which the service only reads, so nothing is written to
them: the planner plans each person *as if* they had ``protect = true`` and had been planned
before the period began, from what the store holds after the sync (the calendar as it ended
up), through the same pure functions the ``plan`` command uses
(:func:`balanced_calendar.planner.run.desired_for`), with the horizon stretched over the
period. Each person's blocks go to ``<out>/blocks/<pseudonym>.ics`` (import it, or subscribe
to it, in any calendar app); the summary shows the focus time they protect per person-week
(median and quartiles), over every person and every ISO week of the period.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from balanced_calendar.planner.ics import blocks_ics
from balanced_calendar.planner.run import desired_for, title_of
from balanced_calendar.planner.settings import settings_for
from balanced_calendar.timezones import load_zone


@dataclass(frozen=True)
class BlockFigures:
    """What the demo's blocks protect; hours are per person and ISO week."""

    folder: Path
    people: int
    weeks: int
    focus_hours: tuple[float, float, float]  # first quartile, median, third quartile
    recovery_blocks: int
    breaks: int


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """Quartiles with linear interpolation between the sorted values (as ``numpy.percentile``)."""
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else values * 3
    return q1, q2, q3


def write_block_files(rt: Any, start: dt.date, end: dt.date, folder: Path) -> BlockFigures:
    """Plan everyone enrolled over ``[start, end]`` without writing to any calendar; write one
    ICS file per person into ``folder`` and return the figures of the summary."""
    folder.mkdir(parents=True, exist_ok=True)
    mondays = sorted({start + dt.timedelta(days=i - (start + dt.timedelta(days=i)).weekday())
                      for i in range((end - start).days + 1)})
    focus: list[float] = []
    recovery = breaks = 0
    stamp = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.timezone.utc)
    for person in rt.store.list_people():
        settings = settings_for(rt.policy, rt.config, person.email)
        settings = replace(settings, numbers=replace(settings.numbers, horizon_workdays=(end - start).days + 1))
        now = dt.datetime.combine(start, dt.time(), tzinfo=load_zone(person.timezone))
        plan = desired_for(rt.store, person, rt.policy, settings, now)
        blocks = [b for b in plan.blocks if start <= b.date <= end]
        title = title_of(person.language)
        (folder / f"{person.pseudonym}.ics").write_bytes(
            blocks_ics(blocks, title, name=f"balanced-calendar {person.pseudonym}", stamp=stamp))
        minutes = dict.fromkeys(mondays, 0)
        for b in blocks:
            if b.kind == "focus":
                minutes[b.date - dt.timedelta(days=b.date.weekday())] += b.minutes
        focus += [m / 60 for m in minutes.values()]
        recovery += sum(1 for b in blocks if b.kind == "recovery")
        breaks += sum(1 for b in blocks if b.kind == "break")
    people = len(focus) // len(mondays)
    return BlockFigures(folder, people, len(mondays), quartiles(focus) if focus else (0.0, 0.0, 0.0),
                        recovery, breaks)
