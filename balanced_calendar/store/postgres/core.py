"""The connection pool every PostgreSQL concern part shares: transactions, migration, hashing.

Decisions (written down because callers rely on them):

- **A pool per store** (``psycopg_pool.ConnectionPool``): each method borrows a connection
  for one transaction, so threads of one process work in parallel. A borrowed connection is
  checked first (``check_connection``): after a server restart the dead ones are replaced,
  so a running daemon reconnects on its next job without being restarted. While the server
  is down a call waits up to ``timeout`` seconds, then raises :class:`StoreError`.
- **Transactions**: writes run in ``READ COMMITTED`` with row locks and ``ON CONFLICT``
  (the job queue claims with ``FOR UPDATE SKIP LOCKED``); reads that span several
  statements run in one ``REPEATABLE READ READ ONLY`` snapshot.
- **Schema**: the single row of ``schema_version`` counts the migrations applied (the
  SQLite store's ``user_version``); each runs in its own transaction with the bump, under a
  transaction-scoped advisory lock, so instances starting together migrate once. A database
  newer than this code is refused with a :class:`StoreError`.
- **Minimisation**: exactly as the SQLite store — provider uids and addresses are hashed
  (HMAC-SHA256) under a random 32-byte secret created on first open and kept in ``meta``
  (``store.secret``), so a database copied by ``store migrate`` keeps every pseudonym.
- **Secrets**: the password is passed apart from the URL (``password=``) and never logged;
  error messages name the server by host, port and database only.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import secrets
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import sql as _sql  # noqa: F401  (re-exported for parts that compose SQL)
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from balanced_calendar.store.errors import NotEnrolled, StoreError, StoreUnavailable
from balanced_calendar.store.postgres.schema import MIGRATIONS
from balanced_calendar.store.sqlite.core import email_key, zone

log = logging.getLogger(__name__)

_SECRET_KEY = "store.secret"
#: advisory lock id (first half) of everything this program locks in a database
_LOCK_CLASS = 0x6263  # "bc"
_MIGRATION_LOCK = 1


def describe(url: str) -> str:
    """``host:port/dbname`` of a connection URL, without user or password (for messages)."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the PostgreSQL server (unparsable store URL)"
    host = info.get("host") or "localhost"
    return f"{host}:{info.get('port') or 5432}/{info.get('dbname') or '?'}"


class Tx:
    """A borrowed connection inside one transaction; counts the rows it wrote."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.written = 0

    def execute(self, query: str, params: Sequence[Any] | dict[str, Any] | None = None) -> psycopg.Cursor[Any]:
        cursor = self.conn.execute(query, params)  # type: ignore[arg-type]
        if cursor.rowcount > 0 and not query.lstrip().upper().startswith("SELECT"):
            self.written += cursor.rowcount
        return cursor

    def executemany(self, query: str, rows: Iterable[Sequence[Any]]) -> int:
        with self.conn.cursor() as cursor:
            cursor.executemany(query, rows)  # type: ignore[arg-type]
            count = max(cursor.rowcount, 0)
        self.written += count
        return count


class PostgresCore:
    """One connection pool with the plumbing every concern part uses. Not a store by itself."""

    #: several processes on several hosts may share this store (``service.py`` then keeps
    #: one schedule for all of them, and sync relies on job leases instead of a host lock)
    shared = True

    def __init__(self, url: str, *, password: str | None = None, min_size: int = 1, max_size: int = 8,
                 timeout: float = 30.0, migrations: Sequence[Sequence[str]] = MIGRATIONS,
                 secret: bytes | None = None, verify: Any = None) -> None:
        """Connect to ``url`` (``postgresql://user@host:port/dbname``), creating and migrating
        the schema as needed.

        ``secret`` is the pseudonym key (derived from the vault key by the runtime, as for
        SQLite): given, it is used and never written to the database; ``verify(store)`` runs
        first and may refuse (a wrong vault key). Without it (tests, ``store migrate``) a random
        key is kept in ``meta``.

        Raises :class:`StoreError` when the server cannot be reached within ``timeout``
        seconds, refuses the login, or holds a schema newer than ``migrations``.
        """
        self.url = url
        self.where = describe(url)
        self._timeout = timeout
        self._connect_kwargs: dict[str, Any] = {"connect_timeout": max(1, int(min(timeout, 10))),
                                                "application_name": "balanced-calendar"}
        if password is not None:
            self._connect_kwargs["password"] = password
        self._lock = threading.Lock()
        self._changes = 0
        self._pool: ConnectionPool | None = ConnectionPool(
            url, kwargs=self._connect_kwargs, min_size=min_size, max_size=max_size, timeout=timeout,
            check=ConnectionPool.check_connection, open=False, name="balanced-calendar",
            reconnect_timeout=max(timeout, 60.0))
        try:
            self._pool.open(wait=True, timeout=timeout)
        except PoolTimeout:
            self._pool.close(timeout=0)
            self._pool = None
            raise self._unreachable() from None
        try:
            self._migrate(migrations)
            if verify is not None:
                verify(self)
            self._secret = secret if secret is not None else self._ensure_secret()
        except BaseException:
            self.close()
            raise

    def _unreachable(self, detail: str = "") -> StoreError:
        """The error for a server that cannot be reached or refuses the login (no password shown)."""
        try:
            with psycopg.connect(self.url, **self._connect_kwargs):
                pass
        except psycopg.Error as exc:
            detail = detail or str(exc).strip().splitlines()[-1]
        return StoreUnavailable(f"cannot connect to the store at {self.where}" + (f": {detail}" if detail else ""),
                          hint="check [service] store, the password (store_password_file or the systemd "
                               "credential 'store-password') and that PostgreSQL is running")

    # -- transactions ---------------------------------------------------------------------------
    def _borrow(self) -> contextlib.AbstractContextManager[psycopg.Connection[Any]]:
        if self._pool is None:
            raise StoreError("the store is closed")
        return self._pool.connection()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Tx]:
        """One write transaction (``READ COMMITTED``): all of it is committed or none."""
        try:
            with self._borrow() as conn, conn.transaction():
                tx = Tx(conn)
                yield tx
        except PoolTimeout:
            raise self._unreachable("no connection within the timeout") from None
        except psycopg.Error as exc:
            raise self._wrap(exc) from None
        with self._lock:
            self._changes += tx.written

    @contextlib.contextmanager
    def _read(self) -> Iterator[Tx]:
        """A consistent read (one ``REPEATABLE READ`` snapshot)."""
        try:
            with self._borrow() as conn, conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                yield Tx(conn)
        except PoolTimeout:
            raise self._unreachable("no connection within the timeout") from None
        except psycopg.Error as exc:
            raise self._wrap(exc) from None

    def _wrap(self, exc: psycopg.Error) -> StoreError:
        """The :class:`StoreError` an operator should see for a database failure."""
        if isinstance(exc, psycopg.OperationalError):
            return StoreUnavailable(f"the store at {self.where} is unreachable or restarting "
                              f"({type(exc).__name__})", hint="the next job retries; check PostgreSQL")
        if isinstance(exc, psycopg.errors.DiskFull):
            return StoreError(f"the store at {self.where}: the disk is full",
                              hint="free some space; nothing was half-written")
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return StoreError(f"{self.where}: database error: {first}")

    def _migrate(self, migrations: Sequence[Sequence[str]]) -> None:
        known = len(migrations)
        while True:
            with self._tx() as tx:
                tx.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_CLASS, _MIGRATION_LOCK))
                tx.execute("CREATE TABLE IF NOT EXISTS schema_version ("
                           "id SMALLINT PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)")
                tx.execute("INSERT INTO schema_version(id, version) VALUES (1, 0) ON CONFLICT DO NOTHING")
                version = int(tx.execute("SELECT version FROM schema_version WHERE id = 1").fetchone()[0])
                if version > known:
                    raise StoreError(
                        f"the store at {self.where} was written by a newer balanced-calendar (schema "
                        f"{version}; this version knows schema {known})",
                        hint="upgrade balanced-calendar on every instance before starting this one")
                if version == known:
                    return
                for statement in migrations[version]:
                    tx.execute(statement)
                tx.execute("UPDATE schema_version SET version = %s WHERE id = 1", (version + 1,))
            log.info("store database migrated to schema %d", version + 1)

    def schema_version(self) -> int:
        """How many migrations the database has applied."""
        with self._read() as conn:
            return int(conn.execute("SELECT version FROM schema_version WHERE id = 1").fetchone()[0])

    # -- hashing and people lookups every concern needs ------------------------------------------
    def _ensure_secret(self) -> bytes:
        with self._tx() as tx:
            tx.execute("INSERT INTO meta(key, value) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
                       (_SECRET_KEY, secrets.token_bytes(32)))
            return bytes(tx.execute("SELECT value FROM meta WHERE key = %s", (_SECRET_KEY,)).fetchone()[0])

    def _hmac(self, text: str) -> str:
        return hmac.new(self._secret, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def _uid_hash(self, uid: str) -> str:
        return self._hmac(uid)

    def pseudonym(self, email: str) -> str:
        """The stable pseudonymous id of an address (enrolled or not): ``"p-"`` + 12 hex."""
        return "p-" + self._hmac(email_key(email))[:12]

    def _person_id(self, conn: Tx, email: str) -> int:
        """The row id of an enrolled address. Raises :class:`NotEnrolled`."""
        row = conn.execute("SELECT id FROM people WHERE email_key = %s", (email_key(email),)).fetchone()
        if row is None:
            raise NotEnrolled(email)
        return int(row[0])

    def _person_email(self, conn: Tx, person_id: int) -> str:
        return str(conn.execute("SELECT email FROM people WHERE id = %s", (person_id,)).fetchone()[0])

    def _person_zone(self, conn: Tx, person_id: int) -> Any:
        row = conn.execute("SELECT timezone FROM people WHERE id = %s", (person_id,)).fetchone()
        return zone(row[0])

    def close(self) -> None:
        """Close the pool. Further calls raise :class:`StoreError`. Idempotent."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close(timeout=5)
