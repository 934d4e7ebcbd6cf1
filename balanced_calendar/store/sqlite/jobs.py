"""SQLite part of :class:`~balanced_calendar.store.queue.JobQueue`: due-time jobs run once.

Claiming is one ``BEGIN IMMEDIATE`` transaction (select the due, unleased jobs, then lease
them), so two threads of one store, or two processes on the same file, never lease the
same job while its lease runs: SQLite admits one writer at a time and the second one
sees the first one's leases. Times are stored as sortable UTC text, so ``<=`` on them is
chronological.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from typing import Any

from balanced_calendar.model import InputError
from balanced_calendar.store.queue import Job
from balanced_calendar.store.sqlite.core import SQLiteCore, from_ts, ts

log = logging.getLogger(__name__)

_JOB_COLUMNS = "key, kind, subject, due_at, attempts, lease_owner, lease_until, done_at, last_error, ok"


def _job(row: Sequence[Any]) -> Job:
    key, kind, subject, due_at, attempts, owner, until, done_at, error, ok = row
    return Job(key=key, kind=kind, subject=subject, due_at=from_ts(due_at), attempts=attempts,  # type: ignore[arg-type]
               lease_owner=owner, lease_until=from_ts(until), done_at=from_ts(done_at), last_error=error,
               ok=None if ok is None else bool(ok))


def _require_aware(value: dt.datetime, name: str) -> None:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise InputError(f"{name} must be a timezone-aware datetime")


class SQLiteJobs(SQLiteCore):
    """The ``jobs`` table."""

    def enqueue_job(self, key: str, kind: str, subject: str | None, due_at: dt.datetime) -> bool:
        if not key or not kind:
            raise InputError("a job needs a key and a kind")
        if "@" in key or (subject is not None and "@" in subject):
            raise InputError("a job's key and subject must not hold an address; use the pseudonym")
        _require_aware(due_at, "due_at")
        with self._tx() as tx:
            added = tx.execute("INSERT OR IGNORE INTO jobs(key, kind, subject, due_at) VALUES (?, ?, ?, ?)",
                               (key, kind, subject, ts(due_at))).rowcount == 1
        if added:
            log.debug("job %s due at %s", key, due_at.isoformat())
        return added

    def claim_jobs(self, now: dt.datetime, worker: str, limit: int, lease_seconds: float) -> list[Job]:
        _require_aware(now, "now")
        if not worker or limit < 1 or not lease_seconds > 0:
            raise InputError("claiming jobs needs a worker name, a limit of at least 1 and a positive lease")
        at, until = ts(now), ts(now + dt.timedelta(seconds=lease_seconds))
        with self._tx() as tx:
            keys = [key for (key,) in tx.execute(
                """SELECT key FROM jobs
                   WHERE done_at IS NULL AND due_at <= :now AND (lease_until IS NULL OR lease_until <= :now)
                   ORDER BY due_at, key LIMIT :limit""", {"now": at, "limit": limit}).fetchall()]
            tx.executemany("UPDATE jobs SET lease_owner = ?, lease_until = ? WHERE key = ?",
                           [(worker, until, key) for key in keys])
            rows = tx.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE key IN (SELECT value FROM json_each(?)) "
                              "ORDER BY due_at, key", (json.dumps(keys),)).fetchall()
        return [_job(row) for row in rows]

    def finish_job(self, key: str, *, ok: bool, error: str | None, at: dt.datetime,
                   retry_at: dt.datetime | None = None) -> bool:
        _require_aware(at, "at")
        if retry_at is not None:
            _require_aware(retry_at, "retry_at")
        if ok or retry_at is None:
            sql = ("UPDATE jobs SET done_at = ?, ok = ?, last_error = ?, attempts = attempts + 1, "
                   "lease_owner = NULL, lease_until = NULL WHERE key = ? AND done_at IS NULL")
            args: tuple[Any, ...] = (ts(at), int(ok), error, key)
        else:
            sql = ("UPDATE jobs SET due_at = ?, last_error = ?, attempts = attempts + 1, "
                   "lease_owner = NULL, lease_until = NULL WHERE key = ? AND done_at IS NULL")
            args = (ts(retry_at), error, key)
        with self._tx() as tx:
            return tx.execute(sql, args).rowcount == 1

    def jobs(self, kind: str | None = None, subject: str | None = None) -> list[Job]:
        with self._read() as conn:
            rows = conn.execute(
                f"""SELECT {_JOB_COLUMNS} FROM jobs
                    WHERE (:kind IS NULL OR kind = :kind) AND (:subject IS NULL OR subject = :subject)
                    ORDER BY due_at, key""", {"kind": kind, "subject": subject}).fetchall()
        return [_job(row) for row in rows]

    def last_job(self, kind: str, subject: str | None) -> Job | None:
        with self._read() as conn:
            row = conn.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE kind = ? AND subject IS ? "
                               "ORDER BY due_at DESC, key DESC LIMIT 1", (kind, subject)).fetchone()
        return None if row is None else _job(row)

