"""Every rule of docs/rules.md at its exact thresholds (ASN preset, Asia/Jakarta unless said)."""

from __future__ import annotations

from balanced_calendar.model import Kind, ShowAs
from helpers import all_day, audit, day, ev, findings, meeting

MON, TUE, WED, THU, FRI, SAT, SUN = (f"2026-12-{n}" for n in range(14, 21))
NEXT_MON, NEXT_TUE = "2026-12-21", "2026-12-22"
CUTI_BERSAMA, CHRISTMAS = "2026-12-24", "2026-12-25"


# -- overtime_streak ---------------------------------------------------------------------
def overtime(d: str, minutes: int = 30):
    """Work running ``minutes`` past the window end (16:00, Friday 16:30)."""
    close = 16 * 60 + (30 if d == FRI else 0) + minutes
    return ev(d, "15:00", f"{close // 60:02d}:{close % 60:02d}")


def test_three_overtime_days_in_a_row_are_a_streak():
    r = audit([overtime(MON), overtime(TUE), overtime(WED)], MON, SUN)
    assert findings(r, "overtime_streak") == [{"start": MON, "end": WED, "days": 3}]


def test_two_overtime_days_are_not_a_streak():
    r = audit([overtime(MON), overtime(TUE)], MON, SUN)
    assert findings(r, "overtime_streak") == []


def test_29_minutes_is_not_an_overtime_day():
    r = audit([overtime(MON), overtime(TUE, 29), overtime(WED), overtime(THU)], MON, SUN)
    assert findings(r, "overtime_streak") == []


def test_a_quiet_weekend_is_skipped_not_a_break():
    r = audit([overtime(THU), overtime(FRI), overtime(NEXT_MON)], MON, "2026-12-23")
    assert findings(r, "overtime_streak") == [{"start": THU, "end": NEXT_MON, "days": 3}]


def test_weekend_overtime_extends_the_run():
    r = audit([overtime(FRI), ev(SAT, "10:00", "10:30"), ev(SUN, "10:00", "11:00")], MON, SUN)
    assert findings(r, "overtime_streak") == [{"start": FRI, "end": SUN, "days": 3}]


def test_a_quiet_workday_breaks_the_run():
    r = audit([overtime(MON), overtime(TUE), overtime(THU), overtime(FRI)], MON, SUN)
    assert findings(r, "overtime_streak") == []


def test_a_holiday_without_overtime_is_skipped():
    # Wed 23, (Thu 24 cuti bersama, Fri 25 Christmas, weekend), Mon 28
    r = audit([overtime("2026-12-22"), overtime("2026-12-23"), overtime("2026-12-28")], NEXT_MON, "2026-12-31")
    assert findings(r, "overtime_streak") == [{"start": "2026-12-22", "end": "2026-12-28", "days": 3}]


# -- weekend / holiday / leave -----------------------------------------------------------
def test_weekend_work_reports_the_minutes():
    r = audit([ev(SAT, "09:00", "11:00"), ev(SAT, "10:00", "11:30")], MON, SUN)
    assert findings(r, "weekend_work") == [{"date": SAT, "minutes": 150}]
    assert findings(r, "after_hours") == []  # after_hours is for workdays only


def test_holiday_and_cuti_bersama_work_name_the_holiday():
    r = audit([ev(CUTI_BERSAMA, "09:00", "10:00"), ev(CHRISTMAS, "09:00", "09:45")], CUTI_BERSAMA, CHRISTMAS)
    found = findings(r, "holiday_work")
    assert [(f["date"], f["minutes"]) for f in found] == [(CUTI_BERSAMA, 60), (CHRISTMAS, 45)]
    assert "Cuti Bersama" in found[0]["holiday"] and "Natal" in found[1]["holiday"]
    assert day(r, CUTI_BERSAMA)["is_workday"] is False
    assert day(r, CUTI_BERSAMA)["after_hours_minutes"] == 60


def test_the_default_policy_has_no_holidays():
    r = audit([ev(CHRISTMAS, "10:00", "11:00")], CHRISTMAS, policy="default")
    assert day(r, CHRISTMAS)["is_workday"] is True and findings(r, "holiday_work") == []


def test_all_day_out_of_office_is_leave_and_work_on_it_is_flagged():
    r = audit([all_day(TUE, THU, show_as=ShowAs.OOF), ev(WED, "10:00", "10:20")], MON, FRI)
    assert [d["on_leave"] for d in r.days] == [False, True, True, False, False]
    assert day(r, TUE)["is_workday"] is False
    assert findings(r, "leave_work") == [{"date": WED, "minutes": 20}]
    assert findings(r, "focus_deficit") == []  # no focus deficit on leave


def test_timed_out_of_office_covering_half_the_window_is_a_leave_day():
    # Mon window 07:30–16:00 = 510 min; half = 255 min
    half = ev(MON, "07:30", "11:45", kind=Kind.OUT_OF_OFFICE)
    less = ev(TUE, "07:30", "11:44", kind=Kind.OUT_OF_OFFICE)
    r = audit([half, less], MON, TUE)
    assert day(r, MON)["on_leave"] is True and day(r, TUE)["on_leave"] is False


def test_leave_on_a_weekend_is_weekend_work_not_leave_work():
    r = audit([all_day(SAT, "2026-12-21", show_as=ShowAs.OOF), ev(SAT, "10:00", "11:00")], SAT, SUN)
    assert findings(r, "leave_work") == [] and len(findings(r, "weekend_work")) == 1


# -- after_hours ---------------------------------------------------------------------------
def test_after_hours_fires_at_exactly_30_minutes():
    r = audit([ev(MON, "16:00", "16:30"), ev(TUE, "07:01", "07:30")], MON, TUE)
    assert findings(r, "after_hours") == [{"date": MON, "minutes": 30}]


# -- out_of_window_meeting / break_overlap ---------------------------------------------------
def test_meetings_inside_09_15_are_fine_and_outside_are_reported_one_each():
    r = audit([meeting(MON, "09:00", "10:00"), meeting(MON, "14:00", "15:00"),
               meeting(MON, "08:30", "09:30"), meeting(MON, "14:30", "15:01"),
               ev(MON, "07:30", "08:30")], MON)  # a solo work block is not a meeting
    assert findings(r, "out_of_window_meeting") == [
        {"date": MON, "start": "08:30", "end": "09:30"}, {"date": MON, "start": "14:30", "end": "15:01"}]


def test_weekend_meetings_are_weekend_work_not_window_findings():
    r = audit([meeting(SAT, "19:00", "20:00")], SAT)
    assert findings(r, "out_of_window_meeting") == []


def test_meeting_overlapping_break_by_15_minutes_fires_14_does_not():
    r = audit([meeting(MON, "11:45", "12:15"), meeting(TUE, "12:46", "13:30")], MON, TUE)
    assert findings(r, "break_overlap") == [{"date": MON, "start": "11:45", "end": "12:15"}]


def test_friday_prayer_break_is_longer():
    r = audit([meeting(FRI, "11:00", "11:45"), meeting(THU, "11:00", "11:45")], THU, FRI)
    assert findings(r, "break_overlap") == [{"date": FRI, "start": "11:00", "end": "11:45"}]


# -- short_rest / long_day -------------------------------------------------------------------
def test_short_rest_below_11_hours():
    r = audit([ev(MON, "20:00", "22:00"), ev(TUE, "08:59", "10:00"),
               ev(WED, "19:00", "21:00"), ev(THU, "08:00", "09:00")], MON, THU)
    assert findings(r, "short_rest") == [{"date": TUE, "rest_minutes": 659}]


def test_short_rest_needs_both_days_in_range():
    r = audit([ev(MON, "20:00", "23:00"), ev(TUE, "06:00", "07:00")], TUE)
    assert findings(r, "short_rest") == []


def test_long_day_over_600_minutes():
    r = audit([ev(MON, "07:00", "08:00"), ev(MON, "16:00", "17:00"),
               ev(TUE, "07:00", "08:00"), ev(TUE, "16:01", "17:01")], MON, TUE)
    assert findings(r, "long_day") == [{"date": TUE, "span_minutes": 601}]


# -- back_to_back ------------------------------------------------------------------------------
def test_meetings_with_gaps_under_10_minutes_spanning_2_hours_are_back_to_back():
    chain = [meeting(MON, "09:00", "10:00"), meeting(MON, "10:09", "11:00")]
    apart = [meeting(TUE, "09:00", "10:00"), meeting(TUE, "10:10", "11:10")]
    short = [meeting(WED, "09:00", "09:55"), meeting(WED, "10:00", "10:59")]
    r = audit(chain + apart + short, MON, WED)
    assert findings(r, "back_to_back") == [{"date": MON, "start": "09:00", "end": "11:00", "minutes": 120}]


def test_one_long_meeting_is_not_back_to_back():
    r = audit([meeting(MON, "09:00", "12:00")], MON)
    assert findings(r, "back_to_back") == []


def test_overlapping_meetings_chain():
    r = audit([meeting(MON, "13:00", "14:30"), meeting(MON, "14:00", "15:00"), meeting(MON, "15:05", "15:30")], MON)
    assert findings(r, "back_to_back") == [{"date": MON, "start": "13:00", "end": "15:30", "minutes": 150}]


# -- focus_deficit -------------------------------------------------------------------------------
def test_focus_deficit_below_two_free_hours():
    # Mon window 07:30–16:00, break 12–13. Busy 09:30–10:00 and 13:00–16:00 -> longest 07:30–09:30 = 120
    ok = [ev(MON, "09:30", "10:00"), ev(MON, "10:00", "12:00"), ev(MON, "13:00", "16:00")]
    # Tue: longest free 119
    bad = [ev(TUE, "09:29", "12:00"), ev(TUE, "13:00", "16:00")]
    r = audit(ok + bad, MON, TUE)
    assert day(r, MON)["longest_free_minutes"] == 120
    assert findings(r, "focus_deficit") == [{"date": TUE, "longest_free_minutes": 119}]


def test_the_break_splits_free_time():
    r = audit([ev(MON, "07:30", "10:30"), ev(MON, "14:30", "16:00")], MON)
    # free 10:30–12:00 (90) and 13:00–14:30 (90): the break is not free focus time
    assert findings(r, "focus_deficit") == [{"date": MON, "longest_free_minutes": 90}]


def test_own_focus_time_counts_as_free():
    r = audit([ev(MON, "07:30", "09:30", kind=Kind.FOCUS), ev(MON, "09:30", "12:00"), ev(MON, "13:00", "16:00")], MON)
    assert day(r, MON)["longest_free_minutes"] == 120
    assert day(r, MON)["work_minutes"] == 120 + 150 + 180


# -- meeting_overload ------------------------------------------------------------------------------
def test_meeting_overload_above_half_of_net_hours():
    # ASN week: Mon–Thu 510-60 = 450, Fri 540-90 = 450 -> 2250 net, limit 1125 minutes.
    week = [meeting(d, "09:00", "12:45") for d in (MON, TUE, WED, THU, FRI)]  # 5 x 225 = 1125
    r = audit(week, MON, SUN)
    assert findings(r, "meeting_overload") == []
    r = audit(week + [meeting(SAT, "09:00", "09:01")], MON, SUN)
    assert findings(r, "meeting_overload") == [{"week": "2026-W51", "minutes": 1126, "limit_minutes": 1125}]


def test_meeting_overload_uses_only_days_in_range_and_workdays():
    # Range Wed 23–Sun 27 of Christmas week: only Wed 23 is a workday (450 net, limit 225);
    # Monday's long meeting is outside the range and does not count.
    events = [meeting(NEXT_MON, "09:00", "15:00"), meeting("2026-12-23", "09:00", "12:46")]
    r = audit(events, "2026-12-23", "2026-12-27")
    assert findings(r, "meeting_overload") == [{"week": "2026-W52", "minutes": 226, "limit_minutes": 225}]


def test_meeting_overload_never_fires_in_a_week_without_a_workday():
    # A week of leave (Mon–Fri all-day out of office) with meetings every day: the limit is 0
    # (no workday in range), and such a week never fires (docs/rules.md).
    leave = all_day(MON, SAT, show_as=ShowAs.OOF)
    r = audit([leave] + [meeting(d, "09:00", "12:00") for d in (MON, TUE, WED, THU, FRI, SAT)], MON, SUN)
    assert not any(d["is_workday"] for d in r.days)
    assert sum(d["meeting_minutes"] for d in r.days) == 6 * 180
    assert findings(r, "meeting_overload") == []


def test_meeting_overload_never_fires_on_a_range_of_holidays_and_weekend():
    # Thu 24 (cuti bersama) .. Sun 27 (Christmas week): no workday in range.
    events = [meeting(d, "09:00", "15:00") for d in (CUTI_BERSAMA, CHRISTMAS, "2026-12-26")]
    r = audit(events, CUTI_BERSAMA, "2026-12-27")
    assert findings(r, "meeting_overload") == []
