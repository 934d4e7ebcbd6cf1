"""Enrollment refuses what cannot work, before anything is stored: a missing
or non-iCalendar file, a relative path that breaks from another folder, ``--protect`` on the
read-only ICS connector, an unknown team. Real CLI processes, a real SQLite store."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_service_cli import EXAMPLE_ICS, RINA, site  # noqa: F401 - the shared site fixture

BUDI = "budi@agency.go.id"  # not in the site's [[people]]: his calendar comes from --calendar


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("balanced-calendar")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=60, cwd=cwd,
                          env={**os.environ, "BALANCED_CALENDAR_CONFIG": "/nonexistent"})


def enrolled(site: Path) -> int:
    db = site / "state" / "state.sqlite3"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM people").fetchone()[0])


def test_a_missing_calendar_file_is_refused_naming_the_file(site):  # noqa: F811
    proc = run("enroll", "--config", str(site / "config.toml"), "--provider", "ics", "--email", BUDI,
               "--calendar", "/nonexistent/ghost.ics", "--yes")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "/nonexistent/ghost.ics" in proc.stderr and "not found" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "enrolled" not in proc.stdout
    assert enrolled(site) == 0


def test_a_file_that_is_not_icalendar_is_refused(site):  # noqa: F811
    page = site / "login.html"
    page.write_text("<html><body>Please sign in</body></html>\n")
    proc = run("enroll", "--config", str(site / "config.toml"), "--provider", "ics", "--email", BUDI,
               "--calendar", str(page), "--yes")
    assert proc.returncode == 2 and "not an iCalendar file" in proc.stderr and "Traceback" not in proc.stderr
    assert enrolled(site) == 0


def test_a_relative_calendar_path_is_stored_absolute_and_syncs_from_another_folder(site):  # noqa: F811
    here, elsewhere = site / "admin", site / "elsewhere"
    (here / "cals").mkdir(parents=True)
    elsewhere.mkdir()
    shutil.copy(EXAMPLE_ICS, here / "cals" / "budi.ics")
    config = str(site / "config.toml")
    proc = run("enroll", "--config", config, "--provider", "ics", "--email", BUDI,
               "--calendar", "cals/budi.ics", "--yes", cwd=here)
    assert proc.returncode == 0, proc.stderr

    synced = run("sync", "--config", config, cwd=elsewhere)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert "synced 1/1 people" in synced.stdout
    audit = run("audit", "--config", config, "--person", BUDI, "--start", "2026-12-14", "--end", "2026-12-20",
                "--format", "json", cwd=elsewhere)
    assert audit.returncode == 0, audit.stderr
    assert json.loads(audit.stdout)["days"][0]["work_minutes"] > 0  # the file was really read


def test_protect_on_the_read_only_ics_connector_is_refused_before_the_consent_text(site):  # noqa: F811
    proc = run("enroll", "--config", str(site / "config.toml"), "--provider", "ics", "--email", BUDI,
               "--calendar", str(EXAMPLE_ICS), "--protect", "--yes")
    assert proc.returncode == 2 and "read-only" in proc.stderr and "Traceback" not in proc.stderr
    assert "Persetujuan" not in proc.stdout and "Consent to process" not in proc.stdout
    assert "read and write own blocks" not in proc.stdout
    assert enrolled(site) == 0


def test_an_unknown_team_is_refused_before_the_consent_text(site):  # noqa: F811
    proc = run("enroll", "--config", str(site / "config.toml"), "--provider", "ics", "--email", BUDI,
               "--calendar", str(EXAMPLE_ICS), "--team", "no-such-team", "--yes")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "unknown team 'no-such-team'" in proc.stderr and "Traceback" not in proc.stderr
    assert "Persetujuan" not in proc.stdout and "Consent to process" not in proc.stdout
    assert enrolled(site) == 0


@pytest.mark.parametrize("option", ["--timezone"])
def test_an_empty_timezone_is_refused(site, option):  # noqa: F811
    proc = run("enroll", "--config", str(site / "config.toml"), "--provider", "ics", "--email", BUDI,
               "--calendar", str(EXAMPLE_ICS), option, "", "--yes")
    assert proc.returncode == 2 and "empty" in proc.stderr and "Traceback" not in proc.stderr
    assert enrolled(site) == 0


def test_a_configured_person_can_keep_their_published_url_in_the_vault_only(site):  # noqa: F811
    import functools
    import http.server
    import threading

    token = "s3cr3t-public-link-token"
    served = site / "served" / "remote.php" / "dav" / "public-calendars" / token
    served.parent.mkdir(parents=True)
    served.write_bytes(EXAMPLE_ICS.read_bytes())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site / "served"))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = site / "config.toml"
        # Budi's entry names no calendar: the URL is a secret and is given only at enrollment
        config.write_text(config.read_text() + f'\n[[people]]\nemail = "{BUDI}"\nconnector = "ics"\n')
        assert run("config", "check", "--config", str(config)).returncode in (0, 2)  # key source may be absent
        url = f"http://127.0.0.1:{server.server_address[1]}/remote.php/dav/public-calendars/{token}"
        proc = run("enroll", "--config", str(config), "--provider", "ics", "--email", BUDI, "--calendar", url, "--yes")
        assert proc.returncode == 0, proc.stderr
        synced = run("sync", "--config", str(config), "--person", BUDI)
        assert synced.returncode == 0, synced.stdout + synced.stderr
        assert "synced 1/1 people" in synced.stdout
        assert token not in (site / "config.toml").read_text()
        assert token.encode() not in (site / "state" / "state.sqlite3").read_bytes()
    finally:
        server.shutdown()
        server.server_close()
