"""The connection every SQLite concern part shares: opening, transactions, migration, hashing.

Decisions (written down because callers rely on them):

- **One connection per store, shared by threads** (``check_same_thread=False``) and
  serialised by an ``RLock``. SQLite runs one writer at a time anyway, and our
  statements are short; this keeps transactions simple and honest.
- **Several processes** (daemon + a CLI command) may open the same file: WAL lets readers
  run during a write, ``BEGIN IMMEDIATE`` takes the write lock up front (no deadlocking
  lock upgrades), and ``busy_timeout`` makes a writer wait for the other one. Whole
  sync runs are serialised with ``exclusive()`` (``flock``).
- **Durability**: ``synchronous=FULL``. Each commit is fsynced, so a committed outbox
  "sent" mark, a finished job or a consent record survives power loss, not only ``kill -9``.
- **Schema**: ``PRAGMA user_version`` is the number of migrations applied; each migration
  runs in its own transaction together with the version bump (see :mod:`.schema`). A file
  newer than this code is refused with a :class:`StoreError` (never "downgraded").
- **Minimisation**: provider uids and addresses are hashed (HMAC-SHA256). The key is given
  by the opener (``secret``: the runtime derives it from the vault key) and never written to
  the file; ``meta`` keeps only ``store.keyed`` (a check value that confirms no address).
  A store opened without a key (tests, benchmarks) keeps a random ``store.secret`` in
  ``meta``, as older versions did; the first keyed open re-keys it (:meth:`_rekey`).
- Files: ``state_dir`` is created 0700, the database 0600 (SQLite gives the ``-wal`` and
  ``-shm`` files the database's mode). WAL needs a local filesystem (not NFS).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import logging
import os
import secrets
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from balanced_calendar.model import InputError
from balanced_calendar.store.errors import NotEnrolled, StoreError
from balanced_calendar.store.locking import disk_full, disk_full_error, open_private
from balanced_calendar.store.sqlite.schema import MIGRATIONS

log = logging.getLogger(__name__)

DB_NAME = "state.sqlite3"
UTC = dt.timezone.utc
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_SECRET_KEY = "store.secret"  # legacy and keyless stores only: the HMAC key in the file
_KEYED = "store.keyed"  # keyed stores: HMAC(key, _KEY_CHECK)[:16], nothing else of the key
_KEY_CHECK = b"balanced-calendar store key check v1"


# -- conversions ----------------------------------------------------------------------------

def ts(value: dt.datetime | None) -> str | None:
    """An aware datetime as sortable UTC text (microseconds kept). Raises InputError if naive."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise InputError(f"naive datetime {value.isoformat()} given to the store; use an aware one")
    return value.astimezone(UTC).strftime(_TS_FORMAT)


def from_ts(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.strptime(text, _TS_FORMAT).replace(tzinfo=UTC)


def epoch(value: dt.datetime) -> int:
    """Whole seconds since the epoch (floor), exact for any aware datetime."""
    return (value - _EPOCH) // dt.timedelta(seconds=1)


def from_epoch(seconds: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(seconds=seconds)


def email_key(email: str) -> str:
    return email.strip().lower()


def zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        log.warning("unknown time zone in a person's record; matching all-day events in UTC")
        return UTC


class SQLiteCore:
    """One SQLite connection with the plumbing every concern part uses. Not a store by itself."""

    def __init__(self, state_dir: Path, *, busy_timeout: float = 30.0,
                 migrations: Sequence[Sequence[str]] = MIGRATIONS, secret: bytes | None = None,
                 verify: Callable[[Any], None] | None = None) -> None:
        """Open (creating and migrating as needed) ``state_dir/state.sqlite3``.

        ``secret`` (32 bytes or more) keys the pseudonyms and uid hashes and stays in memory
        only. ``verify(store)``, when given, runs after the schema migration and before the
        key is used or recorded (the runtime checks the vault key there), so a refusal
        leaves the file as it was. Without ``secret`` a store set up with one can be read
        but not hash (:class:`StoreError`); a new store gets a random key kept in ``meta``.
        Raises :class:`StoreError` when the directory or file cannot be used, the file is
        not a database, its schema is newer than ``migrations``, or ``secret`` is not the key
        the store was set up with.
        """
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / DB_NAME
        self._busy_timeout = busy_timeout
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        _prepare_dir(self.state_dir)
        _prepare_file(self.path)
        try:
            conn = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            raise wrap(exc, self.path) from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"{self.path}: cannot switch the database to WAL mode (got {mode})",
                                 hint="keep state_dir on a local filesystem")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA secure_delete = ON")
            # After a checkpoint the WAL shrinks back to 1 MiB: one big sync must not keep the disk full.
            conn.execute("PRAGMA journal_size_limit = 1048576")
            conn.execute("PRAGMA trusted_schema = OFF")
            self._conn = conn
            self._migrate(migrations)
            self._secret: bytes | None = None
            if verify is not None:
                verify(self)
            self._secret = self._use_key(secret)
        except sqlite3.Error as exc:
            conn.close()
            self._conn = None
            raise wrap(exc, self.path) from None
        except BaseException:
            conn.close()
            self._conn = None
            raise

    # -- transactions ---------------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the store is closed")
        return self._conn

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``): all of it is committed or none."""
        with self._lock:
            conn = self._db()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise wrap(exc, self.path) from None
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise wrap(exc, self.path) from None
                raise

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent read (one snapshot) under the thread lock."""
        with self._lock:
            conn = self._db()
            try:
                conn.execute("BEGIN")
                try:
                    yield conn
                finally:
                    if conn.in_transaction:
                        conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise wrap(exc, self.path) from None

    def _migrate(self, migrations: Sequence[Sequence[str]]) -> None:
        conn = self._db()
        known = len(migrations)
        while True:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > known:
                raise StoreError(
                    f"{self.path} was written by a newer balanced-calendar (schema {version}; "
                    f"this version knows schema {known})",
                    hint="upgrade balanced-calendar, or restore the backup made before the upgrade")
            if version == known:
                return
            with self._tx() as tx:
                # Re-read inside the write lock: another process may have migrated meanwhile.
                current = tx.execute("PRAGMA user_version").fetchone()[0]
                if current != version:
                    continue
                for statement in migrations[version]:
                    tx.execute(statement)
                tx.execute(f"PRAGMA user_version = {version + 1}")
            log.info("state database migrated to schema %d", version + 1)

    # -- hashing and people lookups every concern needs ------------------------------------------
    def _use_key(self, secret: bytes | None) -> bytes | None:
        """The HMAC key to use; records or checks ``store.keyed``, re-keys a legacy file."""
        conn = self._db()
        meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN (?, ?)", (_SECRET_KEY, _KEYED)))
        if secret is None:
            if _KEYED in meta:
                return None  # readable; hashing needs the key (see _hmac)
            with self._tx() as tx:
                tx.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)",
                           (_SECRET_KEY, secrets.token_bytes(32)))
                return bytes(tx.execute("SELECT value FROM meta WHERE key = ?", (_SECRET_KEY,)).fetchone()[0])
        if len(secret) < 32:
            raise ValueError("the store key must have at least 32 bytes")
        check = hmac.new(secret, _KEY_CHECK, hashlib.sha256).digest()[:16]
        if _KEYED in meta:
            if not hmac.compare_digest(bytes(meta[_KEYED]), check):
                raise StoreError(f"{self.path} was set up with another vault key; nothing was changed",
                                 hint="start with the vault key this installation was set up with")
            return bytes(secret)
        self._rekey(bytes(secret), check)
        return bytes(secret)

    def _rekey(self, secret: bytes, check: bytes) -> None:
        """Move a store whose key is in the file (older versions, keyless opens) to ``secret``.

        In one transaction: every enrolled person's pseudonym is recomputed from their
        address (the job queue follows), events are dropped and change tokens reset (uids
        are only kept hashed; the next sync reads every calendar whole), the old key is
        deleted and ``store.keyed`` written. Erasure-log pseudonyms of people already erased
        cannot be recomputed and stay as they are. The WAL is then truncated so the old key
        does not linger in it (``secure_delete`` zeroes its page in the database).
        """
        self._secret = secret
        with self._tx() as tx:
            people = tx.execute("SELECT id, email_key, pseudonym FROM people").fetchall()
            # Pseudonyms are UNIQUE: park them on the row id first, so no new one collides with an old one.
            tx.execute("UPDATE people SET pseudonym = 'rekey-' || id")
            for pid, key, old in people:
                new = self.pseudonym(key)
                tx.execute("UPDATE people SET pseudonym = ? WHERE id = ?", (new, pid))
                tx.execute("UPDATE jobs SET subject = CASE WHEN subject = :old THEN :new ELSE subject END, "
                           "key = replace(key, :old, :new) WHERE subject = :old OR instr(key, :old) > 0",
                           {"old": old, "new": new})
            tx.execute("DELETE FROM events")
            tx.execute("UPDATE sync_state SET token = NULL, window_start = NULL, window_end = NULL")
            tx.execute("DELETE FROM meta WHERE key = ?", (_SECRET_KEY,))
            tx.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (_KEYED, check))
        with contextlib.suppress(sqlite3.Error):
            self._db().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        log.info("state database re-keyed with the vault key: %d pseudonyms recomputed, "
                 "events will be read again", len(people))

    def _hmac(self, text: str) -> str:
        if self._secret is None:
            raise StoreError("the store was opened without its key: pseudonyms and event ids cannot be computed",
                             hint="open it through the runtime (with the vault key)")
        return hmac.new(self._secret, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def _uid_hash(self, uid: str) -> str:
        return self._hmac(uid)

    def pseudonym(self, email: str) -> str:
        """The stable pseudonymous id of an address (enrolled or not): ``"p-"`` + 12 hex.

        A store opened without its key knows only enrolled people's pseudonyms (read from
        ``people``); for any other address it raises :class:`StoreError`.
        """
        if self._secret is None:
            with self._lock:
                row = self._db().execute("SELECT pseudonym FROM people WHERE email_key = ?",
                                         (email_key(email),)).fetchone()
            if row is not None:
                return str(row[0])
        return "p-" + self._hmac(email_key(email))[:12]

    def _person_id(self, conn: sqlite3.Connection, email: str) -> int:
        """The row id of an enrolled address. Raises :class:`NotEnrolled`."""
        row = conn.execute("SELECT id FROM people WHERE email_key = ?", (email_key(email),)).fetchone()
        if row is None:
            raise NotEnrolled(email)
        return int(row[0])

    def _person_email(self, conn: sqlite3.Connection, person_id: int) -> str:
        return str(conn.execute("SELECT email FROM people WHERE id = ?", (person_id,)).fetchone()[0])

    def _person_zone(self, conn: sqlite3.Connection, person_id: int) -> dt.tzinfo:
        row = conn.execute("SELECT timezone FROM people WHERE id = ?", (person_id,)).fetchone()
        return zone(row[0])


# -- files and errors -----------------------------------------------------------------------

def _prepare_dir(state_dir: Path) -> None:
    try:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the state directory {state_dir}: {exc.strerror}",
                         hint="set service.state_dir to a directory the service user owns "
                              "(systemd: StateDirectory=balanced-calendar)") from None
    mode = stat.S_IMODE(state_dir.stat().st_mode)
    if mode & 0o077:
        log.warning("state directory %s is accessible to group/others (mode %o); consider chmod 700",
                    state_dir, mode)


def _prepare_file(path: Path) -> None:
    """Create the database file 0600 before SQLite does (its -wal/-shm then inherit the mode)."""
    fd = open_private(path)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def wrap(exc: sqlite3.Error, path: Path) -> StoreError:
    """The :class:`StoreError` (with a hint) an operator should see for a SQLite failure."""
    text = str(exc)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return StoreError(f"{path} is busy: another process kept it locked too long",
                          hint="another balanced-calendar command is probably running; wait for it or stop it")
    if "full" in lowered or ("i/o error" in lowered and disk_full(path.parent)):
        # SQLite says "disk I/O error" when the WAL or its index cannot grow on a full disk
        return disk_full_error(path.parent)
    if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        return StoreError(f"{path} is damaged or not a balanced-calendar database ({text})",
                          hint="restore it from a backup, or move it away to start afresh")
    if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
        from balanced_calendar.store.access import write_hint

        return StoreError(f"cannot write {path} ({text})", hint=write_hint(path))
    return StoreError(f"{path}: database error: {text}")
