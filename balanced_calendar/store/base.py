"""The store interface and its records (DESIGN.md §3, §6, §7, §9).

Callers (daemon, CLI, planner, digest, outbox) talk to :class:`Store` only, so a server
database can be added later as a second implementation without touching them. The
SQLite implementation lives in :mod:`balanced_calendar.store.sqlite`.

Promises every implementation keeps:

- **Data minimisation by construction**: events are stored without titles, descriptions,
  locations or addresses; provider uids are stored only as HMAC-SHA256 under a secret
  kept in the store, and :meth:`Store.load_events` returns those hashes as ``uid``.
- **One transaction per change**: every method that writes more than one row either
  applies all of it or none of it (a crash in the middle leaves the previous state).
- **Typed errors**: failures raise :class:`~balanced_calendar.model.UserError`
  subclasses (:class:`NotEnrolled`, :class:`StoreError`, :class:`~balanced_calendar.model.InputError`);
  nothing returns ``None`` to signal failure. ``None`` only ever means "nothing stored".
- **The store never sees secrets in plaintext**: credentials arrive already encrypted by
  :class:`balanced_calendar.vault.Vault`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import logging
import os
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from balanced_calendar.model import AuditResult, Event, Finding, UserError

log = logging.getLogger(__name__)

BlockKind = Literal["focus", "recovery", "break"]
BlockState = Literal["active", "deleted_by_user", "edited_by_user"]
BLOCK_KINDS: frozenset[str] = frozenset({"focus", "recovery", "break"})
BLOCK_STATES: frozenset[str] = frozenset({"active", "deleted_by_user", "edited_by_user"})


# -- errors ---------------------------------------------------------------------------------

class NotEnrolled(UserError):
    """The address is not enrolled (or was erased). ``email`` says which.

    The message shows the address masked (``s***@kemenkeu.go.id``), because messages end
    up in the journal and logs never carry raw addresses (DESIGN.md §9).
    """

    def __init__(self, email: str) -> None:
        super().__init__(f"{mask_email(email)} is not enrolled",
                         hint="check the address, or enrol the person first")
        self.email = email


def mask_email(email: str) -> str:
    """``siti@kemenkeu.go.id`` -> ``s***@kemenkeu.go.id``: recognisable to an operator, not a log leak."""
    local, _, domain = email.strip().partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


class StoreError(UserError):
    """The state database cannot do what was asked: busy, full, damaged or too new."""


# -- records --------------------------------------------------------------------------------

def _aware(value: dt.datetime | None, name: str) -> None:
    if value is not None and (not isinstance(value, dt.datetime) or value.tzinfo is None):
        raise ValueError(f"{name} must be a timezone-aware datetime")


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """An enrolled person and their settings.

    ``pseudonym`` is filled in by the store (``"p-"`` + 12 hex of HMAC-SHA256 over the
    lowercased address); leave it empty when creating a record.
    """

    email: str
    connector: str
    calendar: str = "primary"
    timezone: str = "Asia/Jakarta"
    language: str = "id"
    team: str | None = None
    protect: bool = False
    digest: bool = True
    enrolled_at: dt.datetime | None = None
    pseudonym: str = ""

    def __post_init__(self) -> None:
        if not self.email or "@" not in self.email:
            raise ValueError("a person needs an email address")
        _aware(self.enrolled_at, "enrolled_at")


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """What a person agreed to, when, and in which version and language of the consent text."""

    email: str
    at: dt.datetime
    scopes: tuple[str, ...]
    purposes: tuple[str, ...]
    text_version: str
    language: str

    def __post_init__(self) -> None:
        _aware(self.at, "at")


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
            _aware(getattr(self, name), name)


@dataclass(frozen=True, slots=True)
class OwnBlock:
    """A focus/recovery/break block the planner wrote (DESIGN.md §6).

    ``block_id`` is the stable id carried in the provider-native tag; ``provider_id`` the
    provider's own event id once created; ``fingerprint`` the etag or content hash seen
    after our last write, used to tell a user edit from our own. ``title`` is the only
    event title the store ever keeps, and only for these blocks.
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

    def __post_init__(self) -> None:
        _aware(self.start, "start")
        _aware(self.end, "end")
        if self.end <= self.start:
            raise ValueError(f"block {self.block_id!r} must end after it starts")
        if self.kind not in BLOCK_KINDS:
            raise ValueError(f"block kind must be one of {sorted(BLOCK_KINDS)}, not {self.kind!r}")
        if self.state not in BLOCK_STATES:
            raise ValueError(f"block state must be one of {sorted(BLOCK_STATES)}, not {self.state!r}")


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One outgoing email, delivered exactly once per ``key`` (e.g. ``digest:p-…:2026-W51``).

    ``next_attempt`` ``None`` on enqueue means "now"; after :meth:`Store.mark_failed` with
    ``next_attempt=None`` the message is given up (kept for status, never pending again).
    """

    key: str
    recipient: str
    message: bytes
    created: dt.datetime
    attempts: int = 0
    next_attempt: dt.datetime | None = None
    sent_at: dt.datetime | None = None
    last_error: str | None = None

    def __post_init__(self) -> None:
        for name in ("created", "next_attempt", "sent_at"):
            _aware(getattr(self, name), name)


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


# -- the interface --------------------------------------------------------------------------

class Store(ABC):
    """Persistent state of one balanced-calendar installation.

    Every method is safe to call from several threads. Methods taking ``email`` raise
    :class:`NotEnrolled` when that address is not enrolled, unless documented otherwise.
    Database failures (locked for too long, disk full, damaged file) raise
    :class:`StoreError`.
    """

    # people and consent ---------------------------------------------------------------
    @abstractmethod
    def upsert_person(self, person: PersonRecord) -> PersonRecord:
        """Create or update a person; returns the stored record with its pseudonym.

        On update the original ``enrolled_at`` is kept; a missing ``enrolled_at`` means now.
        """

    @abstractmethod
    def enroll(self, person: PersonRecord, consent: ConsentRecord) -> PersonRecord:
        """:meth:`upsert_person` and :meth:`add_consent` in one transaction."""

    @abstractmethod
    def get_person(self, email: str) -> PersonRecord:
        """The enrolled person with this address (case-insensitive). Raises :class:`NotEnrolled`."""

    @abstractmethod
    def list_people(self) -> list[PersonRecord]:
        """Every enrolled person, ordered by address."""

    @abstractmethod
    def pseudonym(self, email: str) -> str:
        """The stable pseudonymous id of an address (enrolled or not): ``"p-"`` + 12 hex."""

    @abstractmethod
    def add_consent(self, consent: ConsentRecord) -> None:
        """Append a consent record for an enrolled person."""

    @abstractmethod
    def consents(self, email: str) -> list[ConsentRecord]:
        """The person's consent records, oldest first."""

    # credentials ----------------------------------------------------------------------
    @abstractmethod
    def put_credentials(self, email: str, provider: str, blob: bytes) -> None:
        """Store (replace) a person's encrypted credentials/token cache for ``provider``.

        ``blob`` must already be encrypted by the vault; the store never sees plaintext.
        """

    @abstractmethod
    def get_credentials(self, email: str, provider: str | None = None) -> bytes | None:
        """The encrypted blob for ``provider`` (or the most recently stored one); ``None`` if none."""

    # sync state and events ------------------------------------------------------------
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
        Raises :class:`~balanced_calendar.model.InputError` for an invalid event.
        """

    @abstractmethod
    def apply_changes(self, email: str, calendar: str, upserts: Sequence[Event],
                      deleted_uids: Sequence[str], state: SyncState) -> None:
        """Incremental sync in ONE transaction.

        Every stored instance whose uid is in ``deleted_uids`` or is the uid of an upsert
        is removed, then ``upserts`` are inserted (so a changed recurring series replaces all
        its instances), then ``state`` is written. ``deleted_uids`` are provider uids (raw).
        """

    @abstractmethod
    def load_events(self, email: str, start: dt.datetime, end: dt.datetime) -> list[Event]:
        """Stored events of all the person's calendars overlapping ``[start, end)``.

        Timed events carry aware UTC datetimes, all-day events dates; ``uid`` is the hashed
        uid and ``title`` is always ``None``. Ordered by start.
        """

    # audit results ----------------------------------------------------------------------
    @abstractmethod
    def save_audit(self, email: str, result: AuditResult) -> None:
        """Replace the person's day figures and findings for ``result.start..result.end``."""

    @abstractmethod
    def load_audit_days(self, email: str, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        """Stored day figures (the ``days`` objects of DESIGN.md §5) in ``[start, end]``, by date."""

    @abstractmethod
    def load_findings(self, email: str, start: dt.date, end: dt.date) -> list[Finding]:
        """Stored findings anchored in ``[start, end]``, by date then original order.

        Week findings (``meeting_overload``) are anchored at the first audited day of their week.
        """

    # own blocks -------------------------------------------------------------------------
    @abstractmethod
    def upsert_own_block(self, block: OwnBlock) -> None:
        """Create or replace the record of one own block (by ``email`` + ``block_id``)."""

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

    # outbox -----------------------------------------------------------------------------
    @abstractmethod
    def enqueue(self, msg: OutboxMessage) -> bool:
        """Queue a message; ``False`` (and nothing changes) if its key was ever queued before."""

    @abstractmethod
    def pending(self, now: dt.datetime) -> list[OutboxMessage]:
        """Unsent, not given-up messages whose next attempt is due at ``now``, oldest first."""

    @abstractmethod
    def mark_sent(self, key: str, at: dt.datetime) -> None:
        """Record delivery. Raises :class:`StoreError` for an unknown key."""

    @abstractmethod
    def mark_failed(self, key: str, error: str, next_attempt: dt.datetime | None) -> None:
        """Record a failed attempt; retry at ``next_attempt`` (``None``: give up)."""

    # erasure, runs, maintenance -----------------------------------------------------------
    @abstractmethod
    def erase_person(self, email: str, reason: str) -> str:
        """Delete everything of that person in ONE transaction; returns the pseudonym.

        Only ``(pseudonym, erased_at, reason)`` is kept, in the erasure log; ``reason``
        must not contain personal data (use a code such as ``"consent_withdrawn"``).
        Remove the person's future own blocks from their calendar *before* calling this:
        afterwards the store no longer knows them.
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
        """An installation-wide value (e.g. ``vault.check``); ``None`` when unset."""

    @abstractmethod
    def set_meta(self, name: str, value: bytes, *, overwrite: bool = True) -> bool:
        """Set an installation-wide value; ``False`` if it exists and ``overwrite`` is false."""

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

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


# -- an inter-process lock any file-backed implementation can use ---------------------------

_LOCK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")


def open_private(path: Path, what: str = "") -> int:
    """Open (creating with mode 0600) a file of the state directory; returns the descriptor.

    Raises :class:`StoreError` with the usual ownership hint when it cannot be opened.
    """
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise StoreError(f"cannot open {what}{path}: {exc.strerror}",
                         hint="check that the service user owns the state directory") from None


@contextlib.contextmanager
def file_lock(directory: Path, name: str, wait: float | None = 0, *, poll: float = 0.05) -> Iterator[None]:
    """``fcntl.flock`` on ``directory/<name>.lock``, with our pid written into the file.

    The kernel drops the lock when the holder dies (even on ``kill -9``), so a stale lock
    file never blocks anyone. A second holder — another process, or another ``with`` in
    this process — waits up to ``wait`` seconds (``None``: forever), then gets a
    :class:`~balanced_calendar.model.UserError` naming the holder's pid.
    """
    if not _LOCK_NAME.match(name):
        raise ValueError(f"invalid lock name {name!r}")
    path = directory / f"{name}.lock"
    fd = open_private(path, "the lock file ")
    try:
        deadline = None if wait is None else time.monotonic() + max(wait, 0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise StoreError(f"cannot lock {path}: {exc.strerror}") from None
            if deadline is not None and time.monotonic() >= deadline:
                holder = _read_pid(fd)
                who = f"pid {holder}" if holder else "pid unknown"
                raise UserError(f"another {name} is running ({who}); wait for it to finish or stop it",
                                hint=f"lock file: {path}")
            time.sleep(poll if deadline is None else min(poll, max(deadline - time.monotonic(), 0)))
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        log.debug("lock %s acquired", name)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            log.debug("lock %s released", name)
    finally:
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
