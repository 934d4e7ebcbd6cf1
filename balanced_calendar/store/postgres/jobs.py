"""PostgreSQL part of :class:`~balanced_calendar.store.queue.JobQueue`: due jobs, each claimed once.

Claiming is one statement: the due, unleased jobs are picked ``FOR UPDATE SKIP LOCKED`` and
leased in the same ``UPDATE``. Instances claiming at the same moment (on any host) skip the
rows another one is leasing instead of waiting for it, and never lease the same job while
its lease runs. A lease held by an instance that died simply expires (``lease_until <=
now``) and the next claim anywhere takes the job over; ``finish_job`` of the late instance
then finds it no longer pending and changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from balanced_calendar.model import InputError
from balanced_calendar.store.postgres.core import PostgresCore
from balanced_calendar.store.queue import Job
from balanced_calendar.store.sqlite.core import ts
from balanced_calendar.store.sqlite.jobs import _JOB_COLUMNS as _SHARED_COLUMNS
from balanced_calendar.store.sqlite.jobs import _job as _shared_job
from balanced_calendar.store.sqlite.jobs import _require_aware

log = logging.getLogger(__name__)

_JOB_COLUMNS = f"{_SHARED_COLUMNS}, done_by"


def _job(row: Sequence[Any]) -> Job:
    return dataclasses.replace(_shared_job(row[:-1]), done_by=row[-1])


class PostgresJobs(PostgresCore):
    """The ``jobs`` table."""

    def enqueue_job(self, key: str, kind: str, subject: str | None, due_at: dt.datetime) -> bool:
        if not key or not kind:
            raise InputError("a job needs a key and a kind")
        if "@" in key or (subject is not None and "@" in subject):
            raise InputError("a job's key and subject must not hold an address; use the pseudonym")
        _require_aware(due_at, "due_at")
        with self._tx() as tx:
            added = tx.execute("INSERT INTO jobs(key, kind, subject, due_at) VALUES (%s, %s, %s, %s) "
                               "ON CONFLICT (key) DO NOTHING", (key, kind, subject, ts(due_at))).rowcount == 1
        if added:
            log.debug("job %s due at %s", key, due_at.isoformat())
        return added

    def claim_jobs(self, now: dt.datetime, worker: str, limit: int, lease_seconds: float) -> list[Job]:
        _require_aware(now, "now")
        if not worker or limit < 1 or not lease_seconds > 0:
            raise InputError("claiming jobs needs a worker name, a limit of at least 1 and a positive lease")
        at, until = ts(now), ts(now + dt.timedelta(seconds=lease_seconds))
        with self._tx() as tx:
            rows = tx.execute(
                f"""UPDATE jobs SET lease_owner = %(worker)s, lease_until = %(until)s
                    WHERE key IN (SELECT key FROM jobs
                                  WHERE done_at IS NULL AND due_at <= %(now)s
                                    AND (lease_until IS NULL OR lease_until <= %(now)s)
                                  ORDER BY due_at, key LIMIT %(limit)s
                                  FOR UPDATE SKIP LOCKED)
                    RETURNING {_JOB_COLUMNS}""",
                {"worker": worker, "until": until, "now": at, "limit": limit}).fetchall()
        return sorted((_job(row) for row in rows), key=lambda job: (job.due_at, job.key))

    def finish_job(self, key: str, *, ok: bool, error: str | None, at: dt.datetime,
                   retry_at: dt.datetime | None = None) -> bool:
        _require_aware(at, "at")
        if retry_at is not None:
            _require_aware(retry_at, "retry_at")
        if ok or retry_at is None:
            sql = ("UPDATE jobs SET done_at = %s, ok = %s, last_error = %s, attempts = attempts + 1, "
                   "done_by = lease_owner, lease_owner = NULL, lease_until = NULL WHERE key = %s AND done_at IS NULL")
            args: tuple[Any, ...] = (ts(at), int(ok), error, key)
        else:
            sql = ("UPDATE jobs SET due_at = %s, last_error = %s, attempts = attempts + 1, "
                   "done_by = lease_owner, lease_owner = NULL, lease_until = NULL WHERE key = %s AND done_at IS NULL")
            args = (ts(retry_at), error, key)
        with self._tx() as tx:
            return tx.execute(sql, args).rowcount == 1

    def jobs(self, kind: str | None = None, subject: str | None = None) -> list[Job]:
        with self._read() as conn:
            rows = conn.execute(
                f"""SELECT {_JOB_COLUMNS} FROM jobs
                    WHERE (%(kind)s::text IS NULL OR kind = %(kind)s)
                      AND (%(subject)s::text IS NULL OR subject = %(subject)s)
                    ORDER BY due_at, key""", {"kind": kind, "subject": subject}).fetchall()
        return [_job(row) for row in rows]

    def last_job(self, kind: str, subject: str | None) -> Job | None:
        with self._read() as conn:
            row = conn.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE kind = %s AND subject IS NOT DISTINCT FROM %s "
                               "ORDER BY due_at DESC, key DESC LIMIT 1", (kind, subject)).fetchone()
        return None if row is None else _job(row)
