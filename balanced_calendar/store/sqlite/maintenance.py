"""SQLite part of :class:`~balanced_calendar.store.maintenance.MaintenanceStore`.

Erasure: ``secure_delete=ON`` zeroes deleted content, and after an erasure the WAL is
checkpointed and truncated, so an erased person's bytes do not linger in the files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import sqlite3

from balanced_calendar.store.locking import file_lock
from balanced_calendar.store.maintenance import ErasureRecord, RunRecord
from balanced_calendar.store.sqlite.core import UTC, SQLiteCore, email_key, from_ts, ts

log = logging.getLogger(__name__)


def _check_meta_name(name: str) -> None:
    if not name or name.startswith("store."):
        raise ValueError(f"meta name {name!r} is reserved for the store")


class SQLiteMaintenance(SQLiteCore):
    """Erasure, ``runs``, ``meta``, integrity, the installation lock and closing."""

    def erase_person(self, email: str, reason: str) -> str:
        with self._tx() as tx:
            pid = self._person_id(tx, email)
            pseudonym = tx.execute("SELECT pseudonym FROM people WHERE id = ?", (pid,)).fetchone()[0]
            # Cascades reach every table keyed by person_id; the outbox may also hold mail to the
            # address queued before enrolment, and jobs know the person only by pseudonym.
            tx.execute("DELETE FROM outbox WHERE person_id = ? OR lower(trim(recipient)) = ?",
                       (pid, email_key(email)))
            tx.execute("DELETE FROM jobs WHERE subject = ? OR instr(key, ?) > 0", (pseudonym, pseudonym))
            tx.execute("DELETE FROM people WHERE id = ?", (pid,))
            tx.execute("INSERT INTO erasure_log(pseudonym, erased_at, reason) VALUES (?, ?, ?)",
                       (pseudonym, ts(dt.datetime.now(UTC)), reason))
        self._checkpoint()
        log.info("erased person %s (%s)", pseudonym, reason)
        return str(pseudonym)

    def _checkpoint(self) -> None:
        """Copy the WAL into the database and truncate it (best effort: readers may hold it)."""
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._db().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

    def erasure_log(self) -> list[ErasureRecord]:
        with self._read() as conn:
            rows = conn.execute("SELECT pseudonym, erased_at, reason FROM erasure_log ORDER BY id").fetchall()
        return [ErasureRecord(pseudonym=p, erased_at=from_ts(at), reason=r) for p, at, r in rows]  # type: ignore[arg-type]

    def record_run(self, email: str, kind: str, ok: bool, error: str | None, at: dt.datetime) -> None:
        with self._tx() as tx:
            pid = self._person_id(tx, email)
            tx.execute(
                """INSERT INTO runs(person_id, kind, at, ok, error, last_ok_at) VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT(person_id, kind) DO UPDATE SET
                       at = excluded.at, ok = excluded.ok, error = excluded.error,
                       last_ok_at = coalesce(excluded.last_ok_at, runs.last_ok_at)""",
                (pid, kind, ts(at), int(ok), error, ts(at) if ok else None))

    def last_runs(self, email: str) -> list[RunRecord]:
        with self._read() as conn:
            pid = self._person_id(conn, email)
            rows = conn.execute("SELECT kind, at, ok, error, last_ok_at FROM runs WHERE person_id = ? "
                                "ORDER BY kind", (pid,)).fetchall()
        return [RunRecord(kind=kind, at=from_ts(at), ok=bool(ok), error=error, last_ok_at=from_ts(last_ok))  # type: ignore[arg-type]
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

    def data_version(self) -> int:
        """This connection's ``total_changes`` plus SQLite's ``data_version`` (other connections' commits)."""
        with self._lock:
            conn = self._db()
            try:
                other = int(conn.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error:
                other = 0
            return conn.total_changes + other

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
