"""Google people in a real sync (``sync_all`` with a SQLite store): the provider's
``max_concurrency`` holds, the first sync batches the zone lookups of everyone, the zone
Google reports becomes the person's zone, and a steady-state sync of everyone is one batch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from balanced_calendar.config import load_config
from balanced_calendar.enrollment import EnrollRequest, enroll
from balanced_calendar.runtime import open_runtime
from balanced_calendar.sync import sync_all
from balanced_calendar.vault import write_key
from tests.contract.scenario import at
from tests.fakes.google_calendar import FakeGoogle
from tests.fakes.google_support import register_service_account, stamp

PEOPLE = [f"pegawai{i}@agency.go.id" for i in range(6)]


@pytest.fixture()
def fake() -> Iterator[FakeGoogle]:
    server = FakeGoogle()
    yield server
    server.close()


def test_sync_of_many_people_keeps_the_provider_limit_and_batches_first_lookups(fake: FakeGoogle, tmp_path: Path):
    for i, email in enumerate(PEOPLE):
        fake.user(email, zone="Asia/Makassar" if i % 2 else "Asia/Jayapura")
        fake.put(email, {"id": f"rapat{i}", "start": stamp(at(15, 9)), "end": stamp(at(15, 10))})
    register_service_account(fake, tmp_path)
    write_key(tmp_path / "vault-key")
    people = "".join(f'[[people]]\nemail = "{e}"\nconnector = "google"\n\n' for e in PEOPLE)
    (tmp_path / "config.toml").write_text(f'''
[service]
state_dir = "state"
vault_key_file = "vault-key"
timezone = "Asia/Jakarta"
workers = 6

[connectors.google]
mode = "domain"
service_account_file = "service-account.json"
api_endpoint = "{fake.url}"
max_concurrency = 2

{people}''')
    config = load_config(tmp_path / "config.toml")
    with open_runtime(config, environ={}) as rt:
        for email in PEOPLE:
            enroll(rt, EnrollRequest(email=email, provider="google"))
        fake.seen.clear()
        fake.latency = 0.05
        fake.max_in_flight = 0
        report = sync_all(rt)
        assert len(report.failed) == 0, report.describe()
        assert fake.max_in_flight == 2
        assert fake.count("batch") == 1 and fake.count("settings.get", batched=True) == 6
        assert fake.count("settings.get") == 0 and fake.count("token") == 0  # tokens came from enrollment
        zones = {p.email: p.timezone for p in rt.store.list_people()}
        assert zones == {e: "Asia/Makassar" if i % 2 else "Asia/Jayapura" for i, e in enumerate(PEOPLE)}
        fake.seen.clear()
        assert not sync_all(rt).failed  # the window moved with the new zones: each reads in full once more
        assert [s.op for s in fake.seen if not s.batched] == ["batch"] + ["events.list"] * len(PEOPLE)
        fake.seen.clear()
        assert not sync_all(rt).failed  # steady state: one batch holds everyone's incremental read
        assert [s.op for s in fake.seen if not s.batched] == ["batch"]
        assert [(s.op, "syncToken" in s.query) for s in fake.seen if s.batched] == [("events.list", True)] * 6
        fake.put(PEOPLE[3], {"id": "baru", "start": stamp(at(16, 9)), "end": stamp(at(16, 10))})
        fake.seen.clear()
        assert sync_all(rt).results[3].events == 1  # the change arrives through the batched read
        assert [s.op for s in fake.seen if not s.batched] == ["batch"]
    assert fake.schema_errors == []
