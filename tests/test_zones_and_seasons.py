"""Local dates and windows in WITA, WIT, a DST zone and Samoa; Ramadan hours."""

from __future__ import annotations

from helpers import audit, day, ev, findings, meeting


def test_wita_person_is_audited_on_makassar_clock():
    # 08:00 WIB = 09:00 WITA: the same instant is inside the window for a Makassar person.
    e = ev("2026-12-14", "06:00", "07:00", zone="Asia/Jakarta")  # 07:00–08:00 WITA
    jakarta = audit([e], "2026-12-14", zone="Asia/Jakarta")
    makassar = audit([e], "2026-12-14", zone="Asia/Makassar")
    assert day(jakarta, "2026-12-14")["after_hours_minutes"] == 60
    assert day(makassar, "2026-12-14")["after_hours_minutes"] == 30  # 07:00–07:30 WITA
    assert day(makassar, "2026-12-14")["first_start"] == "07:00"


def test_wit_evening_event_lands_on_the_next_local_day():
    # 23:30 WIB Monday is 01:30 WIT Tuesday.
    e = ev("2026-12-14", "23:30", "23:59", zone="Asia/Jakarta")
    r = audit([e], "2026-12-14", "2026-12-15", zone="Asia/Jayapura")
    assert day(r, "2026-12-14")["work_minutes"] == 0
    assert day(r, "2026-12-15")["first_start"] == "01:30"


def test_dst_spring_forward_day_measures_real_minutes():
    ny = "America/New_York"  # 2026-03-08 02:00 -> 03:00
    e = ev("2026-03-08", "01:00", "04:00", zone=ny)
    r = audit([e], "2026-03-08", policy="default", zone=ny)
    d = day(r, "2026-03-08")
    assert (d["work_minutes"], d["first_start"], d["last_end"]) == (120, "01:00", "04:00")


def test_dst_fall_back_workday_window_still_09_to_17():
    ny = "America/New_York"  # 2026-11-01 is a Sunday; check Monday after
    r = audit([ev("2026-11-02", "08:00", "17:30", zone=ny)], "2026-11-02", policy="default", zone=ny)
    assert day(r, "2026-11-02")["after_hours_minutes"] == 90


def test_samoa_skipped_day_has_no_time_and_does_not_crash():
    # Pacific/Apia jumped from 2011-12-29 to 2011-12-31.
    apia = "Pacific/Apia"
    r = audit([ev("2011-12-29", "20:00", "23:00", zone=apia)], "2011-12-28", "2012-01-02", policy="default", zone=apia)
    assert day(r, "2011-12-29")["work_minutes"] == 180
    assert day(r, "2011-12-30")["work_minutes"] == 0
    assert len(r.days) == 6


def test_ramadan_hours_apply_by_date():
    # 2026-03-02 (Mon) is in Ramadan 1447 H: window 08:00–15:00, break 12:00–12:30.
    r = audit([ev("2026-03-02", "07:30", "15:30"), ev("2026-04-06", "07:30", "15:30")], "2026-03-02", "2026-04-06")
    assert day(r, "2026-03-02")["after_hours_minutes"] == 60
    assert day(r, "2026-04-06")["after_hours_minutes"] == 0


def test_ramadan_friday_break_and_eid_cuti_bersama():
    r = audit([meeting("2026-03-06", "12:00", "12:30"), ev("2026-03-23", "09:00", "10:00")],
              "2026-03-06", "2026-03-23")
    assert findings(r, "break_overlap") == [{"date": "2026-03-06", "start": "12:00", "end": "12:30"}]
    assert [f["date"] for f in findings(r, "holiday_work")] == ["2026-03-23"]
