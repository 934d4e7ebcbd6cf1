"""The one abstract connector every provider implements.

Capabilities are class attributes; the guards that depend on them (a read-only
connector refuses writes, a connector only touches its own blocks) live here once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from abc import ABC, abstractmethod
from typing import ClassVar

from balanced_calendar.model import (BlockRef, ChangeSet, Conflict, Event, Kind, NotOurs,
                                     ReadOnlyConnector, Window)


class Connector(ABC):
    """Reads one person's calendar; writes that person's own blocks where allowed.

    Subclasses implement :meth:`read`, optionally :meth:`read_changes` (a change feed), and,
    when ``supports_write``, the ``_lookup``, ``_create``, ``_update`` and ``_delete`` hooks. Errors are raised as the typed errors of
    :mod:`balanced_calendar.model.errors` (``AuthExpired``, ``RateLimited``,
    ``ProviderError``, ``InputError``), never returned as ``None``.
    """

    #: registry name, e.g. "ics"
    name: ClassVar[str]
    #: the provider can hold writes at all (an ICS file or URL cannot)
    supports_write: ClassVar[bool] = False
    #: the provider offers incremental change feeds (sync tokens, ctag/etag)
    supports_incremental: ClassVar[bool] = False
    #: reading is dominated by local parsing, not network waits: sync runs :meth:`read` in a
    #: worker process (the instance must then be picklable before its first read)
    cpu_bound: ClassVar[bool] = False

    def __init__(self, *, owner: str | None = None, calendar: str = "primary",
                 allow_write: bool = False) -> None:
        self.owner = owner.lower() if owner else None
        self.calendar = calendar
        self._allow_write = allow_write

    @property
    def read_only(self) -> bool:
        """True when this instance may not write: provider cannot, or the person did not allow it."""
        return not (self.supports_write and self._allow_write)

    @abstractmethod
    def read(self, window: Window, tz: dt.tzinfo) -> list[Event]:
        """Every event instance overlapping ``window``, normalised (docs/architecture.md).

        ``tz`` is the person's zone, used for floating times and all-day dates.
        """

    def read_changes(self, window: Window, tz: dt.tzinfo, state: str | None) -> ChangeSet:
        """What changed in ``window`` since the read that returned ``state``.

        ``state`` is the opaque token of the previous :class:`ChangeSet` (``None``: first
        read). A provider with a change feed (sync tokens, ``sync-collection``, delta links)
        answers with just the changes; when it refuses or has expired the token, the answer
        is a full read (``full=True``), never an error. This default, for providers without
        a change feed, reads everything and compares a fingerprint of the window and its
        events with ``state``: an unchanged calendar answers "no changes" (and the caller
        writes nothing).
        """
        events = self.read(window, tz)
        fingerprint = _fingerprint(window, events)
        if state == fingerprint:
            return ChangeSet(state=fingerprint, full=False)
        return ChangeSet(upserts=tuple(events), state=fingerprint, full=True)

    # -- own blocks ------------------------------------------------------------------
    def create_block(self, block: Event) -> BlockRef:
        """Write a new own block (no invitation, no notification); returns where it lives.

        Raises :class:`ReadOnlyConnector` when this instance may not write and
        :class:`NotOurs` for an event that is not an own block.
        """
        self._check_writable(block)
        return self._create(block)

    def update_block(self, block: Event, ref: BlockRef) -> BlockRef:
        """Move or retitle the own block at ``ref``; returns its new reference.

        Raises :class:`Conflict` when the block changed in the calendar since ``ref`` was
        taken (its etag differs) or is gone, and :class:`NotOurs` when ``ref`` points at an
        event balanced-calendar did not write, whatever its id.
        """
        self._check_writable(block)
        self._check_ours(ref, missing_ok=False)
        return self._update(block, ref)

    def delete_block(self, ref: BlockRef) -> None:
        """Delete the own block at ``ref``. A block already gone is not an error.

        Raises :class:`Conflict` when it changed since ``ref`` was taken and
        :class:`NotOurs` for an event balanced-calendar did not write.
        """
        self._check_writable(None)
        if self._check_ours(ref, missing_ok=True):
            self._delete(ref)

    def _check_writable(self, block: Event | None) -> None:
        if self.read_only:
            raise ReadOnlyConnector(
                f"the {self.name} connector for this person is read-only",
                hint="enroll with --protect on a provider that supports writing",
            )
        if block is not None and block.kind is not Kind.OWN_BLOCK:
            raise NotOurs("balanced-calendar only writes its own blocks")

    def _check_ours(self, ref: BlockRef, *, missing_ok: bool) -> bool:
        """True when ``ref`` names one of our blocks; False when it is gone and that is fine."""
        found = self._lookup(ref.provider_id)
        if found is None:
            if missing_ok:
                return False
            raise Conflict(self.name, "the block is no longer in the calendar (deleted by its owner?)")
        if found != ref.block_id:
            raise NotOurs(f"the {self.name} event at that id is not a balanced-calendar block; "
                          "it is left untouched")
        return True

    # Write hooks: a connector with ``supports_write = True`` overrides all four. The guards
    # above keep read-only connectors and foreign events from ever reaching them.
    def _lookup(self, provider_id: str) -> str | None:
        """The block id tag (``X-BALANCED-CALENDAR-ID`` or the provider's extended property)
        of the event at ``provider_id``: ``""`` for an event without our tag, ``None`` when
        there is no such event."""
        raise self._missing_hook("_lookup")

    def _create(self, block: Event) -> BlockRef:
        raise self._missing_hook("_create")

    def _update(self, block: Event, ref: BlockRef) -> BlockRef:
        raise self._missing_hook("_update")

    def _delete(self, ref: BlockRef) -> None:
        raise self._missing_hook("_delete")

    def _missing_hook(self, hook: str) -> TypeError:
        return TypeError(f"{type(self).__name__} declares supports_write but does not define {hook}()")

    def close(self) -> None:
        """Release sessions and files. Safe to call twice."""

    def __enter__(self) -> Connector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fingerprint(window: Window, events: list[Event]) -> str:
    """A digest of everything a read returned, for connectors without a change feed."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{window.start.isoformat()}|{window.end.isoformat()}".encode())
    for text in sorted(repr(event) for event in events):
        digest.update(text.encode())
    return "fp:" + digest.hexdigest()
