"""The service commands end to end, as an operator runs them: keygen, config check, enroll,
sync, audit --person, people, status, unenroll — against a real SQLite store."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLE_ICS = FIXTURES / "cli" / "design_example_overtime_week.ics"
RINA = "rina@agency.go.id"


def cli(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("balanced-calendar")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, input=input, timeout=180,
                          env={**os.environ, **(env or {})})


@pytest.fixture()
def site(tmp_path: Path) -> Path:
    """A config with one ICS person, a team, a vault key; clock-independent sync window."""
    assert cli("keygen", "--out", str(tmp_path / "vault-key")).returncode == 0
    (tmp_path / "config.toml").write_text(f'''
[service]
state_dir = "state"
vault_key_file = "vault-key"
policy = "asn-id"
timezone = "Asia/Jakarta"
# a window wide enough to hold the fixture's December 2026 weeks whatever today is
sync_past_weeks = 520
sync_future_weeks = 520

[[teams]]
id = "keuangan"
name = "Keuangan"
leaders = ["{RINA}"]

[[people]]
email = "{RINA}"
connector = "ics"
calendar = "{EXAMPLE_ICS}"
team = "keuangan"
''')
    return tmp_path


def test_keygen_writes_a_private_key_and_never_overwrites(tmp_path):
    key = tmp_path / "k"
    assert cli("keygen", "--out", str(key)).returncode == 0
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    before = key.read_bytes()
    again = cli("keygen", "--out", str(key))
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert key.read_bytes() == before


def test_config_check_accepts_a_good_file_and_lists_all_problems_of_a_bad_one(site):
    ok = cli("config", "check", "--config", str(site / "config.toml"))
    assert ok.returncode == 0 and ": OK" in ok.stdout
    bad = site / "bad.toml"
    bad.write_text('[service]\ntimezone = "Mars/Olympus"\nworkers = "four"\ncolour = "blue"\n'
                   '[[people]]\nemail = "not-an-address"\nconnector = "carrier-pigeon"\n')
    proc = cli("config", "check", "--config", str(bad))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    for path in ("service.timezone", "service.workers", "service.colour", "people[0].email", "people[0].connector"):
        assert path in proc.stderr, path


def test_enroll_needs_consent(site):
    proc = cli("enroll", "--config", str(site / "config.toml"), "--provider", "ics", "--email", RINA, input="n\n")
    assert proc.returncode == 2 and "consent was not given" in proc.stderr
    assert "Persetujuan pemrosesan data kalender" in proc.stdout  # Bahasa Indonesia first (service language id)
    assert "Consent to process calendar data" in proc.stdout
    people = cli("people", "--config", str(site / "config.toml"))
    assert "0 enrolled" in people.stdout


def test_enroll_sync_audit_status_and_unenroll(site):
    config = str(site / "config.toml")
    enrolled = cli("enroll", "--config", config, "--provider", "ics", "--email", RINA, "--yes")
    assert enrolled.returncode == 0, enrolled.stderr
    assert "read-only" in enrolled.stdout

    db = sqlite3.connect(site / "state" / "state.sqlite3")
    scopes, version = db.execute("SELECT scopes, text_version FROM consents").fetchone()
    assert "calendar.events.read" in scopes and "write" not in scopes and version
    db.close()

    synced = cli("sync", "--config", config)
    assert synced.returncode == 0, synced.stderr + synced.stdout
    assert "synced 1/1 people" in synced.stdout

    # The store gives the same audit as the ICS file itself: nothing lost in minimisation.
    args = ["--start", "2026-12-14", "--end", "2026-12-27", "--format", "json"]
    from_store = json.loads(cli("audit", "--config", config, "--person", RINA, *args).stdout)
    from_file = json.loads(cli("audit", "--ics", str(EXAMPLE_ICS), "--me", RINA, "--tz", "Asia/Jakarta", *args).stdout)
    assert from_store["days"] == from_file["days"]
    assert from_store["findings"] == from_file["findings"]

    # Nothing personal in the database file: no titles, no locations, no other addresses.
    raw = b"".join(p.read_bytes() for p in (site / "state").glob("state.sqlite3*"))
    for secret in (b"secret title", b"Ruang Rapat", b"budi@agency.go.id", b"rapat-anggaran-2026"):
        assert secret not in raw

    status = cli("status", "--config", config)
    assert status.returncode == 0 and RINA not in status.stdout
    assert "p-" in status.stdout and "never" not in status.stdout
    assert RINA in cli("status", "--config", config, "--show-addresses").stdout

    gone = cli("unenroll", "--config", config, "--email", RINA)
    assert gone.returncode == 0, gone.stderr
    assert "0 enrolled" in cli("people", "--config", config).stdout
    db = sqlite3.connect(site / "state" / "state.sqlite3")
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    leftovers = {t: db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables
                 if t not in ("meta", "erasure_log", "schema_migrations")}
    assert all(n == 0 for n in leftovers.values()), leftovers
    assert db.execute("SELECT COUNT(*) FROM erasure_log").fetchone()[0] == 1
    db.close()
    again = cli("audit", "--config", config, "--person", RINA, *args)
    assert again.returncode == 2 and "not enrolled" in again.stderr


def test_audit_table_speaks_the_persons_language(site):
    config = str(site / "config.toml")
    # the config owns a person's settings: Rina's entry says English
    (site / "config.toml").write_text((site / "config.toml").read_text() + 'language = "en"\n')
    assert cli("enroll", "--config", config, "--provider", "ics", "--email", RINA, "--yes").returncode == 0
    assert cli("sync", "--config", config).returncode == 0  # never-synced days are unknown, not zeros
    args = ["audit", "--config", config, "--person", RINA, "--start", "2026-12-14", "--end", "2026-12-20",
            "--format", "table"]
    english = cli(*args)  # service and policy are Indonesian; Rina chose English
    assert english.returncode == 0, english.stderr
    assert "2026-12-14 Mon workday" in english.stdout and "Total: work" in english.stdout
    indonesian = cli(*args, "--lang", "id")
    assert "2026-12-14 Sen  hari kerja" in indonesian.stdout and "Total: kerja" in indonesian.stdout


def test_protect_on_a_read_only_provider_is_refused_before_the_consent_text(site):
    proc = cli("enroll", "--config", str(site / "config.toml"), "--provider", "ics", "--email", RINA,
               "--protect", "--yes", "--language", "en")
    assert proc.returncode == 2 and "read-only" in proc.stderr and "Traceback" not in proc.stderr
    assert "Consent to process" not in proc.stdout  # no text that promises blocks
    db = sqlite3.connect(site / "state" / "state.sqlite3")
    assert db.execute("SELECT COUNT(*) FROM people").fetchone()[0] == 0


def test_consent_text_comes_in_the_persons_language_first(site):
    proc = cli("enroll", "--config", str(site / "config.toml"), "--provider", "ics", "--email", RINA,
               "--yes", "--language", "en")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.index("Consent to process") < proc.stdout.index("Persetujuan")
    db = sqlite3.connect(site / "state" / "state.sqlite3")
    assert "calendar.events.write.own_blocks" not in db.execute("SELECT scopes FROM consents").fetchone()[0]


def test_wrong_vault_key_is_a_clear_error_and_changes_nothing(site):
    config = str(site / "config.toml")
    assert cli("enroll", "--config", config, "--provider", "ics", "--email", RINA, "--yes").returncode == 0
    db_before = (site / "state" / "state.sqlite3").read_bytes()
    (site / "vault-key").unlink()
    assert cli("keygen", "--out", str(site / "vault-key")).returncode == 0
    proc = cli("sync", "--config", config)
    assert proc.returncode == 2 and "vault key" in proc.stderr and "Traceback" not in proc.stderr
    assert (site / "state" / "state.sqlite3").read_bytes() == db_before


def test_unknown_connector_at_enroll_is_explained(site):
    proc = cli("enroll", "--config", str(site / "config.toml"), "--provider", "google", "--email", "x@agency.go.id", "--yes")
    assert proc.returncode == 2 and "google" in proc.stderr and "Traceback" not in proc.stderr


def test_a_good_sync_of_an_unchanged_calendar_clears_the_last_error(site, tmp_path):
    """A failed sync then a good one that finds nothing changed: status must not keep the error."""
    calendar = tmp_path / "rina.ics"
    calendar.write_bytes(EXAMPLE_ICS.read_bytes())
    config = site / "config.toml"
    config.write_text(config.read_text().replace(str(EXAMPLE_ICS), str(calendar)))
    assert cli("enroll", "--config", str(config), "--provider", "ics", "--email", RINA, "--yes").returncode == 0
    assert cli("sync", "--config", str(config)).returncode == 0

    calendar.write_bytes((FIXTURES / "ics" / "malformed_html_login_page.ics").read_bytes())
    assert cli("sync", "--config", str(config)).returncode == 1
    failed = [line for line in cli("status", "--config", str(config)).stdout.splitlines() if line.startswith("p-")]
    assert len(failed) == 1 and len(failed[0].split()) > 7, failed  # the error is in the last column

    calendar.write_bytes(EXAMPLE_ICS.read_bytes())  # fixed: the same events as the first sync
    again = cli("sync", "--config", str(config))
    assert again.returncode == 0 and "synced 1/1" in again.stdout, again.stdout + again.stderr
    healed = [line for line in cli("status", "--config", str(config)).stdout.splitlines() if line.startswith("p-")]
    # person, last sync (date, time), next digest (day, date, time), next report (day, date, time): no error
    assert len(healed) == 1 and len(healed[0].split()) == 9, healed
