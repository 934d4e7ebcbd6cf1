"""What is due, per person and per team, each in its own zone — and the queue that runs it.

A short tick (every 30 s) asks every registered :class:`JobKind` what is due now, enqueues
each due job once under an idempotency key in the store's persistent job queue, then claims
due jobs with a lease and runs them through the kind's handler. Keys name the period a job
covers, so a restart never runs a weekly or daily job twice, and a job missed while the
service was down is enqueued when it comes back, as long as it is still inside its
catch-up window:

- ``Every(minutes)``: ``sync:<pseudonym>:<generation id>:<slot>`` — slot 0 is due when the
  service starts or reloads (a fresh sync), later slots every ``minutes`` with a per-person
  jitter; re-syncing after a restart is wanted, so the generation is part of the key;
- ``Daily(at)``: ``<kind>:<subject>:<local date>``, due at ``at`` local time, caught up the
  same local day;
- ``Weekly(weekday, at)``: ``<kind>:<subject>:<ISO week covered>`` (the week before the
  occurrence, as a digest covers the previous week), caught up until ``catch_up`` after that
  week ended (3 days by default).

A job whose run failed because the store could not be reached (a database restart or
outage: :func:`~balanced_calendar.store.errors.is_unavailable`) is not given up until its
next slot: it is made due again after a short backoff (``retry_seconds`` doubled per attempt,
at most 16 ×). When finishing a job fails too (the store is still down), the outcome is kept
in memory (:class:`Unfinished`, shared by the runners of one service) and written on the
next tick that reaches the store: a job that ran is finished, one that failed is due again at
once — long before its lease would let another instance take it over. Re-running is safe:
every job's effect is idempotent (events replaced, outbox and block keys).

Only :mod:`schedule` drives the tick itself (in :mod:`balanced_calendar.daemon`); zones are
``zoneinfo`` zones, so nothing depends on ``pytz``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from balanced_calendar.store import Job, Store, StoreError
from balanced_calendar.store.errors import is_unavailable
from balanced_calendar.timezones import load_zone

log = logging.getLogger(__name__)

UTC = dt.timezone.utc


@dataclass(frozen=True)
class Every:
    minutes: int
    jitter_seconds: int = 0


@dataclass(frozen=True)
class Daily:
    at: dt.time


@dataclass(frozen=True)
class Weekly:
    weekday: int  # ISO weekday, 1 = Monday
    at: dt.time
    catch_up: dt.timedelta = dt.timedelta(days=3)


@dataclass(frozen=True)
class Subject:
    """Who a job is for: a person's pseudonym or a team id, with the zone its clock runs in."""

    id: str
    zone: str


#: runs one batch of jobs of one kind; returns the subjects whose job failed, with the reason
Handler = Callable[[Sequence[Subject], threading.Event], dict[str, str]]


@dataclass(frozen=True)
class JobKind:
    name: str
    when: Every | Daily | Weekly
    handler: Handler


@dataclass(frozen=True)
class Due:
    key: str
    kind: str
    subject: str
    due_at: dt.datetime


def _spread(subject: str, seconds: int) -> int:
    """A stable offset in ``[0, seconds)`` per subject, so jobs do not all start at once."""
    if seconds <= 0:
        return 0
    return int.from_bytes(hashlib.blake2b(subject.encode(), digest_size=4).digest(), "big") % seconds


def due_now(kind: JobKind, subjects: Iterable[Subject], now: dt.datetime, generation: dt.datetime,
            generation_id: str = "0") -> list[Due]:
    """The jobs of ``kind`` due at ``now`` (each at most once per period; see the module doc).

    ``generation`` is when this service instance started or reloaded and ``generation_id``
    names it uniquely (two instances started in the same second must not share keys).
    """
    result: list[Due] = []
    when = kind.when
    for subject in subjects:
        if isinstance(when, Every):
            period = dt.timedelta(minutes=when.minutes)
            slot = int((now - generation) / period)
            start = generation + slot * period
            due_at = start + dt.timedelta(seconds=_spread(subject.id, when.jitter_seconds) if slot else 0)
            if due_at > now:  # this slot's jittered time has not come: the previous slot stands
                if slot == 0:
                    continue
                slot -= 1
                start = generation + slot * period
                due_at = start + dt.timedelta(seconds=_spread(subject.id, when.jitter_seconds) if slot else 0)
            key = f"{kind.name}:{subject.id}:{generation_id}:{slot}"
            result.append(Due(key, kind.name, subject.id, due_at))
            continue
        local = now.astimezone(load_zone(subject.zone))
        if isinstance(when, Daily):
            occurrence = dt.datetime.combine(local.date(), when.at, local.tzinfo)
            if occurrence <= local:
                result.append(Due(f"{kind.name}:{subject.id}:{local.date().isoformat()}", kind.name,
                                  subject.id, occurrence.astimezone(UTC)))
            continue
        days_back = (local.isoweekday() - when.weekday) % 7
        occurrence = dt.datetime.combine(local.date() - dt.timedelta(days=days_back), when.at, local.tzinfo)
        if occurrence > local:
            occurrence -= dt.timedelta(days=7)
        covered = occurrence.date() - dt.timedelta(days=7)
        week_end = dt.datetime.combine(covered + dt.timedelta(days=7 - covered.isoweekday() + 1),
                                       dt.time(), local.tzinfo)
        if local > week_end + when.catch_up:
            continue  # missed for too long: that week's job is no longer useful
        year, week, _ = covered.isocalendar()
        result.append(Due(f"{kind.name}:{subject.id}:{year}-W{week:02d}", kind.name, subject.id,
                          occurrence.astimezone(UTC)))
    return result


@dataclass(frozen=True)
class Outcome:
    """How a claimed job's run ended, not yet written to the store."""

    key: str
    kind: str
    subject: str | None
    ok: bool
    error: str | None
    at: dt.datetime
    retry: bool  # due again (transient failure, or stopped before it ran)


@dataclass
class Unfinished:
    """Outcomes whose ``finish_job`` failed (store unreachable), kept until the store is back."""

    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class JobRunner:
    """Enqueues what is due and runs claimed jobs, one batch per kind (see module doc).

    ``subjects(kind)`` lists who a kind applies to right now (enrolled people with a
    digest, teams with enough members …); ``clock`` tells the time (a seam for tests).
    """

    store: Store
    kinds: Sequence[JobKind]
    subjects: Callable[[JobKind], list[Subject]]
    clock: Callable[[], dt.datetime]
    worker: str
    generation: dt.datetime = field(default_factory=lambda: dt.datetime.now(UTC))
    generation_id: str = field(default_factory=lambda: secrets.token_hex(6))
    #: a job claimed by an instance that died is taken over after this long
    lease_seconds: float = 900.0
    batch: int = 10_000
    #: first wait before a job that failed because the store was unreachable runs again
    retry_seconds: float = 30.0
    #: outcomes not yet written (the store was down when the job finished); keep one per service
    unfinished: Unfinished = field(default_factory=Unfinished)
    #: a finish failed in this runner: the next ones are kept without waiting for the store again
    _down: bool = field(default=False, init=False, repr=False)
    #: jobs this runner put back as "not started" (stopping): not claimed to run again this tick
    _put_back: set[str] = field(default_factory=set, init=False, repr=False)

    def finish_unfinished(self) -> int:
        """Write the outcomes kept while the store was down; returns how many were written.

        A job another instance took over meanwhile (its lease ran out) is left to it.
        Raises the store's error when it is still unreachable (the rest stay kept).
        """
        with self.unfinished.lock:
            kept = list(self.unfinished.outcomes)
            written = 0
            for outcome in kept:
                job = next((j for j in self.store.jobs(outcome.kind, outcome.subject) if j.key == outcome.key), None)
                if job is not None and job.done_at is None and job.lease_owner == self.worker:
                    now = self.clock()
                    if outcome.retry:  # failed for want of the store: due again now that it is back
                        self.store.finish_job(outcome.key, ok=False, error=outcome.error, at=now, retry_at=now)
                    else:
                        self.store.finish_job(outcome.key, ok=outcome.ok, error=outcome.error, at=outcome.at)
                    written += 1
                self.unfinished.outcomes.remove(outcome)
        if written:
            log.info("finished %d job(s) that ran while the store was unreachable", written)
        return written

    def _finish(self, job: Job, reason: str | None, done: dt.datetime) -> bool:
        """Record one job's outcome; keeps it for later when the store cannot be reached."""
        if reason == "not started":  # stopped before it ran: leave it for the next start
            outcome = Outcome(job.key, job.kind, job.subject, False, reason, done, retry=True)
            retry_at: dt.datetime | None = done
            self._put_back.add(job.key)
        elif reason is not None and is_unavailable(reason):
            outcome = Outcome(job.key, job.kind, job.subject, False, reason, done, retry=True)
            retry_at = done + dt.timedelta(seconds=self.retry_seconds * 2 ** min(job.attempts, 4))
            log.warning("job %s failed for want of the store; due again at %s", job.key, retry_at.isoformat())
        else:
            outcome = Outcome(job.key, job.kind, job.subject, reason is None, reason, done, retry=False)
            retry_at = None
        if not self._down:
            try:
                self.store.finish_job(job.key, ok=outcome.ok, error=reason, at=done, retry_at=retry_at)
                return True
            except StoreError as exc:
                self._down = True
                log.warning("finishing job %s failed (%s)", job.key, type(exc).__name__)
        with self.unfinished.lock:
            self.unfinished.outcomes.append(outcome)
        log.warning("job %s ran but could not be finished; kept until the store is back", job.key)
        return False

    def enqueue_due(self) -> int:
        """Enqueue every due job not enqueued before; returns how many were new."""
        now = self.clock()
        new = 0
        for kind in self.kinds:
            for due in due_now(kind, self.subjects(kind), now, self.generation, self.generation_id):
                new += self.store.enqueue_job(due.key, due.kind, due.subject, due.due_at)
        return new

    def run_due(self, stop: threading.Event) -> dict[str, int]:
        """Claim due jobs ``batch`` at a time and run them until none is left (or ``stop``);
        returns how many ran per kind. Small batches let instances sharing one store split
        the work: each claims only what it is about to run."""
        ran: dict[str, int] = defaultdict(int)
        self.finish_unfinished()
        while True:
            claimed = self.store.claim_jobs(self.clock(), self.worker, self.batch, self.lease_seconds)
            # A job put back "not started" in this tick is not run again now; one that failed
            # for want of the store and is due again is (it was not run to its end).
            fresh = [job for job in claimed if job.key not in self._put_back]
            for name, count in self._run_claimed(fresh, stop).items():
                ran[name] += count
            if self.unfinished.outcomes:
                break  # the store went away: claim nothing more before it is back
            if stop.is_set() or len(fresh) < len(claimed) or len(claimed) < self.batch:
                break  # stopping, all due work taken, or only jobs put back for later in this tick
        return dict(ran)

    def _run_claimed(self, claimed: Sequence[Job], stop: threading.Event) -> dict[str, int]:
        """Run one claimed batch through the kinds' handlers and finish each job."""
        now = self.clock()
        by_kind: dict[str, list[Job]] = defaultdict(list)
        for job in claimed:
            by_kind[job.kind].append(job)
        kinds = {kind.name: kind for kind in self.kinds}
        ran: dict[str, int] = {}
        for name, jobs in by_kind.items():
            kind = kinds.get(name)
            if kind is None:  # a kind this version no longer runs: give it up with a reason
                for job in jobs:
                    self._finish(job, "no such job kind in this version", now)
                continue
            started = dt.datetime.now(UTC)
            try:
                zones = {s.id: s.zone for s in self.subjects(kind)}
                subjects = [Subject(j.subject or "", zones.get(j.subject or "", "UTC")) for j in jobs]
                failed = kind.handler(subjects, stop)
            except Exception as exc:
                failed = {j.subject or "": f"{type(exc).__name__}" for j in jobs}
                log.error("job %s crashed (%s)", name, type(exc).__name__)
            done = self.clock()
            for job in jobs:
                self._finish(job, failed.get(job.subject or ""), done)
            ran[name] = len(jobs)
            log.info("job %s finished in %.1f s", name, (dt.datetime.now(UTC) - started).total_seconds())
        return ran

    def tick(self, stop: threading.Event) -> dict[str, int]:
        self.enqueue_due()
        return self.run_due(stop)
