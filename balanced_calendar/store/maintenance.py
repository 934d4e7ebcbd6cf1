"""Erasure, run records, installation-wide values, integrity, locking and closing (docs/privacy.md)."""

from __future__ import annotations

import contextlib
import datetime as dt
from abc import abstractmethod
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ErasureRecord:
    """The only trace an erased person leaves: who (pseudonymously), when and why."""

    pseudonym: str
    erased_at: dt.datetime
    reason: str


@dataclass(frozen=True, slots=True)
class RunRecord:
    """The latest run of one kind (``sync``, ``plan``, ``digest`` …) for a person."""

    kind: str
    at: dt.datetime
    ok: bool
    error: str | None
    last_ok_at: dt.datetime | None


class MaintenanceStore(Protocol):
    """Everything that is about the installation rather than one concern."""

    @abstractmethod
    def erase_person(self, email: str, reason: str, at: dt.datetime | None = None) -> str:
        """Delete everything of that person in ONE transaction; returns the pseudonym.

        ``at`` stamps the erasure record (default: now). The erasure is then made durable
        and verified: nothing of the person may remain in the files (SQLite: the WAL is
        truncated and the file bytes searched for the address and pseudonym). When that
        fails, :class:`StoreError` says the erasure is not complete; calling again with the
        same address (no longer enrolled, but in the erasure log) finishes it. When the
        deleting transaction itself fails nothing is erased and :class:`StoreError` says so.
        That includes outbox mail to the address and every job whose subject or key carries
        the pseudonym (done or pending). Only ``(pseudonym, erased_at, reason)`` is kept, in
        the erasure log; ``reason`` must not contain personal data (use a code such as
        ``"consent_withdrawn"``). Remove the person's future own blocks from their calendar
        *before* calling this: afterwards the store no longer knows them.
        Raises :class:`NotEnrolled` for an address neither enrolled nor erased.
        """

    @abstractmethod
    def erasure_log(self) -> list[ErasureRecord]:
        """Every erasure, oldest first."""

    @abstractmethod
    def record_run(self, email: str, kind: str, ok: bool, error: str | None, at: dt.datetime) -> None:
        """Remember the outcome of a run of ``kind`` for a person (for ``status``)."""

    @abstractmethod
    def last_runs(self, email: str) -> list[RunRecord]:
        """The latest run of each kind for a person, by kind."""

    @abstractmethod
    def get_meta(self, name: str) -> bytes | None:
        """An installation-wide value (e.g. ``vault.check``); ``None`` when unset.

        Raises :class:`ValueError` for a name reserved for the store (``store.*``).
        """

    @abstractmethod
    def set_meta(self, name: str, value: bytes, *, overwrite: bool = True) -> bool:
        """Set an installation-wide value; ``False`` if it exists and ``overwrite`` is false."""

    @abstractmethod
    def data_version(self) -> int:
        """A cheap number that changes whenever this store wrote a row.

        Equal values before and after a call mean the call wrote nothing. It may also move
        for writes that were rolled back or made by other connections; compare, never
        interpret it.
        """

    @abstractmethod
    def integrity_check(self) -> str:
        """``"ok"`` when the database is sound, else the problems found."""

    @abstractmethod
    def exclusive(self, name: str, wait: float | None = 0) -> contextlib.AbstractContextManager[None]:
        """Hold the installation-wide lock ``name`` (e.g. ``"sync"``) for the ``with`` block.

        Waits up to ``wait`` seconds (``None``: forever); then raises
        :class:`~balanced_calendar.model.UserError` naming the holder's pid.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the database. Further calls raise :class:`StoreError`. Idempotent."""
