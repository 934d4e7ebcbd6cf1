"""CalDAV end to end, as an operator runs it: enroll (service account or the person's own
password), sync, audit, status against a real Radicale server and a real SQLite store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.helpers import SERVICE
from tests.radicale_server import Calendar, RadicaleServer, calendar, radicale  # noqa: F401
from tests.test_caldav_reading import upload_split
from tests.test_service_cli import EXAMPLE_ICS, RINA, cli

AUDIT = ["--start", "2026-12-14", "--end", "2026-12-27", "--format", "json"]


def write_site(folder: Path, server: RadicaleServer, *, username: str | None, password: str | None) -> str:
    assert cli("keygen", "--out", str(folder / "vault-key")).returncode == 0
    account = ""
    if username is not None:
        secret = folder / "caldav-password"
        secret.write_text((password or "") + "\n")
        secret.chmod(0o600)
        account = f'username = "{username}"\npassword_file = "caldav-password"\n'
    (folder / "config.toml").write_text(f'''
{SERVICE}
[connectors.caldav]
url = "{server.url}/"
server = "radicale"
max_retry_wait = 5
{account}''')
    return str(folder / "config.toml")


def stored_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (folder / "state").glob("state.sqlite3*"))


def test_audit_of_a_radicale_calendar_equals_the_audit_of_its_ics_file(tmp_path, radicale, calendar):  # noqa: F811
    upload_split(calendar, EXAMPLE_ICS)
    config = write_site(tmp_path, radicale, username=calendar.username, password=calendar.password)
    enrolled = cli("enroll", "--config", config, "--provider", "caldav", "--email", RINA, "--yes")
    assert enrolled.returncode == 0, enrolled.stderr
    assert "read-only" in enrolled.stdout
    synced = cli("sync", "--config", config)
    assert synced.returncode == 0 and "synced 1/1 people" in synced.stdout, synced.stdout + synced.stderr

    from_store = json.loads(cli("audit", "--config", config, "--person", RINA, *AUDIT).stdout)
    from_file = json.loads(cli("audit", "--ics", str(EXAMPLE_ICS), "--me", RINA, "--tz", "Asia/Jakarta",
                               *AUDIT).stdout)
    assert from_store["days"] == from_file["days"]
    assert from_store["findings"] == from_file["findings"]
    assert from_file["findings"], "the example week has findings to compare"

    # the store keeps no title, no address of others, no calendar path and no password
    raw = stored_bytes(tmp_path)
    for secret in (b"budi@agency.go.id", calendar.username.encode(), calendar.password.encode(), b"/calendar/",
                   b"rapat-anggaran-2026", b"lembur-laporan", b"Ruang Rapat"):
        assert secret not in raw, secret
    db = sqlite3.connect(tmp_path / "state" / "state.sqlite3")
    assert db.execute("SELECT DISTINCT calendar FROM events").fetchall() == [("caldav",)]
    db.close()

    # the owner deletes the Saturday's work between two syncs: the next sync forgets it, and
    # the audit equals the audit of the file without it
    [saturday] = [n for n in calendar.names() if "UID:sabtu-kerja" in (calendar.get(n) or "")]
    calendar.delete(saturday)
    again = cli("sync", "--config", config)
    assert again.returncode == 0 and "synced 1/1 people" in again.stdout, again.stdout + again.stderr
    after = json.loads(cli("audit", "--config", config, "--person", RINA, *AUDIT).stdout)
    without = tmp_path / "without-saturday.ics"
    text = EXAMPLE_ICS.read_text()
    start = text.rindex("BEGIN:VEVENT", 0, text.index("UID:sabtu-kerja"))
    without.write_text(text[:start] + text[text.index("END:VEVENT", start) + len("END:VEVENT") + 1:])
    expected = json.loads(cli("audit", "--ics", str(without), "--me", RINA, "--tz", "Asia/Jakarta", *AUDIT).stdout)
    assert after["days"] != from_store["days"]
    assert (after["days"], after["findings"]) == (expected["days"], expected["findings"])


def test_a_wrong_password_is_auth_expired_with_the_fix_in_sync_and_status(tmp_path, radicale, calendar):  # noqa: F811
    upload_split(calendar, EXAMPLE_ICS)
    config = write_site(tmp_path, radicale, username=calendar.username, password=calendar.password)
    assert cli("enroll", "--config", config, "--provider", "caldav", "--email", RINA, "--yes").returncode == 0
    (tmp_path / "caldav-password").write_text("not-the-password\n")

    synced = cli("sync", "--config", config)
    assert "Traceback" not in synced.stderr
    output = synced.stdout + synced.stderr
    assert "synced 0/1 people" in output and "wrong username or password" in output
    assert "not-the-password" not in output and calendar.username not in output

    status = cli("status", "--config", config)
    assert status.returncode == 0 and "HTTP 401" in status.stdout and "wrong username or password" in status.stdout
    assert "fix password_file in [connectors.caldav] or enroll the person again" in status.stdout
    assert calendar.username not in status.stdout and "not-the-password" not in status.stdout

    refused = cli("enroll", "--config", config, "--provider", "caldav", "--email", "sari@agency.go.id", "--yes")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "wrong username or password" in refused.stderr and "password_file" in refused.stderr


def test_enroll_with_the_persons_own_password_keeps_it_only_encrypted(tmp_path, radicale, calendar):  # noqa: F811
    upload_split(calendar, EXAMPLE_ICS)
    config = write_site(tmp_path, radicale, username=None, password=None)
    no_password = cli("enroll", "--config", config, "--provider", "caldav", "--email", RINA, "--yes")
    assert no_password.returncode == 2 and "BALANCED_CALENDAR_CALDAV_PASSWORD" in no_password.stderr
    env = {"BALANCED_CALENDAR_CALDAV_USERNAME": calendar.username,
           "BALANCED_CALENDAR_CALDAV_PASSWORD": calendar.password}
    enrolled = cli("enroll", "--config", config, "--provider", "caldav", "--email", RINA, "--yes",
                   "--calendar", calendar.url, "--protect", env=env)
    assert enrolled.returncode == 0, enrolled.stderr
    assert "read and write own blocks" in enrolled.stdout
    synced = cli("sync", "--config", config)
    assert "synced 1/1 people" in synced.stdout, synced.stdout + synced.stderr
    raw = stored_bytes(tmp_path)
    assert calendar.password.encode() not in raw and calendar.username.encode() not in raw


@pytest.mark.parametrize("address", ["http://example.org/dav/", "ftp://127.0.0.1/x/"])
def test_enroll_refuses_a_calendar_address_that_would_leak_the_password(tmp_path, radicale, address):  # noqa: F811
    config = write_site(tmp_path, radicale, username="svc", password="x")
    refused = cli("enroll", "--config", config, "--provider", "caldav", "--email", RINA, "--yes",
                  "--calendar", address)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "http" in refused.stderr
