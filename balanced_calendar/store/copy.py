"""``balanced-calendar store migrate``: copy a SQLite store into an empty PostgreSQL one.

Everything is copied in one pass and one target transaction: every table of
:data:`~balanced_calendar.store.postgres.schema.TABLES`, row ids and the hashing secret
included (so every pseudonym and hashed uid stays the same). Before the commit, each
table's row count and a SHA-256 over its rows (sorted, in a canonical text form) are
computed on both sides; any difference rolls the whole copy back. The printed table is the
proof: counts and checksums per table, source and target.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from balanced_calendar.store.errors import StoreError
from balanced_calendar.store.postgres import TABLES, PostgresStore
from balanced_calendar.store.postgres.core import Tx
from balanced_calendar.store.sqlite import DB_NAME, SQLiteStore

log = logging.getLogger(__name__)

#: tables whose ``id`` is an identity column: the sequence continues after the copied ids
_IDENTITY = ("people", "consents", "findings", "erasure_log")


@dataclass(frozen=True)
class TableCopy:
    table: str
    source_rows: int
    target_rows: int
    source_sha256: str
    target_sha256: str

    @property
    def ok(self) -> bool:
        return (self.source_rows, self.source_sha256) == (self.target_rows, self.target_sha256)


def _canonical(value: Any) -> str:
    if value is None:
        return "N"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "b" + bytes(value).hex()
    if isinstance(value, bool):
        return f"i{int(value)}"
    if isinstance(value, int):
        return f"i{value}"
    return "t" + str(value).replace("\\", "\\\\").replace("\x1f", "\\x1f")


def checksum(rows: Iterable[Sequence[Any]]) -> tuple[int, str]:
    """``(count, sha256)`` of rows, independent of their order and of the backend's types."""
    lines = sorted("\x1f".join(_canonical(v) for v in row) for row in rows)
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8", "surrogatepass") + b"\n")
    return len(lines), digest.hexdigest()


def _sqlite_dir(url: str) -> Path:
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or not parts.path:
        raise StoreError(f"--from must be sqlite:///<state directory>, not {parts.scheme or url!r}")
    path = Path(parts.path)
    if path.name == DB_NAME:
        path = path.parent
    if not (path / DB_NAME).is_file():
        raise StoreError(f"no SQLite store at {path / DB_NAME}")
    return path


def _check_empty(tx: Tx) -> None:
    for table, _ in TABLES:
        extra = " WHERE key <> 'store.secret'" if table == "meta" else ""
        if tx.execute(f"SELECT EXISTS (SELECT 1 FROM {table}{extra})").fetchone()[0]:
            raise StoreError(f"the target store is not empty (table {table} has rows)",
                             hint="migrate into a new, empty database; nothing was changed")


def migrate(source_url: str, target_url: str, *, password: str | None = None) -> list[TableCopy]:
    """Copy the SQLite store at ``source_url`` into the empty PostgreSQL store at ``target_url``.

    Returns one :class:`TableCopy` per table. Raises :class:`StoreError` (and commits
    nothing) when the target is not empty or any count or checksum differs.
    """
    state_dir = _sqlite_dir(source_url)
    SQLiteStore(state_dir).close()  # bring the source to the current schema first
    source = sqlite3.connect(f"file:{state_dir / DB_NAME}?mode=ro", uri=True)
    target = PostgresStore(target_url, password=password, max_size=1)
    copies: list[TableCopy] = []
    try:
        source.execute("BEGIN")  # one snapshot of the source
        with target._tx() as tx:
            tx.execute("LOCK TABLE meta IN EXCLUSIVE MODE")
            _check_empty(tx)
            tx.execute("DELETE FROM meta")  # the target's fresh secret gives way to the source's
            for table, columns in TABLES:
                names = ", ".join(columns)
                rows = source.execute(f"SELECT {names} FROM {table}").fetchall()
                with tx.conn.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                count, digest = checksum(rows)
                copied = tx.execute(f"SELECT {names} FROM {table}").fetchall()
                target_count, target_digest = checksum(copied)
                copies.append(TableCopy(table, count, target_count, digest, target_digest))
                log.info("copied %s: %d rows", table, target_count)
            for table in _IDENTITY:
                tx.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)")
            bad = [c.table for c in copies if not c.ok]
            if bad:
                raise StoreError("the copy differs from the source in " + ", ".join(bad) + "; nothing was committed")
    finally:
        with contextlib.suppress(sqlite3.Error):
            source.close()
        target.close()
    return copies


def report(copies: Sequence[TableCopy]) -> str:
    """The printed proof: rows and SHA-256 (first 16 hex) per table, source and target."""
    lines = [f"{'table':<12} {'rows':>9} {'sha256 (source)':<17} {'sha256 (target)':<17} check"]
    for c in copies:
        lines.append(f"{c.table:<12} {c.target_rows:>9} {c.source_sha256[:16]:<17} {c.target_sha256[:16]:<17} "
                     f"{'ok' if c.ok else 'DIFFERENT'}")
    total = sum(c.target_rows for c in copies)
    lines.append(f"{len(copies)} tables, {total} rows copied in one transaction; "
                 + ("every count and checksum matches" if all(c.ok for c in copies) else "MISMATCH"))
    return "\n".join(lines)
