"""Own blocks and tombstones: what the planner wrote and what the user deleted (docs/architecture.md)."""

from __future__ import annotations

import datetime as dt
from abc import abstractmethod
from dataclasses import dataclass
from typing import Literal, Protocol

from balanced_calendar.store.errors import require_aware

BlockKind = Literal["focus", "recovery", "break"]
BlockState = Literal["active", "deleted_by_user", "edited_by_user"]
BLOCK_KINDS: frozenset[str] = frozenset({"focus", "recovery", "break"})
BLOCK_STATES: frozenset[str] = frozenset({"active", "deleted_by_user", "edited_by_user"})


@dataclass(frozen=True, slots=True)
class OwnBlock:
    """A focus/recovery/break block the planner wrote (docs/architecture.md).

    ``block_id`` is the stable id carried in the provider-native tag; ``provider_id`` the
    provider's own event id once created; ``etag`` the provider's etag / change key returned
    by our last write (``None`` before the first write or when the provider has none);
    ``fingerprint`` a content hash seen after our last write, used to tell a user edit from
    our own. ``title`` is the only event title the store ever keeps, and only for these blocks.
    """

    email: str
    block_id: str
    date: dt.date
    start: dt.datetime
    end: dt.datetime
    kind: BlockKind
    provider_id: str | None = None
    fingerprint: str | None = None
    state: BlockState = "active"
    title: str | None = None
    etag: str | None = None

    def __post_init__(self) -> None:
        require_aware(self.start, "start")
        require_aware(self.end, "end")
        if self.end <= self.start:
            raise ValueError(f"block {self.block_id!r} must end after it starts")
        if self.kind not in BLOCK_KINDS:
            raise ValueError(f"block kind must be one of {sorted(BLOCK_KINDS)}, not {self.kind!r}")
        if self.state not in BLOCK_STATES:
            raise ValueError(f"block state must be one of {sorted(BLOCK_STATES)}, not {self.state!r}")


class BlockStore(Protocol):
    """The planner's own blocks (with the provider's id and etag) and the user's deletions.

    Every method raises :class:`~balanced_calendar.store.errors.NotEnrolled` for an
    address that is not enrolled.
    """

    @abstractmethod
    def upsert_own_block(self, block: OwnBlock) -> None:
        """Create or replace the record of one own block (by ``email`` + ``block_id``).

        Every field is replaced, ``provider_id`` and ``etag`` included.
        """

    @abstractmethod
    def remove_own_block(self, email: str, block_id: str) -> bool:
        """Forget one own block; ``False`` if it was not stored."""

    @abstractmethod
    def own_blocks(self, email: str, start: dt.date | None = None,
                   end: dt.date | None = None) -> list[OwnBlock]:
        """The person's own blocks (optionally with ``start <= date <= end``), by date and start."""

    @abstractmethod
    def add_tombstone(self, email: str, block_id: str, date: dt.date) -> None:
        """Remember that the user deleted this block on this date (never recreate it). Idempotent."""

    @abstractmethod
    def tombstones(self, email: str) -> set[tuple[str, dt.date]]:
        """``(block_id, date)`` pairs the user deleted."""
