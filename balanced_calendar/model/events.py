"""The normalised event (docs/architecture.md): what every connector produces."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    CONFIRMED = "confirmed"
    TENTATIVE = "tentative"
    CANCELLED = "cancelled"


class Response(StrEnum):
    """The calendar owner's own answer to the event."""

    ORGANIZER = "organizer"
    ACCEPTED = "accepted"
    TENTATIVE = "tentative"
    DECLINED = "declined"
    NEEDS_ACTION = "needs_action"
    UNKNOWN = "unknown"


class ShowAs(StrEnum):
    BUSY = "busy"
    TENTATIVE = "tentative"
    FREE = "free"
    OOF = "oof"
    WORKING_ELSEWHERE = "working_elsewhere"


class Kind(StrEnum):
    EVENT = "event"
    FOCUS = "focus"
    OUT_OF_OFFICE = "out_of_office"
    WORKING_LOCATION = "working_location"
    OWN_BLOCK = "own_block"


@dataclass(frozen=True, slots=True)
class Event:
    """One event instance: recurrences expanded, exceptions applied.

    ``start``/``end`` are timezone-aware datetimes for timed events and ``datetime.date``
    for all-day events (``end`` exclusive, as in iCalendar). No title, description,
    location or attendee address is ever carried here; ``title`` is only set for the
    planner's own blocks.
    """

    uid: str
    start: dt.datetime | dt.date
    end: dt.datetime | dt.date
    all_day: bool = False
    status: Status = Status.CONFIRMED
    response: Response = Response.ORGANIZER
    show_as: ShowAs = ShowAs.BUSY
    kind: Kind = Kind.EVENT
    others: int = 0
    organizer_is_self: bool = True
    calendar: str = "primary"
    title: str | None = None  # own blocks only
    #: own blocks only: where the block lives in the provider (id and etag), for updates
    ref: BlockRef | None = None

    def __post_init__(self) -> None:
        if self.all_day:
            if isinstance(self.start, dt.datetime) or isinstance(self.end, dt.datetime):
                raise ValueError(f"all-day event {self.uid!r} must use dates")
        else:
            for name in ("start", "end"):
                value = getattr(self, name)
                if not isinstance(value, dt.datetime) or value.tzinfo is None:
                    raise ValueError(f"timed event {self.uid!r}: {name} must be an aware datetime")
        if self.end < self.start:  # type: ignore[operator]
            raise ValueError(f"event {self.uid!r} ends before it starts")
        if self.kind is not Kind.OWN_BLOCK and (self.title is not None or self.ref is not None):
            raise ValueError("only own blocks may carry a title or a provider reference")


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open interval of absolute time ``[start, end)`` to read events for."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware")
        if self.end <= self.start:
            raise ValueError("window must end after it starts")


@dataclass(frozen=True, slots=True)
class BlockRef:
    """Where one own block lives in the provider: its id there and its version.

    ``etag`` is the provider's etag or change key at the time of our last write; a write
    that names it fails with :class:`~balanced_calendar.model.errors.Conflict` when the
    block was changed meanwhile.
    """

    block_id: str
    provider_id: str
    etag: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """The answer of ``Connector.read_changes``.

    ``full``: the read started from nothing (first read, or the state was refused or
    expired) and ``upserts`` hold every instance in the window: the caller replaces what it
    stored. Otherwise ``upserts`` are new or changed instances and ``removed`` the uids of
    instances that are gone (a changed recurring series is sent whole: every uid of it is
    replaced). ``state`` is the opaque token for the next read (``None``: none offered).

    ``zone`` is the person's IANA zone as the provider's own settings give it (Google's
    ``settings/timezone``, Graph's ``mailboxSettings``), when the connector looked it up in
    this read (connectors refresh it at most daily); ``None`` otherwise. It is a hint: a
    zone set for the person in the config wins (``PersonRef.zone_fixed``).
    """

    upserts: tuple[Event, ...] = ()
    removed: tuple[str, ...] = ()
    state: str | None = None
    full: bool = True
    zone: str | None = None

    @property
    def empty(self) -> bool:
        """Nothing changed since the state this read started from."""
        return not self.full and not self.upserts and not self.removed
