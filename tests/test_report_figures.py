"""The team report's figures equal an aggregation the test makes itself from each member's audit
(the engine's ``audit`` output) and calendar, without the report code."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import numpy as np
from report_helpers import FIRST, LAST, WEEK_LABEL, WEEK_START, enroll_and_audit, write_site
from test_digest_cli import cli

from balanced_calendar.engine import audit_events
from balanced_calendar.policyfile import load_policy

POLICY = load_policy("asn-id")
TEAM = "ops"


def week_dates(monday: dt.date) -> set[str]:
    return {(monday + dt.timedelta(days=i)).isoformat() for i in range(7)}


def independent(audits: dict, monday: dt.date) -> dict:
    """Shares, quartiles and out-of-window meetings of the week from the per-person audit JSON."""
    dates = week_dates(monday)
    first, last = min(dates), max(dates)
    after, meetings, focus, oow = [], [], [], 0
    streak = weekend = rest = 0
    for audit in audits.values():
        days = [d for d in audit["days"] if d["date"] in dates]
        after.append(sum(d["after_hours_minutes"] for d in days))
        meetings.append(sum(d["meeting_minutes"] for d in days))
        workdays = [d for d in days if d["is_workday"]]
        if workdays:
            focus.append(sum(d["longest_free_minutes"] for d in workdays if d["longest_free_minutes"] >= 120))
        found = audit["findings"]
        streak += any(f["rule"] == "overtime_streak" and f["start"] <= last and f["end"] >= first for f in found)
        weekend += any(f["rule"] in ("weekend_work", "holiday_work") and f["date"] in dates for f in found)
        rest += any(f["rule"] == "short_rest" and f["date"] in dates for f in found)
        oow += sum(1 for f in found if f["rule"] == "out_of_window_meeting" and f["date"] in dates)
    n = len(audits)

    def spread(values: list[int]) -> dict:
        q1, median, q3 = np.percentile(np.array(values) / 60, [25, 50, 75])
        return {"n": len(values), "q1": round(q1, 2), "median": round(median, 2), "q3": round(q3, 2)}

    return {"members": n,
            "shares": {"overtime_streak": round(streak / n, 4), "weekend_or_holiday_work": round(weekend / n, 4),
                       "short_rest": round(rest / n, 4)},
            "hours": {"after_hours": spread(after), "meetings": spread(meetings), "focus": spread(focus)},
            "out_of_window_meetings_per_person": round(oow / n, 2)}


def independent_heatmap(events_by_person: dict, monday: dt.date, zone: str) -> list[list[int]]:
    """People per (weekday, hour) with any counted minute outside that day's working hours."""
    tz = ZoneInfo(zone)
    counts = [[0] * 24 for _ in range(7)]
    for events in events_by_person.values():
        marked: set[tuple[int, int]] = set()
        for e in events:
            local_start, local_end = e.start.astimezone(tz), e.end.astimezone(tz)
            day = local_start.date()
            if not monday <= day < monday + dt.timedelta(days=7):
                continue
            hours = POLICY.hours_for(day)
            window = (hours.start, hours.end) if hours else (0, 0)
            first = local_start.hour * 60 + local_start.minute
            last = local_end.hour * 60 + local_end.minute if local_end.date() == day else 24 * 60
            for minute in range(first, last):
                if not window[0] <= minute < window[1]:
                    marked.add((day.weekday(), minute // 60))
        for weekday, hour in marked:
            counts[weekday][hour] += 1
    return counts


def test_team_figures_equal_an_independent_aggregation_of_the_members_audits(tmp_path):
    config = write_site(tmp_path, {TEAM: 7})
    events = enroll_and_audit(config)
    audits = {email: json.loads(json.dumps(audit_events(evs, POLICY, zone="Asia/Jakarta", start=FIRST, end=LAST,
                                                        person=email).as_dict(), default=str))
              for email, evs in events.items()}

    out = cli("report", "--config", str(config), "--team", TEAM, "--week", WEEK_LABEL, "--format", "json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["status"] == "published" and report["members"] == 7

    expected = independent(audits, WEEK_START)
    figures = report["figures"]
    assert figures["shares"] == expected["shares"]
    assert figures["hours"] == expected["hours"]
    assert figures["out_of_window_meetings_per_person"] == expected["out_of_window_meetings_per_person"]
    assert 0 < figures["shares"]["overtime_streak"] < 1  # the data has variety worth checking

    counts = independent_heatmap(events, WEEK_START, "Asia/Jakarta")
    assert figures["heatmap"] == [[c if c >= 5 else None for c in row] for row in counts]
    assert any(c is not None for row in figures["heatmap"] for c in row)
    assert any(0 < c < 5 for row in counts for c in row)  # some cells really are hidden

    # the 8-week trend: each week's medians and shares from the same audits
    assert [p["week"] for p in report["trend"]] == [f"2026-W{w}" for w in range(38, 46)]
    for point in report["trend"]:
        monday = dt.date.fromisocalendar(2026, int(point["week"][-2:]), 1)
        week = independent(audits, monday)
        assert point["status"] == "published" and point["members"] == 7
        assert point["shares"] == week["shares"]
        assert point["median_hours"] == {k: v["median"] for k, v in week["hours"].items()}
        assert point["out_of_window_meetings_per_person"] == week["out_of_window_meetings_per_person"]
    assert len({p["median_hours"]["after_hours"] for p in report["trend"]}) > 1


def test_a_parent_team_counts_its_child_teams_members_and_csv_carries_the_same_figures(tmp_path):
    config = write_site(tmp_path, {"all": 5, "ops": 5}, parents={"ops": "all"})
    events = enroll_and_audit(config)
    audits = {email: json.loads(json.dumps(audit_events(evs, POLICY, zone="Asia/Jakarta", start=FIRST, end=LAST,
                                                        person=email).as_dict(), default=str))
              for email, evs in events.items()}
    parent = json.loads(cli("report", "--config", str(config), "--team", "all", "--week", WEEK_LABEL,
                            "--format", "json").stdout)
    assert parent["members"] == 10
    assert parent["figures"]["hours"] == independent(audits, WEEK_START)["hours"]

    out = cli("report", "--config", str(config), "--team", "all", "--week", WEEK_LABEL, "--format", "csv",
              "--out", str(tmp_path / "all.csv"))
    assert out.returncode == 0, out.stderr
    rows = [line.split(",") for line in (tmp_path / "all.csv").read_text().splitlines()]
    assert rows[0] == ["group", "week", "figure", "key", "value"]
    table = {(r[2], r[3]): r[4] for r in rows[1:] if r[1] == WEEK_LABEL}
    assert table[("members", "")] == "10"
    assert float(table[("after_hours_hours", "median")]) == parent["figures"]["hours"]["after_hours"]["median"]
    assert float(table[("share", "short_rest")]) == parent["figures"]["shares"]["short_rest"]
