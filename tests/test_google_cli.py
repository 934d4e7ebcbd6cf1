"""Google Workspace end to end through the CLI, as an operator runs it: a config in the
documented format (domain-wide delegation), ``enroll --yes``, ``sync``, ``status`` and
``audit --person`` against the local Calendar v3 fake served over TLS with a private CA.

The calendar is the documented example week (an ICS fixture) converted to Google events:
the audit of what the Google connector stored must equal the audit of the ICS file itself.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import SERVICE
from tests.fakes.google_calendar import FakeGoogle
from tests.fakes.google_support import ics_to_google, private_ca, register_service_account
from tests.test_service_cli import EXAMPLE_ICS, RINA, cli

JAKARTA = ZoneInfo("Asia/Jakarta")
AUDIT = ["--start", "2026-12-14", "--end", "2026-12-27", "--format", "json"]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    return private_ca(tmp_path_factory.mktemp("google-ca"))


@pytest.fixture(scope="module")
def fake(tls: tuple[object, Path]) -> Iterator[FakeGoogle]:
    server = FakeGoogle(tls=tls[0])  # type: ignore[arg-type]
    yield server
    server.close()


@pytest.fixture()
def site(fake: FakeGoogle, tmp_path: Path) -> Path:
    fake.reset()
    fake.user(RINA, zone="Asia/Makassar")
    for item in ics_to_google(EXAMPLE_ICS, RINA, dt.datetime(2026, 12, 1, tzinfo=JAKARTA),
                              dt.datetime(2027, 1, 1, tzinfo=JAKARTA)):
        fake.put(RINA, item)
    register_service_account(fake, tmp_path)
    assert cli("keygen", "--out", str(tmp_path / "vault-key")).returncode == 0
    (tmp_path / "config.toml").write_text(f'''
{SERVICE}
[connectors.google]
mode = "domain"
service_account_file = "service-account.json"
api_endpoint = "{fake.url}"

[[people]]
email = "{RINA}"
connector = "google"
timezone = "Asia/Jakarta"
''')
    return tmp_path


def test_domain_mode_enroll_sync_audit_status(site: Path, fake: FakeGoogle, tls: tuple[object, Path]) -> None:
    config = str(site / "config.toml")
    trust = {"SSL_CERT_FILE": str(tls[1])}
    enrolled = cli("enroll", "--config", config, "--provider", "google", "--email", RINA, "--yes", env=trust)
    assert enrolled.returncode == 0, enrolled.stderr
    assert "read-only" in enrolled.stdout
    assert [s.op for s in fake.seen] == ["token", "calendarList.get"]
    db = sqlite3.connect(site / "state" / "state.sqlite3")
    [scopes] = db.execute("SELECT scopes FROM consents").fetchone()
    db.close()
    assert "auth/calendar.readonly" in scopes and "auth/calendar.settings.readonly" in scopes
    assert "auth/calendar.events" not in scopes

    fake.seen.clear()
    synced = cli("sync", "--config", config, env=trust)
    assert synced.returncode == 0 and "synced 1/1 people" in synced.stdout, synced.stdout + synced.stderr
    # the token enrollment got is reused from the vault; the zone is the config's: one list
    assert [s.op for s in fake.seen] == ["events.list"]

    from_store = json.loads(cli("audit", "--config", config, "--person", RINA, *AUDIT).stdout)
    from_file = json.loads(cli("audit", "--ics", str(EXAMPLE_ICS), "--me", RINA, "--tz", "Asia/Jakarta",
                               *AUDIT).stdout)
    assert from_store["days"] == from_file["days"]
    assert from_store["findings"] == from_file["findings"]
    assert from_store["summary"] == from_file["summary"]

    fake.seen.clear()
    again = cli("sync", "--config", config, env=trust)
    assert again.returncode == 0 and "synced 1/1 people" in again.stdout
    assert [(s.op, "syncToken" in s.query) for s in fake.seen] == [("events.list", True)]

    status = cli("status", "--config", config)
    assert status.returncode == 0 and RINA not in status.stdout and "p-" in status.stdout
    raw = b"".join(p.read_bytes() for p in (site / "state").glob("state.sqlite3*"))
    for secret in [b"Rapat anggaran", b"Ruang Rapat", b"budi@agency.go.id", b"rapatanggaran2026"] + [
            token.encode() for token in fake.access]:
        assert secret not in raw
    assert fake.schema_errors == []


def test_an_untrusted_certificate_fails_the_sync_with_a_hint(site: Path, fake: FakeGoogle,
                                                            tls: tuple[object, Path]) -> None:
    config = str(site / "config.toml")
    enrolled = cli("enroll", "--config", config, "--provider", "google", "--email", RINA, "--yes",
                   env={"SSL_CERT_FILE": str(tls[1])})
    assert enrolled.returncode == 0, enrolled.stderr
    synced = cli("sync", "--config", config, env={"SSL_CERT_FILE": "", "REQUESTS_CA_BUNDLE": ""})
    assert "synced 0/1 people" in synced.stdout
    assert "TLS certificate" in synced.stdout and "Traceback" not in synced.stderr
    status = cli("status", "--config", config)
    assert "TLS certificate" in status.stdout
    # with the CA named in the config instead of the environment, it works
    text = (site / "config.toml").read_text().replace('mode = "domain"', f'mode = "domain"\nca_file = "{tls[1]}"')
    (site / "config.toml").write_text(text)
    assert "synced 1/1 people" in cli("sync", "--config", config, env={"SSL_CERT_FILE": ""}).stdout


def test_user_mode_refuses_yes_with_the_way_to_sign_in(site: Path, fake: FakeGoogle) -> None:
    text = (site / "config.toml").read_text().replace('mode = "domain"\nservice_account_file = "service-account.json"',
                                                       'mode = "user"\nclient_secrets_file = "service-account.json"')
    (site / "config.toml").write_text(text)
    proc = cli("enroll", "--config", str(site / "config.toml"), "--provider", "google", "--email", RINA, "--yes")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--no-browser" in proc.stderr and fake.seen == []
