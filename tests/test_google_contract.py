"""The Google connector passes the connector contract suites (read, incremental, writes),
driving the real Google client libraries against the local Calendar v3 fake."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from balanced_calendar.model import BlockRef
from connectors.base import Connector
from connectors.google import GoogleSettings
from tests.contract.scenario import OWNER, SCENARIO, SpecEvent
from tests.contract.test_connector_changes import ChangesContract, WritesContract
from tests.contract.test_connector_contract import ConnectorContract
from tests.fakes.google_calendar import FakeGoogle
from tests.fakes.google_support import fake, sa_file  # noqa: F401 - module fixtures
from tests.fakes.google_support import connector, domain_settings, google_item, register_service_account, stamp


@pytest.fixture()
def settings(fake: FakeGoogle, sa_file: Path) -> Iterator[GoogleSettings]:
    """The scenario week in Rina's primary calendar; every answer must match the API's schemas."""
    fake.reset()
    fake.user(OWNER)
    for spec in SCENARIO:
        fake.put(OWNER, google_item(spec))
    yield domain_settings(fake, sa_file)
    assert fake.schema_errors == []


class TestGoogleDomainMode(ConnectorContract):
    @pytest.fixture()
    def connector(self, settings: GoogleSettings) -> Connector:
        return connector(settings, protect=True)


class TestGoogleReadOnly(ConnectorContract):
    @pytest.fixture()
    def connector(self, settings: GoogleSettings) -> Connector:
        return connector(settings, protect=False)


class GoogleBackend:
    def __init__(self, fake: FakeGoogle, settings: GoogleSettings) -> None:
        self.fake = fake
        self.settings = settings

    def connector(self) -> Connector:
        return connector(self.settings, protect=True)

    def add(self, spec: SpecEvent) -> None:
        self.fake.put(OWNER, google_item(spec))

    def move(self, uid: str, start: dt.datetime, end: dt.datetime) -> None:
        self.fake.edit(OWNER, uid, start=stamp(start), end=stamp(end))

    def delete(self, uid: str) -> None:
        self.fake.remove(OWNER, uid)

    def expire(self) -> None:
        self.fake.expire_sync_tokens(OWNER)

    def edit_block(self, ref: BlockRef, start: dt.datetime, end: dt.datetime) -> None:
        self.fake.edit(OWNER, ref.provider_id, start=stamp(start), end=stamp(end))

    def provider_id_of(self, uid: str) -> str:
        return uid


class TestGoogleChanges(ChangesContract, WritesContract):
    @pytest.fixture()
    def backend(self, fake: FakeGoogle, settings: GoogleSettings) -> GoogleBackend:
        return GoogleBackend(fake, settings)
