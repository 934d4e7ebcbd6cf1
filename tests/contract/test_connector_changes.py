"""The contract of incremental reads and own-block writes, for every connector.

A provider's test class subclasses :class:`ChangesContract` (and :class:`WritesContract` when
it can write) and supplies only the ``backend`` fixture: an object that builds a fresh
connector for the scenario's owner and edits the calendar the way another client (the
owner's calendar app) would.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import pytest

from balanced_calendar.model import BlockRef, Conflict, Event, Kind, NotOurs, Window
from connectors import connector_class
from connectors.base import Connector
from connectors.memory import MemoryCalendar, MemoryConnector
from tests.contract.scenario import JAKARTA, OWNER, SCENARIO, WINDOW_END, WINDOW_START, SpecEvent, at, to_ics
from tests.contract.test_connector_contract import _memory_event

WINDOW = Window(WINDOW_START, WINDOW_END)
NEW = SpecEvent("added-later", at(17, 13), at(17, 14), others=("budi@agency.go.id",),
                organizer="budi@agency.go.id", owner_partstat="ACCEPTED")


class Backend(Protocol):
    def connector(self) -> Connector: ...
    def add(self, spec: SpecEvent) -> None: ...
    def move(self, uid: str, start: dt.datetime, end: dt.datetime) -> None: ...
    def delete(self, uid: str) -> None: ...
    def expire(self) -> None: ...


def _uids(events: tuple[Event, ...] | list[Event]) -> set[str]:
    return {e.uid.split("/")[0] for e in events}


class ChangesContract:
    """``read_changes``: the second read tells exactly what changed, or reads everything."""

    def first(self, backend: Backend) -> str | None:
        first = backend.connector().read_changes(WINDOW, JAKARTA, None)
        assert first.full
        assert "meeting-accepted" in _uids(first.upserts)
        return first.state

    def test_unchanged_calendar_reports_no_change(self, backend):
        state = self.first(backend)
        again = backend.connector().read_changes(WINDOW, JAKARTA, state)
        assert again.empty and again.state is not None

    def test_added_event_arrives(self, backend):
        state = self.first(backend)
        backend.add(NEW)
        changes = backend.connector().read_changes(WINDOW, JAKARTA, state)
        assert "added-later" in _uids(changes.upserts)
        if not changes.full:
            assert _uids(changes.upserts) == {"added-later"} and not changes.removed

    def test_moved_event_arrives_at_its_new_time(self, backend):
        state = self.first(backend)
        backend.move("meeting-accepted", at(15, 13), at(15, 14))
        changes = backend.connector().read_changes(WINDOW, JAKARTA, state)
        moved = [e for e in changes.upserts if e.uid.split("/")[0] == "meeting-accepted"]
        assert [(e.start, e.end) for e in moved] == [(at(15, 13), at(15, 14))]

    def test_deleted_event_is_reported_gone(self, backend):
        state = self.first(backend)
        backend.delete("evening-report")
        changes = backend.connector().read_changes(WINDOW, JAKARTA, state)
        if changes.full:
            assert "evening-report" not in _uids(changes.upserts)
        else:
            assert "evening-report" in _uids(list(_removed_events(changes.removed)))

    def test_expired_state_gives_a_full_read(self, backend):
        state = self.first(backend)
        backend.add(NEW)
        backend.expire()
        changes = backend.connector().read_changes(WINDOW, JAKARTA, state)
        assert changes.full
        assert {"meeting-accepted", "added-later"} <= _uids(changes.upserts)

    def test_garbage_state_gives_a_full_read(self, backend):
        self.first(backend)
        changes = backend.connector().read_changes(WINDOW, JAKARTA, "not-a-token")
        assert changes.full and "meeting-accepted" in _uids(changes.upserts)


def _removed_events(uids: tuple[str, ...]) -> list[Event]:
    return [Event(uid=u, start=WINDOW_START, end=WINDOW_START) for u in uids]


BLOCK = Event(uid="bc-focus-2026-12-15", start=at(15, 7, 30), end=at(15, 9, 30), kind=Kind.OWN_BLOCK,
              title="Fokus")


class WritesContract:
    """Own blocks: create/update/delete return references; conflicts and foreign events."""

    def own(self, connector: Connector) -> list[Event]:
        return [e for e in connector.read(WINDOW, JAKARTA) if e.kind is Kind.OWN_BLOCK]

    def test_create_update_delete_round_trip(self, backend):
        connector = backend.connector()
        ref = connector.create_block(BLOCK)
        assert isinstance(ref, BlockRef) and ref.block_id == BLOCK.uid and ref.provider_id
        [seen] = self.own(backend.connector())
        assert (seen.start, seen.end, seen.title) == (BLOCK.start, BLOCK.end, "Fokus")
        assert seen.ref == ref
        moved = replace(BLOCK, start=at(15, 8), end=at(15, 10))
        new_ref = connector.update_block(moved, ref)
        assert new_ref.provider_id == ref.provider_id and new_ref.etag != ref.etag
        [seen] = self.own(backend.connector())
        assert (seen.start, seen.end) == (at(15, 8), at(15, 10))
        connector.delete_block(new_ref)
        assert self.own(backend.connector()) == []
        connector.delete_block(new_ref)  # already gone: not an error

    def test_a_block_edited_by_its_owner_is_a_conflict(self, backend):
        connector = backend.connector()
        ref = connector.create_block(BLOCK)
        backend.edit_block(ref, at(15, 10), at(15, 11))
        with pytest.raises(Conflict):
            connector.update_block(replace(BLOCK, start=at(15, 8), end=at(15, 9)), ref)
        with pytest.raises(Conflict):
            connector.delete_block(ref)
        [seen] = self.own(backend.connector())
        assert (seen.start, seen.end) == (at(15, 10), at(15, 11))  # the owner's edit stands

    def test_a_foreign_event_is_never_touched_even_by_id(self, backend):
        connector = backend.connector()
        foreign_id = backend.provider_id_of("meeting-accepted")
        before = {e.uid: (e.start, e.end) for e in connector.read(WINDOW, JAKARTA)}
        for attempt in (lambda r: connector.update_block(BLOCK, r), connector.delete_block):
            for ref in (BlockRef("meeting-accepted", foreign_id), BlockRef(BLOCK.uid, foreign_id)):
                with pytest.raises(NotOurs):
                    attempt(ref)
        with pytest.raises(NotOurs):
            connector.create_block(Event(uid="x", start=at(15, 7), end=at(15, 8)))
        assert {e.uid: (e.start, e.end) for e in backend.connector().read(WINDOW, JAKARTA)} == before


# -- memory ------------------------------------------------------------------------------
class MemoryBackend:
    def __init__(self) -> None:
        self.server = MemoryCalendar(e for e in map(_memory_event, SCENARIO) if e is not None)

    def connector(self) -> Connector:
        return MemoryConnector(server=self.server, owner=OWNER, allow_write=True)

    def add(self, spec: SpecEvent) -> None:
        event = _memory_event(spec)
        assert event is not None
        self.server.put(event)

    def move(self, uid: str, start: dt.datetime, end: dt.datetime) -> None:
        [event] = [e for e in self.server.events.values() if e.uid == uid]
        self.server.put(replace(event, start=start, end=end))

    def delete(self, uid: str) -> None:
        self.server.remove(uid)

    def expire(self) -> None:
        self.server.expire_tokens()

    def edit_block(self, ref: BlockRef, start: dt.datetime, end: dt.datetime) -> None:
        event = self.server.events[ref.provider_id]
        self.server.put(replace(event, start=start, end=end), ref.provider_id)

    def provider_id_of(self, uid: str) -> str:
        return next(pid for pid, e in self.server.events.items() if e.uid == uid)


class TestMemoryChanges(ChangesContract, WritesContract):
    @pytest.fixture()
    def backend(self) -> MemoryBackend:
        return MemoryBackend()

    def test_incremental_read_sends_only_the_change(self, backend):
        state = self.first(backend)
        backend.add(NEW)
        changes = backend.connector().read_changes(WINDOW, JAKARTA, state)
        assert not changes.full and _uids(changes.upserts) == {"added-later"}


# -- ICS file (no change feed: full reads, fingerprinted) ---------------------------------
class IcsBackend:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.specs = {s.uid: s for s in SCENARIO}
        self._write()

    def _write(self) -> None:
        self.path.write_text(to_ics(tuple(self.specs.values())), newline="")

    def connector(self) -> Connector:
        return connector_class("ics")(str(self.path), owner=OWNER)

    def add(self, spec: SpecEvent) -> None:
        self.specs[spec.uid] = spec
        self._write()

    def move(self, uid: str, start: dt.datetime, end: dt.datetime) -> None:
        self.specs[uid] = replace(self.specs[uid], start=start, end=end)
        self._write()

    def delete(self, uid: str) -> None:
        del self.specs[uid]
        self._write()

    def expire(self) -> None:
        """A file has no tokens to expire."""


class TestIcsChanges(ChangesContract):
    @pytest.fixture()
    def backend(self, tmp_path: Path) -> IcsBackend:
        return IcsBackend(tmp_path / "calendar.ics")
