"""The ``audit`` command: the JSON contract of docs/audit-json.md, the other formats, bad input."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLE = FIXTURES / "cli" / "design_example_overtime_week.ics"
ARGS = ["--me", "rina@agency.go.id", "--policy", "asn-id", "--tz", "Asia/Jakarta",
        "--start", "2026-12-14", "--end", "2026-12-27"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed console script like a user would."""
    exe = Path(sys.executable).with_name("balanced-calendar")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=cwd, timeout=120,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})


def test_json_contract_matches_the_design_example():
    proc = run("audit", "--ics", str(EXAMPLE), *ARGS, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert list(out) == ["person", "timezone", "policy", "start", "end", "days", "findings", "summary"]
    assert (out["person"], out["timezone"], out["policy"], out["start"], out["end"]) == (
        "rina@agency.go.id", "Asia/Jakarta", "asn-id", "2026-12-14", "2026-12-27")
    assert [d["date"] for d in out["days"]] == [f"2026-12-{n}" for n in range(14, 28)]
    assert out["days"][0] == {
        "date": "2026-12-14", "is_workday": True, "holiday": None, "on_leave": False,
        "work_minutes": 435, "meeting_minutes": 315, "after_hours_minutes": 120,
        "first_start": "08:00", "last_end": "21:00", "longest_free_minutes": 60}
    assert {"rule": "overtime_streak", "start": "2026-12-14", "end": "2026-12-16", "days": 3} in out["findings"]
    assert {"rule": "weekend_work", "date": "2026-12-19", "minutes": 120} in out["findings"]
    # the declined invite on Tuesday does not count
    assert out["days"][1]["work_minutes"] == 120
    christmas = out["days"][11]
    assert christmas["date"] == "2026-12-25" and christmas["holiday"] and christmas["is_workday"] is False
    counts: dict[str, int] = {}
    for f in out["findings"]:
        counts[f["rule"]] = counts.get(f["rule"], 0) + 1
    assert out["summary"] == {"work_minutes": 435 + 120 + 120 + 120, "meeting_minutes": 315,
                              "after_hours_minutes": 120 * 4, "findings": counts}


def test_output_never_contains_titles_or_locations():
    proc = run("audit", "--ics", str(EXAMPLE), *ARGS, "--format", "json")
    for secret in ("secret title", "Ruang Rapat", "Koordinasi", "budi@agency.go.id", "sari@"):
        assert secret not in proc.stdout


def test_csv_has_one_row_per_day_with_the_rules_that_fired():
    proc = run("audit", "--ics", str(EXAMPLE), *ARGS, "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert len(rows) == 14
    assert rows[0]["work_minutes"] == "435" and rows[0]["is_workday"] == "true"
    assert "after_hours" in rows[0]["findings"].split(";")
    assert rows[5]["findings"] == "weekend_work"


def test_table_is_readable_and_explains_the_rules():
    proc = run("audit", "--ics", str(EXAMPLE), *ARGS, "--format", "table", "--lang", "en")  # asn-id: id by default
    assert proc.returncode == 0, proc.stderr
    assert "2026-12-14 Mon workday" in proc.stdout
    assert "3 overtime days in a row, 2026-12-14 to 2026-12-16" in proc.stdout
    assert "overtime_streak — 3 or more overtime days in a row" in proc.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--tz", "Asia/Atlantis"], "unknown time zone 'Asia/Atlantis'"),
    (["--start", "2026-12-32"], "'2026-12-32' is not a date"),
    (["--start", "2026-12-20", "--end", "2026-12-14"], "before --start"),
    (["--policy", "asn-xx"], "unknown policy 'asn-xx'"),
])
def test_bad_options_exit_2_with_a_clear_message(args, message):
    proc = run("audit", "--ics", str(EXAMPLE), "--start", "2026-12-14", "--end", "2026-12-20", *args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_ics_file_names_the_file(tmp_path):
    proc = run("audit", "--ics", str(tmp_path / "nope.ics"), *ARGS)
    assert proc.returncode == 2 and "nope.ics" in proc.stderr and "Traceback" not in proc.stderr


def test_malformed_ics_names_the_file_and_line(tmp_path):
    bad = tmp_path / "broken.ics"
    bad.write_text("BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:x\nDTSTART:2026121\n"
                   "DTEND:20261214T100000Z\nEND:VEVENT\nEND:VCALENDAR\n")
    proc = run("audit", "--ics", str(bad), *ARGS)
    assert proc.returncode == 2, proc.stdout
    assert "broken.ics" in proc.stderr and "line 5" in proc.stderr and "DTSTART" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_invalid_policy_file_lists_every_problem_with_its_key(tmp_path):
    policy = tmp_path / "mine.toml"
    policy.write_text('extends = "asn-id"\nlanguage = "fr"\nworkweek = ["mon", "funday"]\n'
                      '[hours]\nmon = { start = "25:00", end = "16:00" }\n'
                      '[thresholds]\nmeeting_share = 1.5\nbogus = 1\n')
    proc = run("audit", "--ics", str(EXAMPLE), *ARGS, "--policy", str(policy))
    assert proc.returncode == 2
    for path in ("language", "workweek[1]", "hours.mon.start", "thresholds.meeting_share", "thresholds.bogus"):
        assert f"  {path}:" in proc.stderr, (path, proc.stderr)
    assert "Traceback" not in proc.stderr


def test_own_policy_file_extends_a_preset(tmp_path):
    policy = tmp_path / "late-office.toml"
    policy.write_text('extends = "asn-id"\n[hours]\nmon = { start = "10:00", end = "22:00", break = ["12:00", "13:00"] }\n')
    proc = run("audit", "--ics", str(EXAMPLE), *ARGS, "--policy", str(policy), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["policy"] == "late-office"
    monday = out["days"][0]
    assert monday["after_hours_minutes"] == 120  # 08:00–10:00 is now before the window; evening is inside
