"""The SQLite store: one file under ``state_dir``, WAL, versioned schema.

Decisions (written down because callers rely on them):

- **One connection per store, shared by threads** (``check_same_thread=False``) and
  serialised by an ``RLock``. SQLite runs one writer at a time anyway, and our
  statements are short; this keeps transactions simple and honest.
- **Several processes** (daemon + a CLI command) may open the same file: WAL lets readers
  run during a write, ``BEGIN IMMEDIATE`` takes the write lock up front (no deadlocking
  lock upgrades), and ``busy_timeout`` makes a writer wait for the other one. Whole
  sync runs are serialised with :meth:`SQLiteStore.exclusive` (``flock``).
- **Durability**: ``synchronous=FULL``. Each commit is fsynced, so a committed outbox
  "sent" mark or a consent record survives power loss, not only ``kill -9``. Writes are
  a few transactions per person per sync, so the cost does not matter.
- **Erasure**: ``secure_delete=ON`` zeroes deleted content, and after an erasure the WAL
  is checkpointed and truncated, so an erased person's bytes do not linger in the files.
- **Schema**: ``PRAGMA user_version`` is the number of migrations applied; each migration
  runs in its own transaction together with the version bump. A file newer than this
  code is refused with a :class:`StoreError` (never "downgraded").
- **Minimisation**: the ``events`` table has no column that could hold a title,
  description, location or address; provider uids are stored as HMAC-SHA256 under a
  random 32-byte secret created on first open and kept in ``meta``.
- Files: ``state_dir`` is created 0700, the database 0600 (SQLite gives the ``-wal`` and
  ``-shm`` files the database's mode). WAL needs a local filesystem (not NFS).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import secrets
import sqlite3
import stat
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from balanced_calendar.model import AuditResult, Event, Finding, InputError, Kind, Response, ShowAs, Status
from balanced_calendar.store.base import (
    ConsentRecord,
    ErasureRecord,
    NotEnrolled,
    OutboxMessage,
    OwnBlock,
    PersonRecord,
    RunRecord,
    Store,
    StoreError,
    SyncState,
    file_lock,
    open_private,
)

log = logging.getLogger(__name__)

DB_NAME = "state.sqlite3"
_UTC = dt.timezone.utc
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_SECRET_KEY = "store.secret"

#: Each migration is a list of statements, applied in one transaction with the version bump.
#: Never edit a released step; append a new one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: initial schema
        """CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value BLOB NOT NULL
        )""",
        """CREATE TABLE people (
            id          INTEGER PRIMARY KEY,
            email       TEXT NOT NULL,
            email_key   TEXT NOT NULL UNIQUE,
            pseudonym   TEXT NOT NULL UNIQUE,
            connector   TEXT NOT NULL,
            calendar    TEXT NOT NULL,
            timezone    TEXT NOT NULL,
            language    TEXT NOT NULL,
            team        TEXT,
            protect     INTEGER NOT NULL CHECK (protect IN (0, 1)),
            digest      INTEGER NOT NULL CHECK (digest IN (0, 1)),
            enrolled_at TEXT NOT NULL
        )""",
        """CREATE TABLE consents (
            id           INTEGER PRIMARY KEY,
            person_id    INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            at           TEXT NOT NULL,
            scopes       TEXT NOT NULL,
            purposes     TEXT NOT NULL,
            text_version TEXT NOT NULL,
            language     TEXT NOT NULL
        )""",
        "CREATE INDEX consents_person ON consents(person_id, at)",
        """CREATE TABLE credentials (
            person_id  INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            provider   TEXT NOT NULL,
            blob       BLOB NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (person_id, provider)
        ) WITHOUT ROWID""",
        """CREATE TABLE sync_state (
            person_id    INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            calendar     TEXT NOT NULL,
            token        TEXT,
            window_start TEXT,
            window_end   TEXT,
            last_sync    TEXT,
            last_error   TEXT,
            PRIMARY KEY (person_id, calendar)
        ) WITHOUT ROWID""",
        # No title, description, location, attendee or address column: by construction.
        """CREATE TABLE events (
            person_id         INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            calendar          TEXT NOT NULL,
            uid_hash          TEXT NOT NULL,
            all_day           INTEGER NOT NULL CHECK (all_day IN (0, 1)),
            start_utc         INTEGER,
            end_utc           INTEGER,
            start_date        TEXT,
            end_date          TEXT,
            status            TEXT NOT NULL CHECK (status IN ('confirmed', 'tentative', 'cancelled')),
            response          TEXT NOT NULL CHECK (response IN
                              ('organizer', 'accepted', 'tentative', 'declined', 'needs_action', 'unknown')),
            show_as           TEXT NOT NULL CHECK (show_as IN
                              ('busy', 'tentative', 'free', 'oof', 'working_elsewhere')),
            kind              TEXT NOT NULL CHECK (kind IN
                              ('event', 'focus', 'out_of_office', 'working_location', 'own_block')),
            others            INTEGER NOT NULL CHECK (others >= 0),
            organizer_is_self INTEGER NOT NULL CHECK (organizer_is_self IN (0, 1)),
            CHECK ((all_day = 0 AND start_utc IS NOT NULL AND end_utc IS NOT NULL
                    AND start_date IS NULL AND end_date IS NULL)
                OR (all_day = 1 AND start_date IS NOT NULL AND end_date IS NOT NULL
                    AND start_utc IS NULL AND end_utc IS NULL))
        )""",
        "CREATE INDEX events_person_start ON events(person_id, start_utc)",
        "CREATE INDEX events_person_date ON events(person_id, start_date)",
        "CREATE INDEX events_uid ON events(person_id, calendar, uid_hash)",
        """CREATE TABLE audit_days (
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            day       TEXT NOT NULL,
            figures   TEXT NOT NULL,
            PRIMARY KEY (person_id, day)
        ) WITHOUT ROWID""",
        """CREATE TABLE findings (
            id        INTEGER PRIMARY KEY,
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            day       TEXT NOT NULL,
            rule      TEXT NOT NULL,
            fields    TEXT NOT NULL
        )""",
        "CREATE INDEX findings_person_day ON findings(person_id, day)",
        """CREATE TABLE own_blocks (
            person_id   INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            block_id    TEXT NOT NULL,
            day         TEXT NOT NULL,
            start_utc   INTEGER NOT NULL,
            end_utc     INTEGER NOT NULL,
            kind        TEXT NOT NULL CHECK (kind IN ('focus', 'recovery', 'break')),
            title       TEXT,
            provider_id TEXT,
            fingerprint TEXT,
            state       TEXT NOT NULL CHECK (state IN ('active', 'deleted_by_user', 'edited_by_user')),
            PRIMARY KEY (person_id, block_id)
        )""",
        "CREATE INDEX own_blocks_day ON own_blocks(person_id, day)",
        """CREATE TABLE tombstones (
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            block_id  TEXT NOT NULL,
            day       TEXT NOT NULL,
            PRIMARY KEY (person_id, block_id, day)
        ) WITHOUT ROWID""",
        """CREATE TABLE outbox (
            key          TEXT PRIMARY KEY,
            person_id    INTEGER REFERENCES people(id) ON DELETE CASCADE,
            recipient    TEXT NOT NULL,
            message      BLOB NOT NULL,
            created      TEXT NOT NULL,
            attempts     INTEGER NOT NULL DEFAULT 0,
            next_attempt TEXT,
            sent_at      TEXT,
            last_error   TEXT
        )""",
        "CREATE INDEX outbox_due ON outbox(sent_at, next_attempt)",
        "CREATE INDEX outbox_person ON outbox(person_id)",
        """CREATE TABLE runs (
            person_id  INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            kind       TEXT NOT NULL,
            at         TEXT NOT NULL,
            ok         INTEGER NOT NULL CHECK (ok IN (0, 1)),
            error      TEXT,
            last_ok_at TEXT,
            PRIMARY KEY (person_id, kind)
        ) WITHOUT ROWID""",
        """CREATE TABLE erasure_log (
            id        INTEGER PRIMARY KEY,
            pseudonym TEXT NOT NULL,
            erased_at TEXT NOT NULL,
            reason    TEXT NOT NULL
        )""",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)


# -- conversions ----------------------------------------------------------------------------

def _ts(value: dt.datetime | None) -> str | None:
    """An aware datetime as sortable UTC text (microseconds kept)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise InputError(f"naive datetime {value.isoformat()} given to the store; use an aware one")
    return value.astimezone(_UTC).strftime(_TS_FORMAT)


def _from_ts(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.strptime(text, _TS_FORMAT).replace(tzinfo=_UTC)


def _epoch(value: dt.datetime) -> int:
    """Whole seconds since the epoch (floor), exact for any aware datetime."""
    return (value - _EPOCH) // dt.timedelta(seconds=1)


def _from_epoch(seconds: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(seconds=seconds)


def _email_key(email: str) -> str:
    return email.strip().lower()


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} in an audit row")


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        log.warning("unknown time zone in a person's record; matching all-day events in UTC")
        return _UTC


def _date_bounds(start: dt.datetime, end: dt.datetime, zone: dt.tzinfo) -> tuple[str, str]:
    """Local dates ``(first, stop)``: an all-day ``[sd, ed)`` overlaps ``[start, end)`` iff
    ``sd < stop and ed > first`` (or it is empty and ``first <= sd < stop``)."""
    local_start = start.astimezone(zone)
    local_end = end.astimezone(zone)
    stop = local_end.date()
    if local_end.time() != dt.time(0):
        stop += dt.timedelta(days=1)
    return local_start.date().isoformat(), stop.isoformat()


def _check_window(start: dt.datetime, end: dt.datetime) -> None:
    for value in (start, end):
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise InputError("a window needs timezone-aware datetimes")
    if end < start:
        raise InputError(f"the window ends ({end.isoformat()}) before it starts ({start.isoformat()})")


# SQL fragments matching events overlapping a window (see _date_bounds for all-day).
_OVERLAP = """(
    (all_day = 0 AND start_utc < :end_utc AND (end_utc > :start_utc OR (end_utc = start_utc AND start_utc >= :start_utc)))
 OR (all_day = 1 AND start_date < :stop_date AND (end_date > :first_date OR (end_date = start_date AND start_date >= :first_date)))
)"""

_EVENT_COLUMNS = ("person_id, calendar, uid_hash, all_day, start_utc, end_utc, start_date, end_date, "
                  "status, response, show_as, kind, others, organizer_is_self")


class SQLiteStore(Store):
    """:class:`~balanced_calendar.store.base.Store` on one SQLite file. Use :func:`open_store`."""

    def __init__(self, state_dir: Path, *, busy_timeout: float = 30.0,
                 migrations: Sequence[Sequence[str]] = MIGRATIONS) -> None:
        """Open (creating and migrating as needed) ``state_dir/state.sqlite3``.

        Raises :class:`StoreError` when the directory or file cannot be used, the file is
        not a database, or its schema is newer than ``migrations``.
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
            raise _wrap(exc, self.path) from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"{self.path}: cannot switch the database to WAL mode (got {mode})",
                                 hint="keep state_dir on a local filesystem")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute("PRAGMA trusted_schema = OFF")
            self._conn = conn
            self._migrate(migrations)
            self._secret = self._ensure_secret()
        except sqlite3.Error as exc:
            conn.close()
            self._conn = None
            raise _wrap(exc, self.path) from None
        except BaseException:
            conn.close()
            self._conn = None
            raise

    # -- plumbing ---------------------------------------------------------------------------
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
                raise _wrap(exc, self.path) from None
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise _wrap(exc, self.path) from None
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
                raise _wrap(exc, self.path) from None

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

    def _ensure_secret(self) -> bytes:
        with self._tx() as tx:
            tx.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)",
                       (_SECRET_KEY, secrets.token_bytes(32)))
            return bytes(tx.execute("SELECT value FROM meta WHERE key = ?", (_SECRET_KEY,)).fetchone()[0])

    def _hmac(self, text: str) -> str:
        return hmac.new(self._secret, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def _uid_hash(self, uid: str) -> str:
        return self._hmac(uid)

    def _person_id(self, conn: sqlite3.Connection, email: str) -> int:
        row = conn.execute("SELECT id FROM people WHERE email_key = ?", (_email_key(email),)).fetchone()
        if row is None:
            raise NotEnrolled(email)
        return int(row[0])

    def _person_zone(self, conn: sqlite3.Connection, person_id: int) -> dt.tzinfo:
        row = conn.execute("SELECT timezone FROM people WHERE id = ?", (person_id,)).fetchone()
        return _zone(row[0])

    # -- people and consent -------------------------------------------------------------------
    def pseudonym(self, email: str) -> str:
        return "p-" + self._hmac(_email_key(email))[:12]

    def _upsert_person(self, conn: sqlite3.Connection, person: PersonRecord) -> PersonRecord:
        key = _email_key(person.email)
        enrolled = person.enrolled_at or dt.datetime.now(_UTC)
        conn.execute(
            """INSERT INTO people(email, email_key, pseudonym, connector, calendar, timezone, language,
                                  team, protect, digest, enrolled_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(email_key) DO UPDATE SET
                   email = excluded.email, connector = excluded.connector, calendar = excluded.calendar,
                   timezone = excluded.timezone, language = excluded.language, team = excluded.team,
                   protect = excluded.protect, digest = excluded.digest""",
            (person.email.strip(), key, self.pseudonym(key), person.connector, person.calendar,
             person.timezone, person.language, person.team, int(person.protect), int(person.digest),
             _ts(enrolled)))
        return self._get_person(conn, person.email)

    def upsert_person(self, person: PersonRecord) -> PersonRecord:
        with self._tx() as tx:
            return self._upsert_person(tx, person)

    def enroll(self, person: PersonRecord, consent: ConsentRecord) -> PersonRecord:
        if _email_key(consent.email) != _email_key(person.email):
            raise InputError("the consent record belongs to a different address than the person")
        with self._tx() as tx:
            record = self._upsert_person(tx, person)
            self._add_consent(tx, consent)
            return record

    def _get_person(self, conn: sqlite3.Connection, email: str) -> PersonRecord:
        row = conn.execute(
            """SELECT email, connector, calendar, timezone, language, team, protect, digest, enrolled_at,
                      pseudonym FROM people WHERE email_key = ?""", (_email_key(email),)).fetchone()
        if row is None:
            raise NotEnrolled(email)
        return _person(row)

    def get_person(self, email: str) -> PersonRecord:
        with self._read() as conn:
            return self._get_person(conn, email)

    def list_people(self) -> list[PersonRecord]:
        with self._read() as conn:
            rows = conn.execute(
                """SELECT email, connector, calendar, timezone, language, team, protect, digest,
                          enrolled_at, pseudonym FROM people ORDER BY email_key""").fetchall()
        return [_person(row) for row in rows]

    def _add_consent(self, conn: sqlite3.Connection, consent: ConsentRecord) -> None:
        pid = self._person_id(conn, consent.email)
        conn.execute(
            "INSERT INTO consents(person_id, at, scopes, purposes, text_version, language) VALUES (?, ?, ?, ?, ?, ?)",
            (pid, _ts(consent.at), json.dumps(list(consent.scopes)), json.dumps(list(consent.purposes)),
             consent.text_version, consent.language))

    def add_consent(self, consent: ConsentRecord) -> None:
        with self._tx() as tx:
            self._add_consent(tx, consent)

    def consents(self, email: str) -> list[ConsentRecord]:
        with self._read() as conn:
            pid = self._person_id(conn, email)
            person_email = conn.execute("SELECT email FROM people WHERE id = ?", (pid,)).fetchone()[0]
            rows = conn.execute(
                "SELECT at, scopes, purposes, text_version, language FROM consents WHERE person_id = ? "
                "ORDER BY at, id", (pid,)).fetchall()
        return [ConsentRecord(email=person_email, at=_from_ts(at), scopes=tuple(json.loads(scopes)),  # type: ignore[arg-type]
                              purposes=tuple(json.loads(purposes)), text_version=version, language=language)
                for at, scopes, purposes, version, language in rows]

    # -- credentials ----------------------------------------------------------------------------
    def put_credentials(self, email: str, provider: str, blob: bytes) -> None:
        if not isinstance(blob, (bytes, bytearray)):
            raise TypeError("credentials must be bytes encrypted by the vault")
        with self._tx() as tx:
            pid = self._person_id(tx, email)
            tx.execute(
                """INSERT INTO credentials(person_id, provider, blob, updated_at) VALUES (?, ?, ?, ?)
                   ON CONFLICT(person_id, provider) DO UPDATE SET blob = excluded.blob,
                                                               updated_at = excluded.updated_at""",
                (pid, provider, bytes(blob), _ts(dt.datetime.now(_UTC))))

    def get_credentials(self, email: str, provider: str | None = None) -> bytes | None:
        with self._read() as conn:
            pid = self._person_id(conn, email)
            if provider is None:
                row = conn.execute("SELECT blob FROM credentials WHERE person_id = ? "
                                   "ORDER BY updated_at DESC LIMIT 1", (pid,)).fetchone()
            else:
                row = conn.execute("SELECT blob FROM credentials WHERE person_id = ? AND provider = ?",
                                   (pid, provider)).fetchone()
        return None if row is None else bytes(row[0])

    # -- sync state and events ------------------------------------------------------------------
    def get_sync_state(self, email: str, calendar: str) -> SyncState:
        with self._read() as conn:
            pid = self._person_id(conn, email)
            row = conn.execute(
                "SELECT token, window_start, window_end, last_sync, last_error FROM sync_state "
                "WHERE person_id = ? AND calendar = ?", (pid, calendar)).fetchone()
        if row is None:
            return SyncState(email=email, calendar=calendar)
        token, ws, we, last, error = row
        return SyncState(email=email, calendar=calendar, token=token, window_start=_from_ts(ws),
                         window_end=_from_ts(we), last_sync=_from_ts(last), last_error=error)

    def _set_sync_state(self, conn: sqlite3.Connection, pid: int, calendar: str, state: SyncState) -> None:
        conn.execute(
            """INSERT INTO sync_state(person_id, calendar, token, window_start, window_end, last_sync, last_error)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(person_id, calendar) DO UPDATE SET
                   token = excluded.token, window_start = excluded.window_start,
                   window_end = excluded.window_end, last_sync = excluded.last_sync,
                   last_error = excluded.last_error""",
            (pid, calendar, state.token, _ts(state.window_start), _ts(state.window_end),
             _ts(state.last_sync), state.last_error))

    def set_sync_state(self, state: SyncState) -> None:
        with self._tx() as tx:
            self._set_sync_state(tx, self._person_id(tx, state.email), state.calendar, state)

    def _check_state(self, email: str, calendar: str, state: SyncState) -> None:
        if _email_key(state.email) != _email_key(email) or state.calendar != calendar:
            raise InputError("the sync state belongs to a different person or calendar")

    def _event_rows(self, pid: int, calendar: str, events: Iterable[Event]) -> Iterator[tuple[Any, ...]]:
        """Rows for ``events``; validation errors surface mid-insert, inside the transaction."""
        for event in events:
            if not isinstance(event, Event):
                raise InputError(f"expected an Event, got {type(event).__name__}")
            if event.others < 0:
                raise InputError("an event has a negative number of participants")
            if event.all_day:
                timed: tuple[Any, ...] = (1, None, None, event.start.isoformat(), event.end.isoformat())
            else:
                timed = (0, _epoch(event.start), _epoch(event.end), None, None)  # type: ignore[arg-type]
            yield (pid, calendar, self._uid_hash(event.uid), *timed, Status(event.status).value,
                   Response(event.response).value, ShowAs(event.show_as).value, Kind(event.kind).value,
                   int(event.others), int(bool(event.organizer_is_self)))

    def _insert_events(self, conn: sqlite3.Connection, pid: int, calendar: str, events: Iterable[Event]) -> int:
        before = conn.total_changes
        try:
            conn.executemany(f"INSERT INTO events({_EVENT_COLUMNS}) VALUES ({', '.join('?' * 14)})",
                             self._event_rows(pid, calendar, events))
        except ValueError as exc:  # e.g. an unknown enum value
            raise InputError(f"an event could not be stored: {exc}") from None
        except sqlite3.IntegrityError as exc:
            raise InputError(f"an event could not be stored: {exc}") from None
        return conn.total_changes - before

    def replace_events(self, email: str, calendar: str, window_start: dt.datetime,
                       window_end: dt.datetime, events: Sequence[Event] | Iterator[Event],
                       state: SyncState) -> int:
        _check_window(window_start, window_end)
        self._check_state(email, calendar, state)
        with self._tx() as tx:
            pid = self._person_id(tx, email)
            first, stop = _date_bounds(window_start, window_end, self._person_zone(tx, pid))
            tx.execute(f"DELETE FROM events WHERE person_id = :pid AND calendar = :calendar AND {_OVERLAP}",
                       {"pid": pid, "calendar": calendar, "start_utc": _epoch(window_start),
                        "end_utc": _epoch(window_end), "first_date": first, "stop_date": stop})
            count = self._insert_events(tx, pid, calendar, events)
            self._set_sync_state(tx, pid, calendar, state)
        log.debug("replaced events of %s: %d stored", self.pseudonym(email), count)
        return count

    def apply_changes(self, email: str, calendar: str, upserts: Sequence[Event],
                      deleted_uids: Sequence[str], state: SyncState) -> None:
        self._check_state(email, calendar, state)
        upserts = list(upserts)
        gone = {self._uid_hash(uid) for uid in deleted_uids}
        gone.update(self._uid_hash(event.uid) for event in upserts if isinstance(event, Event))
        with self._tx() as tx:
            pid = self._person_id(tx, email)
            tx.executemany("DELETE FROM events WHERE person_id = ? AND calendar = ? AND uid_hash = ?",
                           [(pid, calendar, uid_hash) for uid_hash in gone])
            count = self._insert_events(tx, pid, calendar, upserts)
            self._set_sync_state(tx, pid, calendar, state)
        log.debug("applied changes for %s: %d upserted, %d uids removed",
                  self.pseudonym(email), count, len(deleted_uids))

    def load_events(self, email: str, start: dt.datetime, end: dt.datetime) -> list[Event]:
        _check_window(start, end)
        with self._read() as conn:
            pid = self._person_id(conn, email)
            zone = self._person_zone(conn, pid)
            first, stop = _date_bounds(start, end, zone)
            rows = conn.execute(
                f"""SELECT calendar, uid_hash, all_day, start_utc, end_utc, start_date, end_date, status,
                           response, show_as, kind, others, organizer_is_self
                    FROM events WHERE person_id = :pid AND {_OVERLAP}""",
                {"pid": pid, "start_utc": _epoch(start), "end_utc": _epoch(end),
                 "first_date": first, "stop_date": stop}).fetchall()
        events: list[tuple[dt.datetime, str, Event]] = []
        for (calendar, uid_hash, all_day, s_utc, e_utc, s_date, e_date, status, response, show_as,
             kind, others, self_org) in rows:
            if all_day:
                s: dt.date = dt.date.fromisoformat(s_date)
                e: dt.date = dt.date.fromisoformat(e_date)
                order = dt.datetime.combine(s, dt.time(), zone)
            else:
                s, e = _from_epoch(s_utc), _from_epoch(e_utc)
                order = s  # type: ignore[assignment]
            events.append((order, uid_hash, Event(
                uid=uid_hash, start=s, end=e, all_day=bool(all_day), status=Status(status),
                response=Response(response), show_as=ShowAs(show_as), kind=Kind(kind), others=others,
                organizer_is_self=bool(self_org), calendar=calendar)))
        events.sort(key=lambda item: (item[0], item[1]))
        return [event for _, _, event in events]

    # -- audit results --------------------------------------------------------------------------
    def save_audit(self, email: str, result: AuditResult) -> None:
        first, last = result.start.isoformat(), result.end.isoformat()
        day_rows = []
        for day in result.days:
            date = str(day["date"])
            if not first <= date <= last:
                raise InputError(f"audit day {date} lies outside the audited range {first}..{last}")
            day_rows.append((date, _dumps(day)))
        finding_rows = [(self._finding_day(f, result.start, result.end), f.rule, _dumps(dict(f.fields)))
                        for f in result.findings]
        with self._tx() as tx:
            pid = self._person_id(tx, email)
            tx.execute("DELETE FROM audit_days WHERE person_id = ? AND day BETWEEN ? AND ?", (pid, first, last))
            tx.execute("DELETE FROM findings WHERE person_id = ? AND day BETWEEN ? AND ?", (pid, first, last))
            tx.executemany("INSERT INTO audit_days(person_id, day, figures) VALUES (?, ?, ?)",
                           [(pid, d, figures) for d, figures in day_rows])
            tx.executemany("INSERT INTO findings(person_id, day, rule, fields) VALUES (?, ?, ?, ?)",
                           [(pid, *row) for row in finding_rows])

    @staticmethod
    def _finding_day(finding: Finding, start: dt.date, end: dt.date) -> str:
        """The audited date a finding is filed under (a week finding: its first audited day)."""
        anchor = finding.anchor
        try:
            if "-W" in anchor:
                year, week = anchor.split("-W")
                day = dt.date.fromisocalendar(int(year), int(week), 1)
            else:
                day = dt.date.fromisoformat(anchor[:10])
        except ValueError:
            day = start
        return min(max(day, start), end).isoformat()

    def load_audit_days(self, email: str, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        with self._read() as conn:
            pid = self._person_id(conn, email)
            rows = conn.execute("SELECT figures FROM audit_days WHERE person_id = ? AND day BETWEEN ? AND ? "
                                "ORDER BY day", (pid, start.isoformat(), end.isoformat())).fetchall()
        return [json.loads(row[0]) for row in rows]

    def load_findings(self, email: str, start: dt.date, end: dt.date) -> list[Finding]:
        with self._read() as conn:
            pid = self._person_id(conn, email)
            rows = conn.execute("SELECT rule, fields FROM findings WHERE person_id = ? AND day BETWEEN ? AND ? "
                                "ORDER BY day, id", (pid, start.isoformat(), end.isoformat())).fetchall()
        return [Finding(rule=rule, fields=json.loads(fields)) for rule, fields in rows]

    # -- own blocks -----------------------------------------------------------------------------
    def upsert_own_block(self, block: OwnBlock) -> None:
        with self._tx() as tx:
            pid = self._person_id(tx, block.email)
            tx.execute(
                """INSERT INTO own_blocks(person_id, block_id, day, start_utc, end_utc, kind, title,
                                          provider_id, fingerprint, state)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(person_id, block_id) DO UPDATE SET
                       day = excluded.day, start_utc = excluded.start_utc, end_utc = excluded.end_utc,
                       kind = excluded.kind, title = excluded.title, provider_id = excluded.provider_id,
                       fingerprint = excluded.fingerprint, state = excluded.state""",
                (pid, block.block_id, block.date.isoformat(), _epoch(block.start), _epoch(block.end),
                 block.kind, block.title, block.provider_id, block.fingerprint, block.state))

    def remove_own_block(self, email: str, block_id: str) -> bool:
        with self._tx() as tx:
            pid = self._person_id(tx, email)
            return tx.execute("DELETE FROM own_blocks WHERE person_id = ? AND block_id = ?",
                              (pid, block_id)).rowcount > 0

    def own_blocks(self, email: str, start: dt.date | None = None,
                   end: dt.date | None = None) -> list[OwnBlock]:
        with self._read() as conn:
            pid = self._person_id(conn, email)
            person_email = conn.execute("SELECT email FROM people WHERE id = ?", (pid,)).fetchone()[0]
            rows = conn.execute(
                """SELECT block_id, day, start_utc, end_utc, kind, provider_id, fingerprint, state, title
                   FROM own_blocks WHERE person_id = ? AND day >= ? AND day <= ? ORDER BY day, start_utc, block_id""",
                (pid, start.isoformat() if start else "0000-00-00",
                 end.isoformat() if end else "9999-99-99")).fetchall()
        return [OwnBlock(email=person_email, block_id=block_id, date=dt.date.fromisoformat(day),
                         start=_from_epoch(s), end=_from_epoch(e), kind=kind, provider_id=provider_id,
                         fingerprint=fingerprint, state=state, title=title)
                for block_id, day, s, e, kind, provider_id, fingerprint, state, title in rows]

    def add_tombstone(self, email: str, block_id: str, date: dt.date) -> None:
        with self._tx() as tx:
            pid = self._person_id(tx, email)
            tx.execute("INSERT OR IGNORE INTO tombstones(person_id, block_id, day) VALUES (?, ?, ?)",
                       (pid, block_id, date.isoformat()))

    def tombstones(self, email: str) -> set[tuple[str, dt.date]]:
        with self._read() as conn:
            pid = self._person_id(conn, email)
            rows = conn.execute("SELECT block_id, day FROM tombstones WHERE person_id = ?", (pid,)).fetchall()
        return {(block_id, dt.date.fromisoformat(day)) for block_id, day in rows}

    # -- outbox ---------------------------------------------------------------------------------
    def enqueue(self, msg: OutboxMessage) -> bool:
        with self._tx() as tx:
            row = tx.execute("SELECT id FROM people WHERE email_key = ?", (_email_key(msg.recipient),)).fetchone()
            cursor = tx.execute(
                """INSERT OR IGNORE INTO outbox(key, person_id, recipient, message, created, attempts,
                                               next_attempt, sent_at, last_error)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (msg.key, row[0] if row else None, msg.recipient, bytes(msg.message), _ts(msg.created),
                 msg.attempts, _ts(msg.next_attempt or msg.created), _ts(msg.sent_at), msg.last_error))
            return cursor.rowcount == 1

    def pending(self, now: dt.datetime) -> list[OutboxMessage]:
        with self._read() as conn:
            rows = conn.execute(
                """SELECT key, recipient, message, created, attempts, next_attempt, sent_at, last_error
                   FROM outbox WHERE sent_at IS NULL AND next_attempt IS NOT NULL AND next_attempt <= ?
                   ORDER BY created, key""", (_ts(now),)).fetchall()
        return [OutboxMessage(key=key, recipient=recipient, message=bytes(message), created=_from_ts(created),  # type: ignore[arg-type]
                              attempts=attempts, next_attempt=_from_ts(next_at), sent_at=_from_ts(sent),
                              last_error=error)
                for key, recipient, message, created, attempts, next_at, sent, error in rows]

    def mark_sent(self, key: str, at: dt.datetime) -> None:
        with self._tx() as tx:
            cursor = tx.execute("UPDATE outbox SET sent_at = ?, attempts = attempts + 1, last_error = NULL "
                                "WHERE key = ?", (_ts(at), key))
            if cursor.rowcount != 1:
                raise StoreError(f"no outbox message with key {key!r}")

    def mark_failed(self, key: str, error: str, next_attempt: dt.datetime | None) -> None:
        with self._tx() as tx:
            cursor = tx.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt = ? "
                                "WHERE key = ? AND sent_at IS NULL", (error, _ts(next_attempt), key))
            if cursor.rowcount != 1:
                raise StoreError(f"no unsent outbox message with key {key!r}")

    # -- erasure, runs, maintenance -------------------------------------------------------------
    def erase_person(self, email: str, reason: str) -> str:
        with self._tx() as tx:
            pid = self._person_id(tx, email)
            pseudonym = tx.execute("SELECT pseudonym FROM people WHERE id = ?", (pid,)).fetchone()[0]
            # Cascades reach every table keyed by person_id; the outbox may also hold mail to the
            # address queued before enrolment.
            tx.execute("DELETE FROM outbox WHERE person_id = ? OR lower(trim(recipient)) = ?",
                       (pid, _email_key(email)))
            tx.execute("DELETE FROM people WHERE id = ?", (pid,))
            tx.execute("INSERT INTO erasure_log(pseudonym, erased_at, reason) VALUES (?, ?, ?)",
                       (pseudonym, _ts(dt.datetime.now(_UTC)), reason))
        self._checkpoint()
        log.info("erased person %s (%s)", pseudonym, reason)
        return pseudonym

    def _checkpoint(self) -> None:
        """Copy the WAL into the database and truncate it (best effort: readers may hold it)."""
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._db().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

    def erasure_log(self) -> list[ErasureRecord]:
        with self._read() as conn:
            rows = conn.execute("SELECT pseudonym, erased_at, reason FROM erasure_log ORDER BY id").fetchall()
        return [ErasureRecord(pseudonym=p, erased_at=_from_ts(at), reason=r) for p, at, r in rows]  # type: ignore[arg-type]

    def record_run(self, email: str, kind: str, ok: bool, error: str | None, at: dt.datetime) -> None:
        with self._tx() as tx:
            pid = self._person_id(tx, email)
            tx.execute(
                """INSERT INTO runs(person_id, kind, at, ok, error, last_ok_at) VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT(person_id, kind) DO UPDATE SET
                       at = excluded.at, ok = excluded.ok, error = excluded.error,
                       last_ok_at = coalesce(excluded.last_ok_at, runs.last_ok_at)""",
                (pid, kind, _ts(at), int(ok), error, _ts(at) if ok else None))

    def last_runs(self, email: str) -> list[RunRecord]:
        with self._read() as conn:
            pid = self._person_id(conn, email)
            rows = conn.execute("SELECT kind, at, ok, error, last_ok_at FROM runs WHERE person_id = ? "
                                "ORDER BY kind", (pid,)).fetchall()
        return [RunRecord(kind=kind, at=_from_ts(at), ok=bool(ok), error=error, last_ok_at=_from_ts(last_ok))  # type: ignore[arg-type]
                for kind, at, ok, error, last_ok in rows]

    def get_meta(self, name: str) -> bytes | None:
        _check_meta_name(name)
        with self._read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (name,)).fetchone()
        return None if row is None else bytes(row[0])

    def set_meta(self, name: str, value: bytes, *, overwrite: bool = True) -> bool:
        _check_meta_name(name)
        verb = "INSERT OR REPLACE" if overwrite else "INSERT OR IGNORE"
        with self._tx() as tx:
            return tx.execute(f"{verb} INTO meta(key, value) VALUES (?, ?)", (name, bytes(value))).rowcount == 1

    def integrity_check(self) -> str:
        with self._read() as conn:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
            problems = conn.execute("PRAGMA foreign_key_check").fetchall()
        text = "\n".join(str(row[0]) for row in rows)
        if problems:
            extra = "\n".join(f"foreign key problem in {table} row {rowid}" for table, rowid, *_ in problems)
            text = extra if text == "ok" else f"{text}\n{extra}"
        return text

    def exclusive(self, name: str, wait: float | None = 0) -> contextlib.AbstractContextManager[None]:
        return file_lock(self.state_dir, name, wait)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("PRAGMA optimize")
                self._conn.close()
                self._conn = None


# -- helpers --------------------------------------------------------------------------------

def _person(row: Sequence[Any]) -> PersonRecord:
    email, connector, calendar, timezone, language, team, protect, digest, enrolled_at, pseudonym = row
    return PersonRecord(email=email, connector=connector, calendar=calendar, timezone=timezone,
                        language=language, team=team, protect=bool(protect), digest=bool(digest),
                        enrolled_at=_from_ts(enrolled_at), pseudonym=pseudonym)


def _check_meta_name(name: str) -> None:
    if not name or name.startswith("store."):
        raise ValueError(f"meta name {name!r} is reserved for the store")


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


def _wrap(exc: sqlite3.Error, path: Path) -> StoreError:
    text = str(exc)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return StoreError(f"{path} is busy: another process kept it locked too long",
                          hint="another balanced-calendar command is probably running; wait for it or stop it")
    if "full" in lowered:
        return StoreError(f"{path}: the disk is full", hint="free some space; nothing was half-written")
    if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        return StoreError(f"{path} is damaged or not a balanced-calendar database ({text})",
                          hint="restore it from a backup, or move it away to start afresh")
    if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
        return StoreError(f"cannot write {path} ({text})",
                          hint="check that the service user owns the state directory and its files")
    return StoreError(f"{path}: database error: {text}")


def open_store(state_dir: Path, *, busy_timeout: float = 30.0) -> Store:
    """Open the installation's store under ``state_dir`` (created 0700 if missing).

    Raises :class:`~balanced_calendar.store.base.StoreError` when the directory or database
    cannot be used or was written by a newer version.
    """
    return SQLiteStore(Path(state_dir), busy_timeout=busy_timeout)
