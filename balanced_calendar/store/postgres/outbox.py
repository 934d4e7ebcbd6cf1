"""PostgreSQL part of :class:`~balanced_calendar.store.queue.OutboxStore`: mail delivered exactly once.

The key is the primary key: an instance that enqueues a message another instance already
enqueued gets ``False`` (``ON CONFLICT DO NOTHING``), so a digest is never queued twice.
"""

from __future__ import annotations

import datetime as dt

from balanced_calendar.store.errors import StoreError
from balanced_calendar.store.postgres.core import PostgresCore
from balanced_calendar.store.queue import OutboxMessage
from balanced_calendar.store.sqlite.core import email_key, ts
from balanced_calendar.store.sqlite.outbox import COLUMNS, message_of


class PostgresOutbox(PostgresCore):
    """The ``outbox`` table. A message is linked to its recipient's person row when enrolled."""

    def enqueue(self, msg: OutboxMessage) -> bool:
        with self._tx() as tx:
            row = tx.execute("SELECT id FROM people WHERE email_key = %s", (email_key(msg.recipient),)).fetchone()
            cursor = tx.execute(
                """INSERT INTO outbox(key, person_id, recipient, message, created, attempts,
                                      next_attempt, sent_at, last_error)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING""",
                (msg.key, row[0] if row else None, msg.recipient, bytes(msg.message), ts(msg.created),
                 msg.attempts, ts(msg.next_attempt or msg.created), ts(msg.sent_at), msg.last_error))
            return cursor.rowcount == 1

    def pending(self, now: dt.datetime) -> list[OutboxMessage]:
        with self._read() as conn:
            rows = conn.execute(
                f"""SELECT {COLUMNS} FROM outbox
                    WHERE sent_at IS NULL AND next_attempt IS NOT NULL AND next_attempt <= %s
                    ORDER BY created, key""", (ts(now),)).fetchall()
        return [message_of(row) for row in rows]

    def outbox_message(self, key: str) -> OutboxMessage | None:
        with self._read() as conn:
            row = conn.execute(f"SELECT {COLUMNS} FROM outbox WHERE key = %s", (key,)).fetchone()
        return None if row is None else message_of(row)

    def last_outbox_message(self, prefix: str) -> OutboxMessage | None:
        with self._read() as conn:
            row = conn.execute(f"""SELECT {COLUMNS} FROM outbox WHERE left(key, %s) = %s
                                   ORDER BY created DESC, key DESC LIMIT 1""", (len(prefix), prefix)).fetchone()
        return None if row is None else message_of(row)

    def mark_sent(self, key: str, at: dt.datetime) -> None:
        with self._tx() as tx:
            cursor = tx.execute("UPDATE outbox SET sent_at = %s, attempts = attempts + 1, last_error = NULL "
                                "WHERE key = %s", (ts(at), key))
            if cursor.rowcount != 1:
                raise StoreError(f"no outbox message with key {key!r}")

    def claim_message(self, key: str, due_by: dt.datetime, until: dt.datetime) -> bool:
        with self._tx() as tx:
            return tx.execute("UPDATE outbox SET next_attempt = %s WHERE key = %s AND sent_at IS NULL "
                              "AND next_attempt IS NOT NULL AND next_attempt <= %s",
                              (ts(until), key, ts(due_by))).rowcount == 1

    def mark_failed(self, key: str, error: str, next_attempt: dt.datetime | None) -> None:
        with self._tx() as tx:
            cursor = tx.execute("UPDATE outbox SET attempts = attempts + 1, last_error = %s, next_attempt = %s "
                                "WHERE key = %s AND sent_at IS NULL", (error, ts(next_attempt), key))
            if cursor.rowcount != 1:
                raise StoreError(f"no unsent outbox message with key {key!r}")

