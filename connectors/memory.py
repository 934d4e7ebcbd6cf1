"""An honest in-memory connector: the fake for planner, digest and report tests.

:class:`MemoryCalendar` plays the provider's server: it holds events, gives each a
provider id and an etag, keeps a change log for incremental reads (like Google sync tokens
or WebDAV ``sync-collection``) and can expire old tokens. :class:`MemoryConnector` reads
and writes it through the :class:`~connectors.base.Connector` interface only, so what
passes against it holds for the real providers too.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import ClassVar

from balanced_calendar.model import BlockRef, ChangeSet, Conflict, Event, Kind, UserError, Window

from connectors.base import Connector
from connectors.plugin import AuthStart, Context, Enrolled, EnrollInput, Provider


def _as_instant(value: dt.datetime | dt.date, tz: dt.tzinfo) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time(), tzinfo=tz)


class MemoryCalendar:
    """One calendar on a pretend server, keyed by provider id.

    ``write_count`` counts every change request a client made (for "a second run makes no
    write request" tests). Edits made directly through :meth:`put` and :meth:`remove` are
    those of another client (the owner in their calendar app).
    """

    def __init__(self, events: Iterable[Event] = (), *, zone: str | None = None) -> None:
        #: the owner's zone in their calendar settings (reported as ``ChangeSet.zone``)
        self.zone = zone
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._version = 0
        self._oldest_token = 0
        self.events: dict[str, Event] = {}
        self.etags: dict[str, str] = {}
        self._changed_at: dict[str, int] = {}  # provider id -> version of its last change
        self._removed_at: dict[str, tuple[int, str]] = {}  # provider id -> (version, uid)
        self.write_count = 0
        for event in events:
            self.put(event)

    def _bump(self, provider_id: str) -> str:
        self._version += 1
        self._changed_at[provider_id] = self._version
        self.etags[provider_id] = f'"{self._version}"'
        return self.etags[provider_id]

    # -- another client's edits ----------------------------------------------------------
    def put(self, event: Event, provider_id: str | None = None) -> str:
        """Add or replace an event (by ``provider_id``, else by uid); returns its id."""
        with self._lock:
            if provider_id is None:
                provider_id = next((pid for pid, e in self.events.items() if e.uid == event.uid),
                                   None) or f"m{next(self._ids)}"
            self.events[provider_id] = event
            self._removed_at.pop(provider_id, None)
            self._bump(provider_id)
            return provider_id

    def remove(self, uid: str) -> None:
        """Delete the event with this uid, as its owner would."""
        with self._lock:
            for provider_id, event in list(self.events.items()):
                if event.uid == uid:
                    self._drop(provider_id)

    def _drop(self, provider_id: str) -> None:
        event = self.events.pop(provider_id)
        self.etags.pop(provider_id, None)
        self._changed_at.pop(provider_id, None)
        self._version += 1
        self._removed_at[provider_id] = (self._version, event.uid)

    def expire_tokens(self) -> None:
        """Forget the change log: every older token now gets a full read (like HTTP 410)."""
        with self._lock:
            self._oldest_token = self._version
            self._removed_at.clear()

    # -- the API a client uses -----------------------------------------------------------
    def token(self) -> str:
        return f"v{self._version}"

    def since(self, token: str | None) -> tuple[list[Event], list[str], bool] | None:
        """Changes after ``token``: ``(changed, removed uids, ok)``; ``None`` when expired."""
        with self._lock:
            try:
                version = int(token[1:]) if token and token.startswith("v") else -1
            except ValueError:
                version = -1
            if version < self._oldest_token or version > self._version:
                return None
            changed = [self._with_ref(pid) for pid, v in self._changed_at.items() if v > version]
            removed = [uid for v, uid in self._removed_at.values() if v > version]
            return changed, removed, True

    def all(self) -> list[Event]:
        with self._lock:
            return [self._with_ref(pid) for pid in self.events]

    def _with_ref(self, provider_id: str) -> Event:
        event = self.events[provider_id]
        if event.kind is not Kind.OWN_BLOCK:
            return event
        return replace(event, ref=BlockRef(event.uid, provider_id, self.etags[provider_id]))

    def tag_of(self, provider_id: str) -> str | None:
        event = self.events.get(provider_id)
        if event is None:
            return None
        return event.uid if event.kind is Kind.OWN_BLOCK else ""

    def write(self, block: Event, provider_id: str | None, if_match: str | None) -> BlockRef:
        with self._lock:
            self.write_count += 1
            if provider_id is None:
                provider_id = f"m{next(self._ids)}"
            elif if_match is not None and self.etags.get(provider_id) != if_match:
                raise Conflict("memory", "the block was changed in the calendar meanwhile (etag mismatch)")
            self.events[provider_id] = replace(block, ref=None)
            return BlockRef(block.uid, provider_id, self._bump(provider_id))

    def delete(self, provider_id: str, if_match: str | None) -> None:
        with self._lock:
            self.write_count += 1
            if provider_id not in self.events:
                return
            if if_match is not None and self.etags.get(provider_id) != if_match:
                raise Conflict("memory", "the block was changed in the calendar meanwhile (etag mismatch)")
            self._drop(provider_id)


class MemoryConnector(Connector):
    """Reads and writes a :class:`MemoryCalendar` (a new one from ``events`` if not given)."""

    name: ClassVar[str] = "memory"
    supports_write: ClassVar[bool] = True
    supports_incremental: ClassVar[bool] = True

    def __init__(self, events: Iterable[Event] = (), *, server: MemoryCalendar | None = None,
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.server = server if server is not None else MemoryCalendar(events)

    @property
    def events(self) -> dict[str, Event]:
        """The server's events by uid (for tests that inspect the calendar)."""
        return {e.uid: e for e in self.server.events.values()}

    @staticmethod
    def _overlaps(event: Event, window: Window, tz: dt.tzinfo) -> bool:
        return _as_instant(event.start, tz) < window.end and _as_instant(event.end, tz) > window.start

    def read(self, window: Window, tz: dt.tzinfo) -> list[Event]:
        return [e for e in self.server.all() if self._overlaps(e, window, tz)]

    def read_changes(self, window: Window, tz: dt.tzinfo, state: str | None) -> ChangeSet:
        token = self.server.token()
        answer = self.server.since(state) if state is not None else None
        if answer is None:
            return ChangeSet(upserts=tuple(self.read(window, tz)), state=token, full=True, zone=self.server.zone)
        changed, removed, _ = answer
        inside = tuple(e for e in changed if self._overlaps(e, window, tz))
        # a change that moved an event out of the window is a removal for this window
        gone = tuple(removed) + tuple(e.uid for e in changed if not self._overlaps(e, window, tz))
        return ChangeSet(upserts=inside, removed=gone, state=token, full=False, zone=self.server.zone)

    def _lookup(self, provider_id: str) -> str | None:
        return self.server.tag_of(provider_id)

    def _create(self, block: Event) -> BlockRef:
        return self.server.write(block, None, None)

    def _update(self, block: Event, ref: BlockRef) -> BlockRef:
        return self.server.write(block, ref.provider_id, ref.etag)

    def _delete(self, ref: BlockRef) -> None:
        self.server.delete(ref.provider_id, ref.etag)


class MemoryEnrollment:
    """Nothing to sign in to: the calendar id is taken as given (tests of enrollment)."""

    def unattended(self, req: EnrollInput) -> Enrolled:
        scopes = ("calendar.events.read",) + (("calendar.events.write.own_blocks",) if req.protect else ())
        return Enrolled(calendar=req.calendar or "primary", scopes=scopes)

    interactive = unattended

    def start(self, req: EnrollInput, redirect_uri: str) -> AuthStart:
        raise UserError("the memory provider has no sign-in")

    def finish(self, req: EnrollInput, redirect_uri: str, params: Mapping[str, str],
               state: str, verifier: str) -> Enrolled:
        raise UserError("the memory provider has no sign-in")


#: calendars the ``memory`` provider serves, by calendar id (tests and demos put them here);
#: a person whose calendar id is not here reads a new, empty calendar
SERVERS: dict[str, MemoryCalendar] = {}


def _factory(ctx: Context) -> MemoryConnector:
    server = SERVERS.get(ctx.person.calendar)
    return MemoryConnector(server=server, owner=ctx.person.email, calendar=ctx.person.calendar,
                           allow_write=ctx.person.protect)


PROVIDER = Provider(
    name="memory",
    connector="connectors.memory:MemoryConnector",
    factory=_factory,
    enrollment=MemoryEnrollment(),
    description="an in-memory calendar (tests and demos)",
    zone_hints=True,
)
