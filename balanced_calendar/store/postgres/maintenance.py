"""PostgreSQL part of :class:`~balanced_calendar.store.maintenance.MaintenanceStore`.

``exclusive(name)`` is a session advisory lock held on a connection of its own for the
``with`` block: installation-wide across every host sharing the database, and released by
the server when the holder dies (its connection drops), like the SQLite store's ``flock``.
Erased rows are gone for every reader at commit; their bytes stay in the table files until
``VACUUM`` (autovacuum) reuses the space — docs/scaling.md says how to force it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import time
from collections.abc import Iterator

import psycopg

from balanced_calendar.model import UserError
from balanced_calendar.store.errors import StoreError
from balanced_calendar.store.maintenance import ErasureRecord, RunRecord
from balanced_calendar.store.postgres.core import _LOCK_CLASS, PostgresCore
from balanced_calendar.store.sqlite.core import UTC, email_key, from_ts, ts
from balanced_calendar.store.sqlite.maintenance import _check_meta_name

log = logging.getLogger(__name__)

_LOCK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")


class PostgresMaintenance(PostgresCore):
    """Erasure, ``runs``, ``meta``, integrity and the installation lock."""

    def erase_person(self, email: str, reason: str) -> str:
        with self._tx() as tx:
            pid = self._person_id(tx, email)
            pseudonym = tx.execute("SELECT pseudonym FROM people WHERE id = %s", (pid,)).fetchone()[0]
            # Cascades reach every table keyed by person_id; the outbox may also hold mail to the
            # address queued before enrolment, and jobs know the person only by pseudonym.
            tx.execute("DELETE FROM outbox WHERE person_id = %s OR lower(trim(recipient)) = %s",
                       (pid, email_key(email)))
            tx.execute("DELETE FROM jobs WHERE subject = %s OR strpos(key, %s) > 0", (pseudonym, pseudonym))
            tx.execute("DELETE FROM people WHERE id = %s", (pid,))
            tx.execute("INSERT INTO erasure_log(pseudonym, erased_at, reason) VALUES (%s, %s, %s)",
                       (pseudonym, ts(dt.datetime.now(UTC)), reason))
        log.info("erased person %s (%s)", pseudonym, reason)
        return str(pseudonym)

    def erasure_log(self) -> list[ErasureRecord]:
        with self._read() as conn:
            rows = conn.execute("SELECT pseudonym, erased_at, reason FROM erasure_log ORDER BY id").fetchall()
        return [ErasureRecord(pseudonym=p, erased_at=from_ts(at), reason=r) for p, at, r in rows]  # type: ignore[arg-type]

    def record_run(self, email: str, kind: str, ok: bool, error: str | None, at: dt.datetime) -> None:
        with self._tx() as tx:
            pid = self._person_id(tx, email)
            tx.execute(
                """INSERT INTO runs AS r(person_id, kind, at, ok, error, last_ok_at)
                   VALUES (%s, %s, %s, %s, %s, %s)
                   ON CONFLICT (person_id, kind) DO UPDATE SET
                       at = excluded.at, ok = excluded.ok, error = excluded.error,
                       last_ok_at = coalesce(excluded.last_ok_at, r.last_ok_at)""",
                (pid, kind, ts(at), int(ok), error, ts(at) if ok else None))

    def last_runs(self, email: str) -> list[RunRecord]:
        with self._read() as conn:
            pid = self._person_id(conn, email)
            rows = conn.execute("SELECT kind, at, ok, error, last_ok_at FROM runs WHERE person_id = %s "
                                "ORDER BY kind", (pid,)).fetchall()
        return [RunRecord(kind=kind, at=from_ts(at), ok=bool(ok), error=error, last_ok_at=from_ts(last_ok))  # type: ignore[arg-type]
                for kind, at, ok, error, last_ok in rows]

    def get_meta(self, name: str) -> bytes | None:
        _check_meta_name(name)
        with self._read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = %s", (name,)).fetchone()
        return None if row is None else bytes(row[0])

    def set_meta(self, name: str, value: bytes, *, overwrite: bool = True) -> bool:
        _check_meta_name(name)
        conflict = "DO UPDATE SET value = excluded.value" if overwrite else "DO NOTHING"
        with self._tx() as tx:
            return tx.execute(f"INSERT INTO meta(key, value) VALUES (%s, %s) ON CONFLICT (key) {conflict}",
                              (name, bytes(value))).rowcount == 1

    def data_version(self) -> int:
        """The number of rows this store instance has written (other instances' writes are not counted)."""
        if self._pool is None:
            raise StoreError("the store is closed")
        with self._lock:
            return self._changes

    def integrity_check(self) -> str:
        """``"ok"`` when the schema is current and every table can be read (PostgreSQL enforces the
        foreign keys and checks itself)."""
        from balanced_calendar.store.postgres.schema import SCHEMA_VERSION, TABLES

        problems = []
        with self._read() as conn:
            version = int(conn.execute("SELECT version FROM schema_version WHERE id = 1").fetchone()[0])
            if version != SCHEMA_VERSION:
                problems.append(f"schema {version}, expected {SCHEMA_VERSION}")
            for table, _ in TABLES:
                conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        return "\n".join(problems) or "ok"

    @contextlib.contextmanager
    def exclusive(self, name: str, wait: float | None = 0) -> Iterator[None]:
        if not _LOCK_NAME.match(name):
            raise ValueError(f"invalid lock name {name!r}")
        if self._pool is None:
            raise StoreError("the store is closed")
        try:
            conn = psycopg.connect(self.url, autocommit=True, **self._connect_kwargs)
        except psycopg.Error:
            raise self._unreachable() from None
        with conn:
            deadline = None if wait is None else time.monotonic() + max(wait, 0)
            key = ("SELECT pg_try_advisory_lock(%s, hashtext(%s))", (_LOCK_CLASS, f"lock:{name}"))
            while not conn.execute(*key).fetchone()[0]:  # type: ignore[index]
                if deadline is not None and time.monotonic() >= deadline:
                    raise UserError(f"another {name} is running (on an instance sharing {self.where}); "
                                    "wait for it to finish or stop it")
                time.sleep(0.05 if deadline is None else min(0.05, max(deadline - time.monotonic(), 0)))
            log.debug("lock %s acquired", name)
            try:
                yield
            finally:
                with contextlib.suppress(psycopg.Error):
                    conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (_LOCK_CLASS, f"lock:{name}"))
                log.debug("lock %s released", name)
