"""Events and sync state: the minimised copy of each calendar and where its sync stands."""

from __future__ import annotations

import datetime as dt
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from balanced_calendar.model import Event
from balanced_calendar.store.errors import require_aware


@dataclass(frozen=True, slots=True)
class SyncState:
    """Where incremental sync of one person's calendar stands.

    ``token`` is the provider's sync token / ctag (``None`` = do a full read next time).
    """

    email: str
    calendar: str
    token: str | None = None
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    last_sync: dt.datetime | None = None
    last_error: str | None = None

    def __post_init__(self) -> None:
        for name in ("window_start", "window_end", "last_sync"):
            require_aware(getattr(self, name), name)


class EventStore(Protocol):
    """Stored events (no titles, hashed uids) and per-calendar sync state.

    Every method raises :class:`~balanced_calendar.store.errors.NotEnrolled` for an
    address that is not enrolled.
    """

    @abstractmethod
    def get_sync_state(self, email: str, calendar: str) -> SyncState:
        """The sync state of one calendar; an empty state (all ``None``) before the first sync."""

    @abstractmethod
    def set_sync_state(self, state: SyncState) -> None:
        """Replace the sync state of ``state.email``/``state.calendar``."""

    @abstractmethod
    def replace_events(self, email: str, calendar: str, window_start: dt.datetime,
                       window_end: dt.datetime, events: Sequence[Event] | Iterator[Event],
                       state: SyncState) -> int:
        """Full sync: replace every stored event of this calendar overlapping the window.

        Deletes the old events, inserts ``events`` (title dropped, uid hashed) and writes
        ``state`` in ONE transaction: on any error nothing changes. All-day events are
        matched against the window in the person's time zone. Returns the number stored.
        Raises :class:`~balanced_calendar.model.InputError` for an invalid event, a naive
        window or a state of another person/calendar.
        """

    @abstractmethod
    def apply_changes(self, email: str, calendar: str, upserts: Sequence[Event],
                      deleted_uids: Sequence[str], state: SyncState) -> None:
        """Incremental sync in ONE transaction.

        Every stored instance whose uid is in ``deleted_uids`` or is the uid of an upsert
        is removed, then ``upserts`` are inserted (so a changed recurring series replaces all
        its instances), then ``state`` is written. ``deleted_uids`` are provider uids (raw).
        A uid whose instances are stored exactly as given, and a state equal to the stored
        one, are left untouched: an unchanged change set writes no row.
        Raises :class:`~balanced_calendar.model.InputError` for an invalid event.
        """

    @abstractmethod
    def load_events(self, email: str, start: dt.datetime, end: dt.datetime) -> list[Event]:
        """Stored events of all the person's calendars overlapping ``[start, end)``.

        Timed events carry aware UTC datetimes, all-day events dates; ``uid`` is the hashed
        uid and ``title`` is always ``None``. Ordered by start (all-day events at local
        midnight), then by hashed uid.
        """

    @abstractmethod
    def load_event_columns(self, email: str, start: dt.datetime, end: dt.datetime) -> Any:
        """:meth:`load_events` as ``balanced_calendar.engine.columns.EventArrays`` (same events,
        same order), for the engine's columnar entry point ``audit_columns``."""
