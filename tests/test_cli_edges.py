"""The smaller observed failures of a hardening probe, each reproduced the way it was
seen: real CLI processes, real files, a real SQLite store."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_ICS = Path(__file__).parent / "fixtures" / "cli" / "design_example_overtime_week.ics"
RINA = "rina@agency.go.id"
LONG = "a.remarkably.long.address.for.alignment@direktorat-jenderal.kemenkeu.go.id"


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
        obey_modes: bool = False) -> subprocess.CompletedProcess[str]:
    """The installed command as a separate process (``obey_modes``: without root's power to
    override file modes, via setpriv, so a file's mode binds as it does for the service user)."""
    exe = [str(Path(sys.executable).with_name("balanced-calendar"))]
    if obey_modes and os.geteuid() == 0:
        exe = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--", *exe]
    return subprocess.run([*exe, *args], capture_output=True, text=True, timeout=60, cwd=cwd,
                          env={**os.environ, "BALANCED_CALENDAR_CONFIG": "/nonexistent", **(env or {})})


def ics(path: Path, days: list[dt.date]) -> Path:
    """An ICS file with one 08:00–17:00 WIB (01:00–10:00 UTC) event on each of ``days``."""
    events = "".join(
        f"BEGIN:VEVENT\r\nUID:day-{d:%Y%m%d}@test\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART:{d:%Y%m%d}T010000Z\r\nDTEND:{d:%Y%m%d}T100000Z\r\nSUMMARY:Work\r\nEND:VEVENT\r\n"
        for d in days)
    path.write_text(f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{events}END:VCALENDAR\r\n")
    return path


def write_site(folder: Path, *, past_weeks: int, future_weeks: int = 1, people: str = "") -> Path:
    config = folder / "config.toml"
    config.write_text(f'[service]\nstate_dir = "state"\nvault_key_file = "vault-key"\n'
                      f'timezone = "Asia/Jakarta"\nsync_past_weeks = {past_weeks}\n'
                      f'sync_future_weeks = {future_weeks}\n{people}')
    if not (folder / "vault-key").exists():
        assert cli("keygen", "--out", str(folder / "vault-key")).returncode == 0
    return config


def enroll(config: Path, email: str, calendar: Path) -> None:
    proc = cli("enroll", "--config", str(config), "--provider", "ics", "--email", email,
               "--calendar", str(calendar), "--yes")
    assert proc.returncode == 0, proc.stderr


def today() -> dt.date:
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=7))).date()


def last_week() -> tuple[dt.date, dt.date]:
    monday = today() - dt.timedelta(days=today().weekday() + 7)
    return monday, monday + dt.timedelta(days=6)


# -- 8. silent zeros -------------------------------------------------------------------------

def test_audit_outside_the_synced_window_says_so_instead_of_printing_zeros(tmp_path):
    monday, sunday = last_week()
    config = write_site(tmp_path, past_weeks=1)
    enroll(config, RINA, ics(tmp_path / "rina.ics", [monday, monday + dt.timedelta(days=1)]))

    never = cli("audit", "--config", str(config), "--person", RINA, "--format", "json")
    assert never.returncode == 3, never.stdout + never.stderr
    assert "never been synced" in never.stderr and "sync --person" in never.stderr
    assert never.stdout == "" and "Traceback" not in never.stderr

    assert cli("sync", "--config", str(config)).returncode == 0
    old_first, old_last = today() - dt.timedelta(days=400), today() - dt.timedelta(days=370)
    outside = cli("audit", "--config", str(config), "--person", RINA, "--start", str(old_first),
                  "--end", str(old_last), "--format", "json")
    assert outside.returncode == 3 and outside.stdout == ""
    assert f"no synced data for {old_first}…{old_last}" in outside.stderr
    assert f"last synced for {monday}…" in outside.stderr  # the window starts on last week's Monday

    # a range reaching past the window is refused too: its outer days are unknown, not free
    across = cli("audit", "--config", str(config), "--person", RINA, "--start", str(monday - dt.timedelta(days=7)),
                 "--end", str(sunday), "--format", "json")
    assert across.returncode == 3 and across.stdout == ""


def test_a_failed_sync_keeps_the_synced_window_auditable(tmp_path):
    monday, _ = last_week()
    calendar = ics(tmp_path / "rina.ics", [monday, monday + dt.timedelta(days=1)])
    config = write_site(tmp_path, past_weeks=1)
    enroll(config, RINA, calendar)
    assert cli("sync", "--config", str(config)).returncode == 0
    inside = cli("audit", "--config", str(config), "--person", RINA, "--format", "json")
    assert inside.returncode == 0, inside.stderr
    assert json.loads(inside.stdout)["days"][0]["work_minutes"] > 0

    calendar.unlink()
    assert cli("sync", "--config", str(config)).returncode == 1
    still = cli("audit", "--config", str(config), "--person", RINA, "--format", "json")
    assert still.returncode == 0, still.stderr
    assert json.loads(still.stdout)["days"][0]["work_minutes"] > 0


def test_a_sync_prunes_stored_events_that_ended_before_its_window(tmp_path):
    old = today() - dt.timedelta(days=200)
    calendar = ics(tmp_path / "rina.ics", [old, last_week()[0]])
    config = write_site(tmp_path, past_weeks=52)
    enroll(config, RINA, calendar)
    assert cli("sync", "--config", str(config)).returncode == 0
    db = tmp_path / "state" / "state.sqlite3"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 2

    write_site(tmp_path, past_weeks=2)  # the window now starts after the old event
    synced = cli("sync", "--config", str(config))
    assert synced.returncode == 0, synced.stdout + synced.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1


# -- 9. promises without features ------------------------------------------------------------

def test_consent_and_status_promise_only_what_this_version_does(tmp_path):
    from balanced_calendar.enrollment import CONSENT_VERSION

    config = write_site(tmp_path, past_weeks=1)
    proc = cli("enroll", "--config", str(config), "--provider", "ics", "--email", RINA,
               "--calendar", str(ics(tmp_path / "r.ics", [today()])), "--yes")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.lower()
    assert "measure workload" in text and "menghitung beban kerja" in text
    assert "weekly balance digest" in text and "ringkasan keseimbangan mingguan" in text  # served
    assert "anonymised team reports" in text and "laporan tim yang dianonimkan" in text  # served
    with sqlite3.connect(tmp_path / "state" / "state.sqlite3") as conn:
        purposes, version = conn.execute("SELECT purposes, text_version FROM consents").fetchone()
    assert json.loads(purposes) == ["workload_audit", "weekly_digest", "anonymised_team_report"]
    assert version == CONSENT_VERSION not in ("2026-11-v1", "2026-12-v2", "2026-12-v3")

    status = cli("status", "--config", str(config))
    assert status.returncode == 0 and "next digest" in status.stdout.lower()
    assert "next team report" in status.stdout.lower()


def test_a_purpose_is_switched_on_in_one_place(monkeypatch):
    from balanced_calendar import enrollment

    monkeypatch.setattr(enrollment, "PURPOSE_LIST", tuple(
        dataclasses.replace(p, enabled=True) for p in enrollment.PURPOSE_LIST))
    text = enrollment.consent_text("en", False, k=7)
    assert "(2) email you a weekly balance digest" in text and "teams under 7 people" in text
    assert enrollment.purpose_enabled("weekly_digest")


# -- 10. the smaller failures ------------------------------------------------------------------

def test_start_alone_after_last_week_blames_the_start_not_an_end_never_given():
    later = today() + dt.timedelta(days=30)
    proc = cli("audit", "--ics", str(EXAMPLE_ICS), "--start", str(later))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"--start {later} is after the default end" in proc.stderr and "give --end too" in proc.stderr
    assert "is before --start" not in proc.stderr


@pytest.mark.parametrize("args, words", [
    (["--me", "not an address"], "not an email address"),
    (["--tz", ""], "empty"),
])
def test_bad_me_and_empty_tz_are_refused(args, words):
    proc = cli("audit", "--ics", str(EXAMPLE_ICS), *args, "--start", "2026-12-14", "--end", "2026-12-20",
               "--format", "json")
    assert proc.returncode == 2 and words in proc.stderr and proc.stdout == ""
    assert "Traceback" not in proc.stderr


def test_config_check_checks_the_vault_key(tmp_path):
    config = write_site(tmp_path, past_weeks=1)
    assert cli("config", "check", "--config", str(config)).returncode == 0

    (tmp_path / "vault-key").write_text("not a key\n")
    bad = cli("config", "check", "--config", str(config))
    assert bad.returncode == 2 and "does not hold a valid key" in bad.stderr and "Traceback" not in bad.stderr

    config.write_text(config.read_text().replace('vault_key_file = "vault-key"\n', ""))
    env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
    none = subprocess.run([str(Path(sys.executable).with_name("balanced-calendar")), "config", "check",
                           "--config", str(config)], capture_output=True, text=True, timeout=60, env=env)
    assert none.returncode == 2 and "no vault key source" in none.stderr
    assert "systemd credential 'vault-key'" in none.stderr

    creds = tmp_path / "creds"
    creds.mkdir()
    assert cli("keygen", "--out", str(creds / "vault-key")).returncode == 0
    ok = cli("config", "check", "--config", str(config), env={"CREDENTIALS_DIRECTORY": str(creds)})
    assert ok.returncode == 0, ok.stderr
    assert "systemd credential 'vault-key'" in ok.stdout and "a valid key" in ok.stdout


def test_config_check_counts_enrolled_people_without_people_entries(tmp_path):
    config = write_site(tmp_path, past_weeks=1)
    enroll(config, RINA, ics(tmp_path / "r.ics", [today()]))
    before = (tmp_path / "state" / "state.sqlite3").read_bytes()
    proc = cli("config", "check", "--config", str(config))
    assert proc.returncode == 0, proc.stderr
    assert "enrolled: 1 in the store" in proc.stdout
    assert "nothing to audit" not in proc.stdout
    assert (tmp_path / "state" / "state.sqlite3").read_bytes() == before  # read-only


def test_a_read_only_database_file_gets_a_hint_about_its_mode(tmp_path):
    config = write_site(tmp_path, past_weeks=1)
    enroll(config, RINA, ics(tmp_path / "r.ics", [today()]))
    db = tmp_path / "state" / "state.sqlite3"
    db.chmod(0o400)
    proc = cli("people", "--config", str(config), obey_modes=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "mode 0400" in proc.stderr and f"chmod 600 {db}" in proc.stderr
    assert "owns the state directory" not in proc.stderr


def test_a_database_on_a_read_only_filesystem_gets_a_hint_about_the_mount():
    folder = Path(tempfile.mkdtemp(prefix="bc-ro-"))
    mounted = False
    try:
        # CI runs as root: mounting a real small filesystem is part of the test, never skipped
        assert os.geteuid() == 0, "this test mounts a tmpfs: run the suite as root (as .ci/run does)"
        mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)],
                               capture_output=True, text=True)
        assert mount.returncode == 0, mount.stderr
        mounted = True
        config = write_site(folder, past_weeks=1)
        enroll(config, RINA, ics(folder / "r.ics", [today()]))
        assert subprocess.run(["mount", "-o", "remount,ro", str(folder)], capture_output=True).returncode == 0
        proc = cli("people", "--config", str(config))
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert "mounted read-only" in proc.stderr and "owns the state directory" not in proc.stderr
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def test_a_derived_policy_describes_itself_and_accepts_decimal_hours(tmp_path):
    policy = tmp_path / "kantor.toml"
    policy.write_text('extends = "asn-id"\n[thresholds]\nmin_rest_hours = 10.5\nmax_event_hours = 12.5\n')
    shown = cli("policy", str(policy), "--lang", "en")
    assert shown.returncode == 0, shown.stderr
    first = shown.stdout.splitlines()[0]
    assert first == "kantor: derived from the preset asn-id by kantor.toml"
    assert "Perpres" not in first
    assert "less than 10.5 hours" in shown.stdout
    audited = cli("audit", "--ics", str(EXAMPLE_ICS), "--policy", str(policy), "--start", "2026-12-14",
                  "--end", "2026-12-20", "--format", "json")
    assert audited.returncode == 0, audited.stderr
    # a policy with its own description keeps it
    policy.write_text('extends = "asn-id"\ndescription = "Kantor wilayah"\n')
    assert cli("policy", str(policy)).stdout.splitlines()[0] == "kantor: Kantor wilayah"


def test_people_and_status_columns_line_up_for_long_addresses(tmp_path):
    config = write_site(tmp_path, past_weeks=1)
    calendar = ics(tmp_path / "r.ics", [today()])
    enroll(config, RINA, calendar)
    enroll(config, LONG, calendar)
    people = cli("people", "--config", str(config), "--show-addresses").stdout.splitlines()
    header, rows = people[0], [line for line in people[1:] if line.startswith((RINA, LONG))]
    assert len(rows) == 2
    for line in rows:
        assert line.index(" ics ") + 1 == header.index("connector"), people
        assert line.rindex(" ") + 1 == header.index("enrolled"), people
    status = cli("status", "--config", str(config), "--show-addresses").stdout.splitlines()
    header, rows = status[0], [line for line in status[1:] if line.startswith((RINA, LONG))]
    assert len(rows) == 2
    for line in rows:
        assert line.index(" never") + 1 == header.index("last sync"), status


def test_the_example_config_keeps_published_urls_out_and_says_where_they_go():
    text = (ROOT / "systemd" / "balanced-calendar.toml.example").read_text()
    people = tomllib.loads(text)["people"]
    ics_people = [p for p in people if p["connector"] == "ics"]
    assert ics_people
    for person in ics_people:
        assert "://" not in person.get("calendar", ""), person["email"]
    assert "enroll --provider ics" in text and "--calendar" in text and "vault" in text
