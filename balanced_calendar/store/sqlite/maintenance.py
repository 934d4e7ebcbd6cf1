"""SQLite part of :class:`~balanced_calendar.store.maintenance.MaintenanceStore`.

Erasure: ``secure_delete=ON`` zeroes deleted content, and after an erasure the WAL is
checkpointed and truncated, so an erased person's bytes do not linger in the files. Both
are verified (the checkpoint must complete, and the file bytes are searched for the address
and the pseudonym); otherwise the erasure is reported as not complete, never as done.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from balanced_calendar.store.errors import NotEnrolled, StoreError
from balanced_calendar.store.locking import file_lock
from balanced_calendar.store.maintenance import ErasureRecord, RunRecord
from balanced_calendar.store.sqlite.core import UTC, SQLiteCore, email_key, from_ts, ts, wrap

log = logging.getLogger(__name__)


def _count_in_files(paths: list[Path], needles: set[bytes]) -> dict[bytes, int]:
    """How often each needle occurs (case-insensitively) in the bytes of ``paths`` (missing: none)."""
    lowered = {n: n.lower() for n in needles}
    overlap = max(len(n) for n in needles) - 1
    counts = dict.fromkeys(needles, 0)
    for path in paths:
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            continue
        with handle:
            tail = b""
            while chunk := handle.read(1 << 20):
                block = (tail + chunk).lower()
                start = len(tail)  # count only matches that end in the new chunk
                for needle, low in lowered.items():
                    counts[needle] += sum(1 for i in _finds(block, low) if i + len(low) > start)
                tail = block[-overlap:] if overlap else b""
    return counts


def _finds(haystack: bytes, needle: bytes) -> Iterator[int]:
    index = haystack.find(needle)
    while index >= 0:
        yield index
        index = haystack.find(needle, index + 1)


def _check_meta_name(name: str) -> None:
    if not name or name.startswith("store."):
        raise ValueError(f"meta name {name!r} is reserved for the store")


class SQLiteMaintenance(SQLiteCore):
    """Erasure, ``runs``, ``meta``, integrity, the installation lock and closing."""

    def erase_person(self, email: str, reason: str, at: dt.datetime | None = None) -> str:
        key = email_key(email)
        try:
            pseudonym = self._erase(key, email, reason, at)
        except StoreError as exc:  # NotEnrolled is no StoreError: it passes through
            raise StoreError(f"nothing of {self.pseudonym(key)} was erased: {exc.message}", hint=exc.hint) from None
        self._verify_erased(email, pseudonym)
        return pseudonym

    def _erase(self, key: str, email: str, reason: str, at: dt.datetime | None) -> str:
        """The deleting transaction of :meth:`erase_person`; returns the pseudonym."""
        with self._tx() as tx:
            row = tx.execute("SELECT id, pseudonym FROM people WHERE email_key = ?", (key,)).fetchone()
            if row is None:
                # Not enrolled: finishing an erasure whose cleanup failed (a full disk) is allowed.
                pseudonym = self.pseudonym(key)
                if tx.execute("SELECT 1 FROM erasure_log WHERE pseudonym = ?", (pseudonym,)).fetchone() is None:
                    raise NotEnrolled(email)
                finishing = True
            else:
                pid, pseudonym = row
                finishing = False
                # Cascades reach every table keyed by person_id; the outbox may also hold mail to the
                # address queued before enrolment, and jobs know the person only by pseudonym.
                tx.execute("DELETE FROM outbox WHERE person_id = ? OR lower(trim(recipient)) = ?", (pid, key))
                tx.execute("DELETE FROM jobs WHERE subject = ? OR instr(key, ?) > 0", (pseudonym, pseudonym))
                tx.execute("DELETE FROM people WHERE id = ?", (pid,))
                tx.execute("INSERT INTO erasure_log(pseudonym, erased_at, reason) VALUES (?, ?, ?)",
                           (pseudonym, ts(at or dt.datetime.now(UTC)), reason))
        log.info("%s person %s (%s)", "finishing the erasure of" if finishing else "erased", pseudonym, reason)
        return str(pseudonym)

    def _verify_erased(self, email: str, pseudonym: str) -> None:
        """Make an erasure durable and prove it, or raise :class:`StoreError`.

        The WAL is checkpointed into the database and truncated (it must complete: no reader
        may hold it back), then the bytes of the database and WAL files are searched: the
        address must be absent and the pseudonym may appear only in the erasure log.
        """
        with self._lock:
            conn = self._db()
            try:
                conn.execute("PRAGMA secure_delete = ON")
                busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                kept = conn.execute("SELECT count(*) FROM erasure_log WHERE pseudonym = ?",
                                    (pseudonym,)).fetchone()[0]
            except sqlite3.Error as exc:
                raise self._erasure_failed(pseudonym, wrap(exc, self.path)) from None
        if busy:
            raise self._erasure_failed(pseudonym, StoreError(
                "another process kept the write-ahead log in use",
                hint="stop other balanced-calendar commands, then run unenroll again"))
        needles = {email.strip().encode("utf-8"), email_key(email).encode("utf-8")}
        try:
            found = _count_in_files([self.path, self.path.with_name(self.path.name + "-wal")],
                                    needles | {pseudonym.encode("ascii")})
        except OSError as exc:
            raise self._erasure_failed(pseudonym, StoreError(f"cannot read {self.path}: {exc.strerror}")) from None
        if any(found[n] for n in needles) or found[pseudonym.encode("ascii")] > kept:
            raise self._erasure_failed(pseudonym, StoreError("data of the person is still in the database files"))

    @staticmethod
    def _erasure_failed(pseudonym: str, cause: StoreError) -> StoreError:
        return StoreError(f"the erasure of {pseudonym} is NOT complete: {cause.message}",
                          hint="then run the same unenroll again: it finishes the erasure")

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
