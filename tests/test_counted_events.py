"""What counts as work (docs/rules.md, "counted event") and how day figures are measured."""

from __future__ import annotations

import pytest

from balanced_calendar.model import Kind, Response, ShowAs, Status
from helpers import all_day, audit, day, ev, meeting

MON = "2026-12-14"


def test_a_plain_event_inside_hours_counts_as_work_not_after_hours():
    r = audit([ev(MON, "09:00", "11:00")], MON)
    d = day(r, MON)
    assert (d["work_minutes"], d["after_hours_minutes"], d["meeting_minutes"]) == (120, 0, 0)
    assert (d["first_start"], d["last_end"]) == ("09:00", "11:00")


@pytest.mark.parametrize("fields", [
    {"status": Status.CANCELLED},
    {"response": Response.DECLINED},
    {"show_as": ShowAs.FREE},
    {"show_as": ShowAs.OOF},
    {"show_as": ShowAs.WORKING_ELSEWHERE},
    {"kind": Kind.OUT_OF_OFFICE},
    {"kind": Kind.WORKING_LOCATION},
    {"kind": Kind.OWN_BLOCK, "title": "Fokus"},
], ids=lambda f: "-".join(str(v) for v in f.values()))
def test_events_that_are_not_work_do_not_count(fields):
    r = audit([ev(MON, "18:00", "20:00", **fields)], MON)
    assert day(r, MON)["work_minutes"] == 0
    assert day(r, MON)["first_start"] is None
    assert r.findings == []


def test_tentative_status_and_tentative_answer_both_count():
    r = audit([ev(MON, "18:00", "19:00", status=Status.TENTATIVE),
               ev(MON, "19:00", "20:00", response=Response.TENTATIVE, show_as=ShowAs.TENTATIVE)], MON)
    assert day(r, MON)["after_hours_minutes"] == 120


def test_needs_action_invites_count_as_work():
    r = audit([meeting(MON, "09:00", "10:00", response=Response.NEEDS_ACTION)], MON)
    assert day(r, MON)["meeting_minutes"] == 60


def test_all_day_events_never_count_as_work():
    r = audit([all_day(MON, "2026-12-15")], MON)
    assert day(r, MON)["work_minutes"] == 0
    assert day(r, MON)["on_leave"] is False  # a busy all-day marker is not leave


def test_sixteen_hour_event_counts_but_a_longer_marker_does_not():
    exactly = audit([ev(MON, "06:00", "22:00")], MON)
    assert day(exactly, MON)["work_minutes"] == 16 * 60
    longer = audit([ev(MON, "06:00", "22:01")], MON)
    assert day(longer, MON)["work_minutes"] == 0


def test_overlapping_events_count_once():
    r = audit([meeting(MON, "09:00", "11:00"), meeting(MON, "10:00", "12:00"), ev(MON, "09:30", "10:30")], MON)
    d = day(r, MON)
    assert d["work_minutes"] == 180
    assert d["meeting_minutes"] == 180


def test_meeting_needs_someone_else():
    r = audit([ev(MON, "09:00", "10:00", others=0), ev(MON, "10:00", "11:00", others=1)], MON)
    assert day(r, MON)["meeting_minutes"] == 60


def test_event_crossing_midnight_counts_on_both_days_and_ends_at_2400():
    r = audit([ev(MON, "22:00", "02:00", end_day="2026-12-15")], MON, "2026-12-15")
    mon, tue = day(r, MON), day(r, "2026-12-15")
    assert (mon["work_minutes"], mon["last_end"]) == (120, "24:00")
    assert (tue["work_minutes"], tue["first_start"]) == (120, "00:00")
    assert mon["after_hours_minutes"] == 120 and tue["after_hours_minutes"] == 120


def test_after_hours_is_time_outside_the_window_including_early_morning():
    r = audit([ev(MON, "06:30", "08:00"), ev(MON, "15:30", "17:15")], MON)
    # window 07:30–16:00: 06:30–07:30 and 16:00–17:15 are outside
    assert day(r, MON)["after_hours_minutes"] == 60 + 75


def test_work_during_the_break_is_not_after_hours():
    r = audit([ev(MON, "12:00", "13:00")], MON)
    assert day(r, MON)["after_hours_minutes"] == 0


def test_non_workday_work_is_all_after_hours():
    r = audit([ev("2026-12-19", "10:00", "12:00")], "2026-12-19")
    d = day(r, "2026-12-19")
    assert (d["is_workday"], d["after_hours_minutes"], d["longest_free_minutes"]) == (False, 120, None)


def test_every_date_of_the_range_is_present_in_order():
    r = audit([], MON, "2026-12-27")
    assert [d["date"] for d in r.days] == [f"2026-12-{n}" for n in range(14, 28)]
    assert r.summary() == {"work_minutes": 0, "meeting_minutes": 0, "after_hours_minutes": 0, "findings": {}}


def test_events_outside_the_range_are_ignored():
    r = audit([ev("2026-12-13", "09:00", "10:00"), ev("2026-12-15", "09:00", "10:00")], MON)
    assert day(r, MON)["work_minutes"] == 0
