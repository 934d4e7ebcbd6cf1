"""``balanced-calendar store migrate``: SQLite into PostgreSQL in one verifiable pass."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

from balanced_calendar.store import PersonRecord, SQLiteStore
from balanced_calendar.store.postgres import PostgresStore
from tests.contract.store_suite import ME, OTHER, T0, WINDOW, enroll_two, fill_everything
from tests.pgserver import PASSWORD, PgServer

BIN = Path(sys.executable).with_name("balanced-calendar")


def test_migrate_copies_everything_with_counts_and_checksums_and_keeps_pseudonyms(
        pg_server: PgServer, pg_database: str, tmp_path: Path) -> None:
    state = tmp_path / "state"
    with SQLiteStore(state) as old:
        enroll_two(old)
        fill_everything(old, ME)
        fill_everything(old, OTHER)
        old.erase_person(OTHER, "consent_withdrawn")
        old.upsert_person(PersonRecord(email="new@kemenkeu.go.id", connector="ics"))
        before = {
            "people": old.list_people(), "pseudonym": old.pseudonym(ME), "events": old.load_events(ME, *WINDOW),
            "jobs": old.jobs(), "consents": old.consents(ME), "outbox": old.pending(T0),
            "findings": old.load_findings(ME, dt.date(2026, 12, 1), dt.date(2026, 12, 31)),
            "blocks": old.own_blocks(ME), "erasures": old.erasure_log(), "runs": old.last_runs(ME),
            "credentials": old.get_credentials(ME, "google"),
        }
    password = tmp_path / "pw"
    password.write_text(PASSWORD)
    password.chmod(0o600)
    url = pg_server.tcp_url(pg_database)
    out = subprocess.run([str(BIN), "store", "migrate", "--from", f"sqlite://{state}", "--to", url,
                          "--password-file", str(password)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "every count and checksum matches" in out.stdout
    rows = {line.split()[0]: int(line.split()[1]) for line in out.stdout.splitlines()[1:-1]}
    assert rows["people"] == 2 and rows["events"] == 2 and rows["erasure_log"] == 1 and rows["jobs"] == 2
    assert all(line.endswith(" ok") for line in out.stdout.splitlines()[1:-1])
    assert PASSWORD not in out.stdout + out.stderr

    with PostgresStore(url, password=PASSWORD) as new:
        after = {
            "people": new.list_people(), "pseudonym": new.pseudonym(ME), "events": new.load_events(ME, *WINDOW),
            "jobs": new.jobs(), "consents": new.consents(ME), "outbox": new.pending(T0),
            "findings": new.load_findings(ME, dt.date(2026, 12, 1), dt.date(2026, 12, 31)),
            "blocks": new.own_blocks(ME), "erasures": new.erasure_log(), "runs": new.last_runs(ME),
            "credentials": new.get_credentials(ME, "google"),
        }
        assert after == before
        # the copied database keeps working: new rows get fresh ids, the hashing is the same
        new.upsert_person(PersonRecord(email=OTHER, connector="caldav"))
        assert len(new.list_people()) == 3
        new.erase_person(ME, "consent_withdrawn")
        assert [e.pseudonym for e in new.erasure_log()][-1] == before["pseudonym"]

    again = subprocess.run([str(BIN), "store", "migrate", "--from", f"sqlite://{state}", "--to", url,
                            "--password-file", str(password)], capture_output=True, text=True, timeout=120)
    assert again.returncode != 0 and "not empty" in again.stderr + again.stdout


def test_migrate_refuses_a_password_in_the_url(tmp_path: Path) -> None:
    out = subprocess.run([str(BIN), "store", "migrate", "--from", f"sqlite://{tmp_path}",
                          "--to", "postgresql://bc:hunter2@127.0.0.1/db"], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "password" in out.stderr and "hunter2" not in out.stderr
