"""The contract every connector passes (vdirsyncer's StorageTests; docs/contributing.md).

A provider's test class subclasses :class:`ConnectorContract` and supplies only the
``connector`` fixture: a connector whose calendar holds :data:`scenario.SCENARIO` and whose
owner is :data:`scenario.OWNER`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from balanced_calendar.model import Event, Kind, ReadOnlyConnector, Response, ShowAs, Status, Window
from connectors import connector_class
from connectors.base import Connector
from connectors.memory import MemoryConnector
from tests.contract.scenario import (JAKARTA, OWNER, SCENARIO, SECRET_TITLE, WINDOW_END, WINDOW_START, SpecEvent,
                                     to_ics)


def _by_uid(events: list[Event]) -> dict[str, Event]:
    return {e.uid.split("/")[0]: e for e in events}


class ConnectorContract:
    """What every connector promises about reading (and, when it can, writing own blocks).

    Not collected itself (no ``Test`` prefix); each subclass defines the ``connector`` fixture.
    """

    def read(self, connector: Connector) -> dict[str, Event]:
        return _by_uid(connector.read(Window(WINDOW_START, WINDOW_END), JAKARTA))

    def test_reads_exactly_the_live_events_overlapping_the_window(self, connector):
        assert set(self.read(connector)) == {
            "meeting-accepted", "evening-report", "invite-declined", "leave-two-days", "lunch-free",
            "straddles-window-start"}

    def test_times_are_aware_and_exact(self, connector):
        events = self.read(connector)
        meeting = events["meeting-accepted"]
        assert meeting.start == dt.datetime(2026, 12, 14, 9, tzinfo=JAKARTA)
        assert meeting.end == dt.datetime(2026, 12, 14, 10, 30, tzinfo=JAKARTA)
        assert meeting.start.utcoffset() == dt.timedelta(hours=7)
        leave = events["leave-two-days"]
        assert (leave.all_day, leave.start, leave.end) == (True, dt.date(2026, 12, 16), dt.date(2026, 12, 18))

    def test_owner_view_of_each_event(self, connector):
        events = self.read(connector)
        meeting = events["meeting-accepted"]
        assert (meeting.response, meeting.others, meeting.organizer_is_self) == (Response.ACCEPTED, 2, False)
        own = events["evening-report"]
        assert (own.response, own.others, own.organizer_is_self) == (Response.ORGANIZER, 0, True)
        assert events["invite-declined"].response is Response.DECLINED
        assert events["lunch-free"].show_as is ShowAs.FREE
        leave = events["leave-two-days"]
        assert leave.show_as is ShowAs.OOF and leave.kind is Kind.OUT_OF_OFFICE
        assert all(e.status is not Status.CANCELLED for e in events.values())

    def test_no_title_or_address_leaves_the_connector(self, connector):
        for event in self.read(connector).values():
            assert event.title is None
            assert "@" not in repr(event).replace(event.uid, "")
            assert SECRET_TITLE not in repr(event)

    def test_reading_twice_gives_the_same_events(self, connector):
        assert self.read(connector) == self.read(connector)

    def test_writes_only_where_allowed_and_only_own_blocks(self, connector):
        block = Event(uid="bc-focus-2026-12-21", start=dt.datetime(2026, 12, 21, 7, 30, tzinfo=JAKARTA),
                      end=dt.datetime(2026, 12, 21, 9, 30, tzinfo=JAKARTA), kind=Kind.OWN_BLOCK, title="Fokus")
        if connector.read_only:
            with pytest.raises(ReadOnlyConnector):
                connector.create_block(block)
            return
        ref = connector.create_block(block)
        window = Window(dt.datetime(2026, 12, 21, tzinfo=JAKARTA), dt.datetime(2026, 12, 22, tzinfo=JAKARTA))
        stored = [e for e in connector.read(window, JAKARTA) if e.kind is Kind.OWN_BLOCK]
        assert [(e.uid, e.start, e.end, e.title) for e in stored] == [(block.uid, block.start, block.end, "Fokus")]
        connector.delete_block(ref)
        assert [e for e in connector.read(window, JAKARTA) if e.kind is Kind.OWN_BLOCK] == []
        not_ours = Event(uid="someone-elses", start=block.start, end=block.end)
        with pytest.raises(ReadOnlyConnector):
            connector.create_block(not_ours)


class TestIcsFile(ConnectorContract):
    @pytest.fixture()
    def connector(self, tmp_path: Path) -> Connector:
        path = tmp_path / "calendar.ics"
        path.write_text(to_ics(), newline="")
        return connector_class("ics")(str(path), owner=OWNER)


def _memory_event(spec: SpecEvent) -> Event | None:
    if spec.status == "CANCELLED":
        return None
    all_day = not isinstance(spec.start, dt.datetime)
    oof = spec.busystatus == "OOF"
    response = {"ACCEPTED": Response.ACCEPTED, "DECLINED": Response.DECLINED}.get(
        spec.owner_partstat or "", Response.ORGANIZER if spec.organizer is None else Response.NEEDS_ACTION)
    return Event(uid=spec.uid, start=spec.start, end=spec.end, all_day=all_day, response=response,
                 show_as=ShowAs.OOF if oof else ShowAs.FREE if spec.transparent else ShowAs.BUSY,
                 kind=Kind.OUT_OF_OFFICE if oof else Kind.EVENT, others=len(spec.others),
                 organizer_is_self=spec.organizer is None)


class TestMemory(ConnectorContract):
    """The in-memory fake used by planner, digest and report tests keeps the same promises."""

    @pytest.fixture()
    def connector(self) -> Connector:
        events = [e for e in map(_memory_event, SCENARIO) if e is not None]
        return MemoryConnector(events, owner=OWNER, allow_write=True)


class TestMemoryReadOnly(TestMemory):
    """A person who did not allow writes: the same connector refuses every write."""

    @pytest.fixture()
    def connector(self) -> Connector:
        events = [e for e in map(_memory_event, SCENARIO) if e is not None]
        return MemoryConnector(events, owner=OWNER, allow_write=False)
