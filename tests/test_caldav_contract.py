"""The connector contract suites against a real Radicale server, in both incremental modes:
RFC 6578 sync-collection (Radicale's own row of the quirks table) and etag comparison (the
Zimbra row: no trusted sync tokens, no ``If-None-Match``)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

import pytest

from balanced_calendar.model import BlockRef
from connectors._dav_http import DavSession
from connectors._dav_quirks import quirks_for
from connectors.base import Connector
from connectors.dav import CaldavConnector
from tests.contract.scenario import JAKARTA, OWNER, SCENARIO, SpecEvent, to_ics
from tests.contract.test_connector_changes import WINDOW, ChangesContract, WritesContract
from tests.contract.test_connector_contract import ConnectorContract
from tests.radicale_server import Calendar, RadicaleServer, calendar, radicale  # noqa: F401


def connect(cal: Calendar, kind: str = "radicale", *, allow_write: bool = True) -> CaldavConnector:
    session = DavSession(cal.url, cal.username, cal.password)
    return CaldavConnector(session, cal.url, quirks=quirks_for(kind), owner=OWNER, allow_write=allow_write)


def upload(cal: Calendar, specs: tuple[SpecEvent, ...] = SCENARIO) -> None:
    """One resource per event, as CalDAV clients store them."""
    for spec in specs:
        cal.put(f"{spec.uid}.ics", to_ics((spec,)))


class RadicaleBackend:
    """The contract's backend: a Radicale calendar edited over plain HTTP by "another client"."""

    def __init__(self, server: RadicaleServer, cal: Calendar, kind: str) -> None:
        self.server, self.cal, self.kind = server, cal, kind
        self.specs = {s.uid: s for s in SCENARIO}
        upload(cal)

    def connector(self) -> Connector:
        return connect(self.cal, self.kind)

    def add(self, spec: SpecEvent) -> None:
        self.specs[spec.uid] = spec
        upload(self.cal, (spec,))

    def move(self, uid: str, start: dt.datetime, end: dt.datetime) -> None:
        self.add(replace(self.specs[uid], start=start, end=end))

    def delete(self, uid: str) -> None:
        self.cal.delete(f"{uid}.ics")

    def expire(self) -> None:
        self.server.expire_sync_tokens(self.cal)

    def edit_block(self, ref: BlockRef, start: dt.datetime, end: dt.datetime) -> None:
        """The owner drags the block in their calendar app: new times, everything else kept."""
        data = self.cal.get(ref.provider_id)
        assert data is not None
        utc = dt.timezone.utc
        data = re.sub(r"DTSTART[^\r\n]*", f"DTSTART:{start.astimezone(utc):%Y%m%dT%H%M%SZ}", data)
        data = re.sub(r"DTEND[^\r\n]*", f"DTEND:{end.astimezone(utc):%Y%m%dT%H%M%SZ}", data)
        self.cal.put(ref.provider_id, data)

    def provider_id_of(self, uid: str) -> str:
        return f"{uid}.ics"


class TestCaldavRead(ConnectorContract):
    @pytest.fixture()
    def connector(self, calendar: Calendar) -> Connector:  # noqa: F811
        upload(calendar)
        return connect(calendar)


class TestCaldavReadOnly(ConnectorContract):
    """A person who did not allow writes: the same calendar, every write refused."""

    @pytest.fixture()
    def connector(self, calendar: Calendar) -> Connector:  # noqa: F811
        upload(calendar)
        return connect(calendar, allow_write=False)


class MovedAway:
    """Beyond the shared contract: an event moved out of the window is reported removed."""

    def test_an_event_moved_out_of_the_window_is_removed(self, backend):
        state = self.first(backend)
        backend.move("meeting-accepted", dt.datetime(2027, 2, 1, 9, tzinfo=JAKARTA),
                     dt.datetime(2027, 2, 1, 10, tzinfo=JAKARTA))
        changes = backend.connector().read_changes(WINDOW, JAKARTA, state)
        assert not changes.full and changes.removed == ("meeting-accepted",) and changes.upserts == ()
        again = backend.connector().read_changes(WINDOW, JAKARTA, changes.state)
        assert again.empty


class TestCaldavSyncCollection(MovedAway, ChangesContract, WritesContract):
    @pytest.fixture()
    def backend(self, radicale: RadicaleServer, calendar: Calendar) -> RadicaleBackend:  # noqa: F811
        return RadicaleBackend(radicale, calendar, "radicale")

    def test_incremental_read_sends_only_the_change(self, backend):
        state = self.first(backend)
        backend.add(SpecEvent("added-later", dt.datetime(2026, 12, 17, 13, tzinfo=JAKARTA),
                              dt.datetime(2026, 12, 17, 14, tzinfo=JAKARTA)))
        connector = backend.connector()
        changes = connector.read_changes(WINDOW, JAKARTA, state)
        assert not changes.full and [e.uid for e in changes.upserts] == ["added-later"]
        assert connector.requests == 2  # the sync-collection report and one multiget

    def test_an_unchanged_calendar_costs_one_request(self, backend):
        state = self.first(backend)
        connector = backend.connector()
        assert connector.read_changes(WINDOW, JAKARTA, state).empty
        assert connector.requests == 1


class TestCaldavEtags(MovedAway, ChangesContract, WritesContract):
    """The Zimbra row: changes found by comparing the window's etags with the last read."""

    @pytest.fixture()
    def backend(self, radicale: RadicaleServer, calendar: Calendar) -> RadicaleBackend:  # noqa: F811
        return RadicaleBackend(radicale, calendar, "zimbra")

    def test_expired_state_gives_a_full_read(self, backend):
        """No tokens to expire in this mode: a state from another version is the stale one."""
        state = self.first(backend)
        backend.add(SpecEvent("added-later", dt.datetime(2026, 12, 17, 13, tzinfo=JAKARTA),
                              dt.datetime(2026, 12, 17, 14, tzinfo=JAKARTA)))
        stale = state.replace('{"v":2,', '{"v":1,', 1)
        changes = backend.connector().read_changes(WINDOW, JAKARTA, stale)
        assert changes.full and {"meeting-accepted", "added-later"} <= {e.uid for e in changes.upserts}

    def test_incremental_read_sends_only_the_change(self, backend):
        state = self.first(backend)
        backend.add(SpecEvent("added-later", dt.datetime(2026, 12, 17, 13, tzinfo=JAKARTA),
                              dt.datetime(2026, 12, 17, 14, tzinfo=JAKARTA)))
        changes = backend.connector().read_changes(WINDOW, JAKARTA, state)
        assert not changes.full and [e.uid for e in changes.upserts] == ["added-later"]
