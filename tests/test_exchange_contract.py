"""The ``exchange`` connector against a local EWS server, through the real exchangelib:
the connector contracts (reading, change detection, own-block writes) and what the server
actually receives."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from balanced_calendar.model import BlockRef, Window
from connectors.base import Connector
from connectors.exchange import ExchangeSettings
from tests.contract.scenario import JAKARTA, OWNER, SCENARIO, SECRET_TITLE, SpecEvent
from tests.contract.test_connector_changes import BLOCK, NEW, WINDOW, ChangesContract, WritesContract
from tests.contract.test_connector_contract import ConnectorContract
from tests.fakes.ews import UTC, FakeEws, scenario_item

SERVICE, PASSWORD = "svc-balanced", "Sv5-pass-123"


@pytest.fixture(scope="session")
def ews_server() -> Iterator[FakeEws]:
    fake = FakeEws().start()
    yield fake
    fake.stop()


@pytest.fixture()
def ews(ews_server: FakeEws) -> FakeEws:
    ews_server.reset()
    ews_server.add_service_account(SERVICE, PASSWORD, {OWNER})
    for spec in SCENARIO:
        ews_server.put(OWNER, scenario_item(spec, OWNER))
    return ews_server


def settings_for(fake: FakeEws, folder: Path, **extra: object) -> ExchangeSettings:
    secret = folder / "ews-password"
    secret.write_text(PASSWORD + "\n")
    os.chmod(secret, 0o600)
    raw = {"name": "exchange", "auth": "basic", "username": SERVICE, "service_endpoint": fake.url,
           "password_file": str(secret), **extra}
    return ExchangeSettings.model_validate(raw)


def connector_for(fake: FakeEws, folder: Path, *, allow_write: bool = True, **extra: object) -> Connector:
    from connectors._ews_connector import ExchangeConnector

    return ExchangeConnector(settings_for(fake, folder, **extra), owner=OWNER, allow_write=allow_write)


class TestExchange(ConnectorContract):
    @pytest.fixture()
    def connector(self, ews: FakeEws, tmp_path: Path) -> Connector:
        return connector_for(ews, tmp_path)


class TestExchangeReadOnly(ConnectorContract):
    @pytest.fixture()
    def connector(self, ews: FakeEws, tmp_path: Path) -> Connector:
        return connector_for(ews, tmp_path, allow_write=False)


class ExchangeBackend:
    def __init__(self, fake: FakeEws, folder: Path) -> None:
        self.fake, self.folder = fake, folder

    def connector(self) -> Connector:
        return connector_for(self.fake, self.folder)

    def add(self, spec: SpecEvent) -> None:
        self.fake.put(OWNER, scenario_item(spec, OWNER))

    def move(self, uid: str, start: dt.datetime, end: dt.datetime) -> None:
        item = self.fake.find(OWNER, uid)
        item.start, item.end = start.astimezone(UTC), end.astimezone(UTC)
        self.fake.put(OWNER, item)

    def delete(self, uid: str) -> None:
        self.fake.remove(OWNER, uid)

    def expire(self) -> None:
        self.fake.expire_sync_states(OWNER)

    def edit_block(self, ref: BlockRef, start: dt.datetime, end: dt.datetime) -> None:
        item = self.fake.mailbox(OWNER).items[ref.provider_id]
        item.start, item.end = start.astimezone(UTC), end.astimezone(UTC)
        self.fake.put(OWNER, item)

    def provider_id_of(self, uid: str) -> str:
        return self.fake.find(OWNER, uid).item_id


class TestExchangeChanges(ChangesContract, WritesContract):
    @pytest.fixture()
    def backend(self, ews: FakeEws, tmp_path: Path) -> ExchangeBackend:
        return ExchangeBackend(ews, tmp_path)

    def test_an_unchanged_calendar_is_not_read_again(self, backend):
        state = self.first(backend)
        backend.fake.requests.clear()
        assert backend.connector().read_changes(WINDOW, JAKARTA, state).empty
        assert "FindItem" not in [r.operation for r in backend.fake.requests]
        assert "SyncFolderItems" in [r.operation for r in backend.fake.requests]

    def test_a_change_outside_the_window_still_gives_a_correct_full_read(self, backend):
        state = self.first(backend)
        backend.move("next-week", dt.datetime(2026, 12, 23, 9, tzinfo=JAKARTA), dt.datetime(2026, 12, 23, 10, tzinfo=JAKARTA))
        changes = backend.connector().read_changes(WINDOW, JAKARTA, state)
        assert changes.full and "next-week" not in {e.uid for e in changes.upserts}
        assert "meeting-accepted" in {e.uid for e in changes.upserts}


def test_reads_never_ask_for_subjects_locations_or_bodies(ews: FakeEws, tmp_path: Path) -> None:
    connector_for(ews, tmp_path).read(WINDOW, JAKARTA)
    asked = b"".join(r.body for r in ews.requests)
    assert b"GetItem" in asked and b"CalendarView" in asked
    for field in (b"item:Subject", b"calendar:Location", b"item:Body", b"item:Categories"):
        assert field not in asked
    assert all(r.mailbox == OWNER for r in ews.requests)  # every request impersonates the person


def test_own_block_is_written_without_invitations_and_tagged(ews: FakeEws, tmp_path: Path) -> None:
    connector = connector_for(ews, tmp_path)
    ref = connector.create_block(BLOCK)
    [create] = [r for r in ews.requests if r.operation == "CreateItem"]
    assert create.attrs.get("SendMeetingInvitations") == "SendToNone"
    item = ews.mailbox(OWNER).items[ref.provider_id]
    assert (item.tag, item.subject, item.free_busy) == (BLOCK.uid, "Fokus", "Busy")
    assert (item.start, item.end) == (BLOCK.start, BLOCK.end)
    connector.update_block(replace(BLOCK, start=BLOCK.start + dt.timedelta(hours=1)), ref)
    [update] = [r for r in ews.requests if r.operation == "UpdateItem"]
    assert update.attrs.get("ConflictResolution") == "NeverOverwrite"
    assert update.attrs.get("SendMeetingInvitationsOrCancellations") == "SendToNone"
    # only our block's subject is ever asked for
    ews.requests.clear()
    titles = {e.uid: e.title for e in connector.read(WINDOW, JAKARTA)}
    assert titles[BLOCK.uid] == "Fokus" and SECRET_TITLE not in titles.values()
    subject_asks = [r for r in ews.requests if b"item:Subject" in r.body]
    assert len(subject_asks) == 1 and subject_asks[0].body.count(b"<t:ItemId ") == 1


def test_recurring_occurrences_get_one_uid_each(ews: FakeEws, tmp_path: Path) -> None:
    base = scenario_item(SCENARIO[1], OWNER)
    for day in (15, 16, 17):
        start = dt.datetime(2026, 12, day, 8, tzinfo=JAKARTA).astimezone(UTC)
        ews.put(OWNER, replace(base, uid="standup", start=start, end=start + dt.timedelta(minutes=15),
                                item_type="Occurrence", recurrence_id=start, item_id=""))
    events = [e for e in connector_for(ews, tmp_path).read(WINDOW, JAKARTA) if e.uid.startswith("standup")]
    assert sorted(e.uid for e in events) == ["standup/20261215T010000Z", "standup/20261216T010000Z",
                                             "standup/20261217T010000Z"]
    assert [e.start.hour for e in events] == [8, 8, 8]


def test_working_elsewhere_tentative_and_unanswered_invitations(ews: FakeEws, tmp_path: Path) -> None:
    from balanced_calendar.model import Response, ShowAs

    item = ews.find(OWNER, "meeting-accepted")
    item.free_busy, item.my_response = "WorkingElsewhere", "NoResponseReceived"
    ews.put(OWNER, item)
    lunch = ews.find(OWNER, "lunch-free")
    lunch.free_busy = "Tentative"
    ews.put(OWNER, lunch)
    events = {e.uid: e for e in connector_for(ews, tmp_path).read(WINDOW, JAKARTA)}
    assert (events["meeting-accepted"].show_as, events["meeting-accepted"].response) == (
        ShowAs.WORKING_ELSEWHERE, Response.NEEDS_ACTION)
    assert events["lunch-free"].show_as is ShowAs.TENTATIVE


def test_all_day_dates_follow_the_items_windows_zone(ews: FakeEws, tmp_path: Path) -> None:
    """An all-day event created in Tokyo is midnight-to-midnight there: its dates stay the same
    for a reader in Jakarta."""
    tokyo = dt.timezone(dt.timedelta(hours=9))
    start = dt.datetime(2026, 12, 18, tzinfo=tokyo)
    ews.put(OWNER, replace(scenario_item(SCENARIO[1], OWNER), uid="holiday-tokyo", is_all_day=True,
                           start=start.astimezone(UTC), end=(start + dt.timedelta(days=1)).astimezone(UTC),
                           zone="Tokyo Standard Time", item_id=""))
    [event] = [e for e in connector_for(ews, tmp_path).read(WINDOW, JAKARTA) if e.uid == "holiday-tokyo"]
    assert (event.all_day, event.start, event.end) == (True, dt.date(2026, 12, 18), dt.date(2026, 12, 19))
