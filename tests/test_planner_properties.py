"""Invariants of the planner over random weeks of meetings (hypothesis), in two zones.

Whatever the calendar holds: focus blocks never overlap a counted event and keep 10 minutes
from meetings; every block lies inside the working window and outside the break, on a
workday; a second run changes nothing; foreign events are never touched; a run that would
delete more than the limit writes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from balanced_calendar.engine import events_to_columns
from balanced_calendar.engine.timeline import build_timeline
from balanced_calendar.model import Event, Kind, ShowAs
from balanced_calendar.planner.apply import TooManyDeletes
from balanced_calendar.planner.desired import plan_blocks
from balanced_calendar.planner.settings import PlanSettings, settings_for
from balanced_calendar.policyfile import load_policy
from tests.planner_site import at, make_site

ZONES = ("Asia/Jakarta", "Europe/Berlin")
FIRST = dt.date(2026, 12, 14)
NOW = "2026-12-13 20:00"
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def calendars(draw: st.DrawFn) -> tuple[str, list[Event]]:
    zone = draw(st.sampled_from(ZONES))
    events = []
    for i in range(draw(st.integers(0, 25))):
        day = FIRST + dt.timedelta(days=draw(st.integers(0, 13)))
        start = draw(st.integers(6 * 12, 19 * 12)) * 5  # minutes, on a 5-minute grid
        length = draw(st.integers(1, 36)) * 5
        begin = dt.datetime.combine(day, dt.time(), tzinfo=at(NOW, zone).tzinfo) + dt.timedelta(minutes=start)
        events.append(Event(
            uid=f"ev{i}", start=begin, end=begin + dt.timedelta(minutes=length),
            others=draw(st.sampled_from([0, 0, 1, 4])), organizer_is_self=False,
            show_as=draw(st.sampled_from([ShowAs.BUSY, ShowAs.BUSY, ShowAs.TENTATIVE, ShowAs.FREE])),
        ))
    return zone, events


def _minutes(d: dt.datetime) -> int:
    return d.hour * 60 + d.minute


@SETTINGS
@given(calendars())
def test_blocks_keep_clear_of_work_and_stay_inside_the_window(case):
    zone, events = case
    policy = load_policy("asn-id")
    columns = events_to_columns(events)
    plan = plan_blocks(columns, policy, settings_for(policy), zone=zone, now=at(NOW, zone), pseudonym="p-x")
    tl = build_timeline(columns, policy, zone=zone, start=FIRST - dt.timedelta(days=1),
                        end=FIRST + dt.timedelta(days=40))
    counted = [e for e in events if e.show_as is not ShowAs.FREE]
    for block in plan.blocks:
        i = (block.date - tl.start).days
        assert tl.days.is_workday[i]
        assert tl.days.w_start[i] <= block.start < block.end <= tl.days.w_end[i]
        assert block.end <= tl.days.b_start[i] or block.start >= tl.days.b_end[i]
        for e in counted:
            s, t = int(e.start.timestamp()), int(e.end.timestamp())
            gap = 600 if e.others and block.kind == "focus" else 0
            assert block.end + gap <= s or block.start >= t + gap, (block, e)
        if block.kind == "focus":
            assert 60 <= block.minutes <= 120
    for date in plan.workdays:
        assert sum(b.minutes for b in plan.blocks if b.date == date and b.kind == "focus") <= 120
    for a, b in zip(plan.blocks, plan.blocks[1:]):
        assert a.end <= b.start  # own blocks never overlap each other


@SETTINGS
@given(calendars(), calendars())
def test_runs_are_idempotent_and_never_touch_foreign_events(first, later):
    zone, events = first
    with tempfile.TemporaryDirectory() as folder:
        site = make_site(Path(folder), events, now=NOW, zone=zone)
        foreign = dict(site.server.events)
        site.plan()
        # the calendar changes: new meetings (another client's edits)
        for e in later[1]:
            site.server.put(dataclasses.replace(e, uid="later-" + e.uid,
                                                start=e.start.astimezone(site.now.tzinfo),
                                                end=e.end.astimezone(site.now.tzinfo)))
        foreign.update({pid: e for pid, e in site.server.events.items() if e.kind is not Kind.OWN_BLOCK})
        site.plan()
        writes = site.server.write_count
        again = site.plan()
        assert again.diff.changes == () and site.server.write_count == writes
        for pid, event in foreign.items():
            assert site.server.events[pid] == event
        blocks = site.blocks()
        assert len({b.uid for b in blocks}) == len(blocks)
        meetings = [e for e in site.server.events.values() if e.kind is not Kind.OWN_BLOCK
                    and e.show_as is not ShowAs.FREE]
        assert not any(b.start < m.end and m.start < b.end for b in blocks for m in meetings)


@SETTINGS
@given(st.integers(0, 12))
def test_deletion_guard(limit):
    with tempfile.TemporaryDirectory() as folder:
        site = make_site(Path(folder))
        site.plan()
        before = len(site.blocks())
        numbers = dataclasses.replace(site.settings.numbers, max_deletes=limit)
        site.settings = PlanSettings(numbers=numbers, focus=False)
        writes = site.server.write_count
        if before > limit:
            with pytest.raises(TooManyDeletes):
                site.plan()
            assert site.server.write_count == writes and len(site.blocks()) == before
        else:
            site.plan()
            assert site.blocks() == []
