"""The ``exchange`` provider end to end, as an operator runs it: config in the documented
format, ``enroll --provider exchange --yes`` (impersonation), ``sync``, ``status`` and
``audit --person`` against the local EWS server, which serves the documented example week
as Exchange calendar items."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from balanced_calendar.model import Window
from connectors import connector_class
from tests.helpers import SERVICE as SERVICE_SECTION
from tests.fakes.ews import FakeEws, items_from_events
from tests.test_service_cli import EXAMPLE_ICS, RINA, cli

SERVICE, PASSWORD = "AGENCY\\svc-balanced", "Ews-Pass-2026"
ARGS = ["--start", "2026-12-14", "--end", "2026-12-27", "--format", "json"]


@pytest.fixture(scope="module")
def ews_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeEws, Path]]:
    site = tmp_path_factory.mktemp("exchange-site")
    fake = FakeEws().start()
    fake.add_service_account(SERVICE, PASSWORD, {RINA})
    jakarta = __import__("zoneinfo").ZoneInfo("Asia/Jakarta")
    window = Window(dt.datetime(2026, 12, 1, tzinfo=jakarta), dt.datetime(2027, 1, 31, tzinfo=jakarta))
    events = connector_class("ics")(str(EXAMPLE_ICS), owner=RINA).read(window, jakarta)
    for item in items_from_events(events, RINA):
        fake.put(RINA, item)
    fake.mailbox("outsider@agency.go.id")
    assert cli("keygen", "--out", str(site / "vault-key")).returncode == 0
    (site / "ews-password").write_text(PASSWORD + "\n")
    os.chmod(site / "ews-password", 0o600)
    (site / "config.toml").write_text(f'''
{SERVICE_SECTION}
[connectors.exchange]
service_endpoint = "{fake.url}"
auth = "basic"
username = 'AGENCY\\svc-balanced'
password_file = "ews-password"

[[people]]
email = "{RINA}"
connector = "exchange"

[[people]]
email = "outsider@agency.go.id"
connector = "exchange"
''')
    yield fake, site
    fake.stop()


def test_enroll_sync_status_and_audit_match_the_ics_of_the_same_week(ews_site: tuple[FakeEws, Path]) -> None:
    fake, site = ews_site
    config = str(site / "config.toml")
    enrolled = cli("enroll", "--config", config, "--provider", "exchange", "--email", RINA, "--yes")
    assert enrolled.returncode == 0, enrolled.stderr
    synced = cli("sync", "--config", config)
    assert synced.returncode == 0, synced.stderr + synced.stdout
    assert "synced 1/1 people" in synced.stdout

    from_ews = json.loads(cli("audit", "--config", config, "--person", RINA, *ARGS).stdout)
    from_file = json.loads(cli("audit", "--ics", str(EXAMPLE_ICS), "--me", RINA, "--tz", "Asia/Jakarta",
                               *ARGS).stdout)
    assert from_ews["days"] == from_file["days"] and from_ews["findings"] == from_file["findings"]
    assert from_ews["summary"] == from_file["summary"]
    assert from_ews["days"][0]["work_minutes"] == 435  # the Monday of the example

    status = cli("status", "--config", config)
    assert status.returncode == 0 and RINA not in status.stdout and "never" not in status.stdout
    raw = b"".join(p.read_bytes() for p in (site / "state").glob("state.sqlite3*"))
    for secret in (b"secret title", PASSWORD.encode(), b"guest", b"rapat-anggaran-2026"):
        assert secret not in raw

    # a second sync of the unchanged calendar only asks SyncFolderItems
    fake.requests.clear()
    again = cli("sync", "--config", config)
    assert again.returncode == 0, again.stderr
    assert {r.operation for r in fake.requests} <= {"GetFolder", "SyncFolderItems"}


def test_enrolling_someone_outside_the_impersonation_scope_is_refused_with_the_fix(
        ews_site: tuple[FakeEws, Path]) -> None:
    _, site = ews_site
    before = cli("people", "--config", str(site / "config.toml")).stdout
    refused = cli("enroll", "--config", str(site / "config.toml"), "--provider", "exchange",
                  "--email", "outsider@agency.go.id", "--yes")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "may not impersonate" in refused.stderr and "ApplicationImpersonation" in refused.stderr
    assert cli("people", "--config", str(site / "config.toml")).stdout == before  # nothing recorded
