"""SQLite part of :class:`~balanced_calendar.store.queue.OutboxStore`: mail delivered exactly once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from balanced_calendar.store.errors import StoreError
from balanced_calendar.store.queue import OutboxMessage
from balanced_calendar.store.sqlite.core import SQLiteCore, email_key, from_ts, ts


#: the outbox columns every backend selects, in the order :func:`message_of` reads them
COLUMNS = "key, recipient, message, created, attempts, next_attempt, sent_at, last_error"


def message_of(row: Sequence[Any]) -> OutboxMessage:
    """An outbox row (:data:`COLUMNS`) as a message (shared by the SQLite and PostgreSQL stores)."""
    key, recipient, message, created, attempts, next_at, sent, error = row
    return OutboxMessage(key=key, recipient=recipient, message=bytes(message), created=from_ts(created),  # type: ignore[arg-type]
                         attempts=attempts, next_attempt=from_ts(next_at), sent_at=from_ts(sent),
                         last_error=error)


class SQLiteOutbox(SQLiteCore):
    """The ``outbox`` table. A message is linked to its recipient's person row when enrolled."""

    def enqueue(self, msg: OutboxMessage) -> bool:
        with self._tx() as tx:
            row = tx.execute("SELECT id FROM people WHERE email_key = ?", (email_key(msg.recipient),)).fetchone()
            cursor = tx.execute(
                """INSERT OR IGNORE INTO outbox(key, person_id, recipient, message, created, attempts,
                                               next_attempt, sent_at, last_error)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (msg.key, row[0] if row else None, msg.recipient, bytes(msg.message), ts(msg.created),
                 msg.attempts, ts(msg.next_attempt or msg.created), ts(msg.sent_at), msg.last_error))
            return cursor.rowcount == 1

    def pending(self, now: dt.datetime) -> list[OutboxMessage]:
        with self._read() as conn:
            rows = conn.execute(
                f"""SELECT {COLUMNS}
                   FROM outbox WHERE sent_at IS NULL AND next_attempt IS NOT NULL AND next_attempt <= ?
                   ORDER BY created, key""", (ts(now),)).fetchall()
        return [message_of(row) for row in rows]

    def mark_sent(self, key: str, at: dt.datetime) -> None:
        with self._tx() as tx:
            cursor = tx.execute("UPDATE outbox SET sent_at = ?, attempts = attempts + 1, last_error = NULL "
                                "WHERE key = ?", (ts(at), key))
            if cursor.rowcount != 1:
                raise StoreError(f"no outbox message with key {key!r}")

    def claim_message(self, key: str, due_by: dt.datetime, until: dt.datetime) -> bool:
        with self._tx() as tx:
            return tx.execute("UPDATE outbox SET next_attempt = ? WHERE key = ? AND sent_at IS NULL "
                              "AND next_attempt IS NOT NULL AND next_attempt <= ?",
                              (ts(until), key, ts(due_by))).rowcount == 1

    def mark_failed(self, key: str, error: str, next_attempt: dt.datetime | None) -> None:
        with self._tx() as tx:
            cursor = tx.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt = ? "
                                "WHERE key = ? AND sent_at IS NULL", (error, ts(next_attempt), key))
            if cursor.rowcount != 1:
                raise StoreError(f"no unsent outbox message with key {key!r}")

    def outbox_message(self, key: str) -> OutboxMessage | None:
        with self._read() as conn:
            row = conn.execute(f"""SELECT {COLUMNS}
                                  FROM outbox WHERE key = ?""", (key,)).fetchone()
        return None if row is None else message_of(row)

    def last_outbox_message(self, prefix: str) -> OutboxMessage | None:
        with self._read() as conn:
            row = conn.execute(f"""SELECT {COLUMNS}
                                  FROM outbox WHERE substr(key, 1, ?) = ?
                                  ORDER BY created DESC, key DESC LIMIT 1""", (len(prefix), prefix)).fetchone()
        return None if row is None else message_of(row)
