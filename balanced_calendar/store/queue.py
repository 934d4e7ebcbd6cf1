"""The outbox (mail delivered exactly once) and the job queue (due-time work run once).

Job queue semantics (docs/store.md has the long form):

- A job is identified by its ``key`` (e.g. ``digest:p-1a2b3c4d5e6f:2026-W51``). Enqueueing
  a key that was ever enqueued before changes nothing and returns ``False``, across
  restarts: that is what makes "nothing runs twice" hold.
- A worker *claims* due jobs; a claim is a lease (``lease_owner``, ``lease_until``). While
  the lease runs no other worker can claim the job; when it expires (the worker died) the
  job can be claimed again. Claiming is atomic across threads and processes.
- The worker then *finishes* the job: done, back to pending at a later time, or given up.
- ``subject`` is a pseudonym or a team id, never an address; erasing a person deletes the
  jobs whose subject (or key) carries their pseudonym.
"""

from __future__ import annotations

import datetime as dt
from abc import abstractmethod
from dataclasses import dataclass
from typing import Protocol

from balanced_calendar.store.errors import require_aware


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One outgoing email, delivered exactly once per ``key`` (e.g. ``digest:p-…:2026-W51``).

    ``next_attempt`` ``None`` on enqueue means "now"; after :meth:`OutboxStore.mark_failed` with
    ``next_attempt=None`` the message is given up (kept for status, never pending again).
    """

    key: str
    recipient: str
    message: bytes
    created: dt.datetime
    attempts: int = 0
    next_attempt: dt.datetime | None = None
    sent_at: dt.datetime | None = None
    last_error: str | None = None

    def __post_init__(self) -> None:
        for name in ("created", "next_attempt", "sent_at"):
            require_aware(getattr(self, name), name)


@dataclass(frozen=True, slots=True)
class Job:
    """One due-time job as stored.

    ``attempts`` counts finished attempts (successful or not); ``ok`` is ``None`` while the
    job is not done, ``True`` when it succeeded, ``False`` when it was given up (then
    ``last_error`` says why). A job is *pending* while ``done_at`` is ``None``.
    """

    key: str
    kind: str
    subject: str | None
    due_at: dt.datetime
    attempts: int = 0
    lease_owner: str | None = None
    lease_until: dt.datetime | None = None
    done_at: dt.datetime | None = None
    last_error: str | None = None
    ok: bool | None = None
    #: the worker whose lease the job was finished under (``status``: who did what last);
    #: ``None`` where the backend does not record it (SQLite: one instance anyway)
    done_by: str | None = None

    def __post_init__(self) -> None:
        for name in ("due_at", "lease_until", "done_at"):
            require_aware(getattr(self, name), name)

    @property
    def pending(self) -> bool:
        """Not done yet (due or not, leased or not)."""
        return self.done_at is None


class OutboxStore(Protocol):
    """Outgoing mail, each key delivered exactly once."""

    @abstractmethod
    def enqueue(self, msg: OutboxMessage) -> bool:
        """Queue a message; ``False`` (and nothing changes) if its key was ever queued before."""

    @abstractmethod
    def pending(self, now: dt.datetime) -> list[OutboxMessage]:
        """Unsent, not given-up messages whose next attempt is due at ``now``, oldest first."""

    @abstractmethod
    def mark_sent(self, key: str, at: dt.datetime) -> None:
        """Record delivery. Raises :class:`StoreError` for an unknown key."""

    @abstractmethod
    def claim_message(self, key: str, due_by: dt.datetime, until: dt.datetime) -> bool:
        """Take an unsent message due at ``due_by`` for one delivery attempt; ``True`` if taken.

        Its ``next_attempt`` moves to ``until`` (a lease): no other process or instance sees it
        in :meth:`pending` nor takes it before then, so a message is never sent twice at once.
        ``mark_sent`` or ``mark_failed`` end the lease; a sender that died leaves the message
        due again at ``until``. ``False`` when it is sent, given up, not due, or taken.
        """

    @abstractmethod
    def mark_failed(self, key: str, error: str, next_attempt: dt.datetime | None) -> None:
        """Record a failed attempt; retry at ``next_attempt`` (``None``: give up).

        Raises :class:`StoreError` for an unknown or already sent key.
        """


    @abstractmethod
    def outbox_message(self, key: str) -> OutboxMessage | None:
        """The message queued under ``key`` (sent, pending or given up); ``None`` if never queued.

        Given up: ``sent_at`` and ``next_attempt`` are both ``None`` and ``last_error`` says why.
        """

    @abstractmethod
    def last_outbox_message(self, prefix: str) -> OutboxMessage | None:
        """The most recently queued message whose key starts with ``prefix`` (latest ``created``,
        then the greatest key), sent or not; ``None`` if there is none. ``status`` uses it with
        ``digest:<pseudonym>:`` to show a person's last digest, queued by the daemon or by
        ``digest --send``.
        """


class JobQueue(Protocol):
    """Persistent due-time jobs (digests, plans, reports) that run once across restarts."""

    @abstractmethod
    def enqueue_job(self, key: str, kind: str, subject: str | None, due_at: dt.datetime) -> bool:
        """Add a pending job due at ``due_at``; ``True`` if added.

        ``False`` and nothing changes when ``key`` was ever enqueued before, done or not
        (until an erasure removed it). Raises :class:`~balanced_calendar.model.InputError`
        for an empty key or kind, a naive ``due_at``, or a key or subject that looks like an
        address (contains ``@``): subjects are pseudonyms or team ids.
        """

    @abstractmethod
    def claim_jobs(self, now: dt.datetime, worker: str, limit: int, lease_seconds: float) -> list[Job]:
        """Atomically lease up to ``limit`` due jobs to ``worker``; returns them as leased.

        A job is claimable when it is not done, ``due_at <= now``, and it is not leased or
        its lease ended (``lease_until <= now``). Claimed jobs get ``lease_owner = worker``
        and ``lease_until = now + lease_seconds``. Oldest due first (then by key). Two
        workers — threads or processes — never receive the same job from overlapping
        calls while its lease runs. Raises :class:`~balanced_calendar.model.InputError` for a
        naive ``now``, an empty ``worker``, ``limit < 1`` or ``lease_seconds <= 0``.
        """

    @abstractmethod
    def finish_job(self, key: str, *, ok: bool, error: str | None, at: dt.datetime,
                   retry_at: dt.datetime | None = None) -> bool:
        """Record the outcome of a claimed job's attempt; the lease is released.

        ``ok``: done (``done_at = at``). Failure with ``retry_at``: pending again, due at
        ``retry_at``. Failure without: done and given up (``ok`` false, ``last_error`` kept).
        ``attempts`` grows by one in every case. Returns ``False`` (nothing changes) when
        no pending job has this key: unknown, already finished, or erased meanwhile.
        ``error`` must not contain personal data (the caller writes it).
        """

    @abstractmethod
    def jobs(self, kind: str | None = None, subject: str | None = None) -> list[Job]:
        """Stored jobs (done or not), filtered by kind and/or subject, by due time then key."""

    @abstractmethod
    def last_job(self, kind: str, subject: str | None) -> Job | None:
        """The most recently scheduled job (greatest ``due_at``, then key) of that kind and
        subject (``None`` matches jobs without a subject); ``None`` when there is none."""
