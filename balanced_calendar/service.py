"""The daemon's jobs and status line, wired from a config (the composition root of ``run``).

Environment read by ``balanced-calendar run`` besides systemd's own (``NOTIFY_SOCKET``,
``WATCHDOG_USEC``, ``WATCHDOG_PID``, ``JOURNAL_STREAM``, ``CREDENTIALS_DIRECTORY``):

``BALANCED_CALENDAR_TICK_SECONDS``
    Seconds between two looks at what is due (default and maximum 30; tests shorten it).

``BALANCED_CALENDAR_STOP_TIMEOUT``
    Seconds that in-flight work gets after SIGTERM/SIGINT before it is abandoned
    (default and maximum 30, which fits ``TimeoutStopSec=35`` of the unit). Only ever
    needed to make the wait shorter, e.g. in tests.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from balanced_calendar.config import Config, load_config
from balanced_calendar.daemon import Daemon, JobSpec
from balanced_calendar.due import Every, Handler, JobKind, JobRunner, Subject, Unfinished
from balanced_calendar.runtime import Clock, open_runtime, utc_now
from balanced_calendar.sdnotify import Notifier
from balanced_calendar.store import PersonRecord, Store
from balanced_calendar.sync import sync_all
from balanced_calendar.timezones import load_zone

log = logging.getLogger(__name__)

#: seconds between two looks at what is due
TICK_SECONDS = 30

#: the longest a stop may take: in-flight work is abandoned after this (systemd: TimeoutStopSec=35)
STOP_TIMEOUT = 30.0


def next_digest(person: PersonRecord, now: dt.datetime) -> dt.datetime | None:
    """Next Monday 07:00 in the person's zone (a planned digest, docs/architecture.md); None without digest."""
    if not person.digest:
        return None
    local = now.astimezone(load_zone(person.timezone))
    days = (7 - local.weekday()) % 7
    candidate = (local + dt.timedelta(days=days)).replace(hour=7, minute=0, second=0, microsecond=0)
    if candidate <= local:
        candidate += dt.timedelta(days=7)
    return candidate


class Service:
    """Builds the jobs of one config; keeps the last sync summary for the STATUS line."""

    def __init__(self, *, environ: Mapping[str, str] = os.environ, clock: Clock = utc_now) -> None:
        self.environ = environ
        self.clock = clock
        #: names this instance in job leases (``status`` shows who ran what)
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.last = "starting"
        self._progress: str | None = None

    def jobs(self, config: Config, stop: threading.Event) -> Sequence[JobSpec]:
        """One short tick that enqueues what is due and runs it (:mod:`balanced_calendar.due`)."""
        svc = config.service
        jitter = min(svc.sync_jitter_seconds, svc.sync_interval_minutes * 30)
        generation = self.clock()  # a start or reload syncs everyone at once (slot 0)
        generation_id = secrets.token_hex(6)
        kinds = [JobKind("sync", Every(svc.sync_interval_minutes, jitter), self._sync_handler(config))]
        from balanced_calendar.digest.jobs import deliver_outbox, digest_kind, digest_subjects

        kinds.append(digest_kind(config, self.environ, self.clock, isolated=True))
        from balanced_calendar.planner.jobs import plan_kind, plan_subjects

        kinds.append(plan_kind(config, self.environ, self.clock))
        from balanced_calendar.report.jobs import report_kind, report_subjects

        kinds.append(report_kind(config, self.environ, self.clock, isolated=True))
        cluster: list[tuple[dt.datetime, str]] = []  # the shared schedule, read on the first tick
        unfinished = Unfinished()  # outcomes of jobs that ended while the store was unreachable
        tick_seconds = tick_seconds_from(self.environ)

        def tick(stop_event: threading.Event) -> None:
            with open_runtime(config, environ=self.environ, clock=self.clock) as rt:
                def subjects(kind: JobKind) -> list[Subject]:
                    if kind.name == "digest":
                        return digest_subjects(rt)
                    if kind.name == "plan":
                        return plan_subjects(rt)
                    if kind.name == "report":
                        return report_subjects(config)
                    return [Subject(p.pseudonym, p.timezone) for p in rt.store.list_people()]

                shared = bool(getattr(rt.store, "shared", False))
                if shared and not cluster:
                    cluster.append(shared_generation(rt.store, generation, generation_id))
                gen, gen_id = cluster[0] if shared else (generation, generation_id)
                # Shared store: claim only what this instance is about to run, so the others get the rest.
                batch = max(1, svc.workers) * 2 if shared else 10_000
                runner = JobRunner(store=rt.store, kinds=kinds, subjects=subjects, clock=self.clock,
                                   worker=self.worker, generation=gen, generation_id=gen_id,
                                   lease_seconds=float(svc.job_lease_seconds), batch=batch,
                                   retry_seconds=tick_seconds, unfinished=unfinished)
                runner.tick(stop_event)
                deliver_outbox(rt)  # retries of mail queued earlier (server down, 4xx)

        log.info("sync every %d min (jitter up to %d s) with %d worker(s)",
                 svc.sync_interval_minutes, jitter, svc.workers)
        return [JobSpec("tick", tick, every_seconds=tick_seconds, run_at_start=True,
                        quiet=True)]

    def _sync_handler(self, config: Config) -> Handler:
        def progress(done: int, total: int) -> None:
            self._progress = f"syncing {done}/{total} people"

        def handle(subjects: Sequence[Subject], stop_event: threading.Event) -> dict[str, str]:
            wanted = {s.id for s in subjects}
            try:
                with open_runtime(config, environ=self.environ, clock=self.clock) as rt:
                    people = [p for p in rt.store.list_people() if p.pseudonym in wanted]
                    # On a shared store the claimed jobs are the lock: instances sync different people at once.
                    # ICS calendars are parsed in worker processes that end with the sync, so the
                    # daemon's memory returns to its idle size afterwards.
                    report = sync_all(rt, people=people, stop=stop_event, wait_for_lock=60, progress=progress,
                                      exclusive=not getattr(rt.store, "shared", False), processes=True)
                    from balanced_calendar.planner.jobs import after_sync

                    synced = {r.pseudonym for r in report.results if r.ok}
                    after_sync(rt, [p for p in people if p.pseudonym in synced])  # plan what changed
            finally:
                self._progress = None
            ok = len(report.results) - len(report.failed)
            self.last = f"last sync {self.clock():%H:%M}Z: {ok}/{len(report.results)} ok"
            if report.failed:
                self.last += f", {len(report.failed)} failed"
            if report.skipped:
                self.last += f", {report.skipped} not started"
            log.info(report.describe().splitlines()[0])
            failed = {r.pseudonym: r.error or "failed" for r in report.failed}
            done = {r.pseudonym for r in report.results}
            failed.update({pseudonym: "not started" for pseudonym in wanted - done})
            return failed

        return handle

    def status(self) -> str:
        """The STATUS line: sync progress while a sync runs, else the last sync's outcome."""
        progress = self._progress
        if progress is None:
            return self.last
        return progress if self.last == "starting" else f"{progress} ({self.last})"


def shared_generation(store: Store, generation: dt.datetime, generation_id: str) -> tuple[dt.datetime, str]:
    """The schedule every instance on a shared store follows: the first instance's start.

    Sync keys carry the generation, so instances on one schedule enqueue the same keys and
    each slot's sync of a person is one job, claimed by one instance. Kept in ``meta``
    (``service.generation``); a restarted instance joins the running schedule.
    """
    store.set_meta("service.generation", f"{generation.isoformat()}|{generation_id}".encode(), overwrite=False)
    stored = (store.get_meta("service.generation") or b"").decode()
    when, _, ident = stored.partition("|")
    try:
        return dt.datetime.fromisoformat(when), ident
    except ValueError:
        return generation, generation_id


def tick_seconds_from(environ: Mapping[str, str]) -> float:
    """``BALANCED_CALENDAR_TICK_SECONDS`` if it is a number in [0.2, 30], else 30 (tests shorten it)."""
    try:
        value = float(environ.get("BALANCED_CALENDAR_TICK_SECONDS", TICK_SECONDS))
    except ValueError:
        return float(TICK_SECONDS)
    return value if 0.2 <= value <= TICK_SECONDS else float(TICK_SECONDS)


def stop_timeout_from(environ: Mapping[str, str]) -> float:
    """``BALANCED_CALENDAR_STOP_TIMEOUT`` if it is a number in (0, 30], else 30."""
    text = environ.get("BALANCED_CALENDAR_STOP_TIMEOUT", "")
    if not text:
        return STOP_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= STOP_TIMEOUT:
        log.warning("ignoring BALANCED_CALENDAR_STOP_TIMEOUT=%r: give seconds in (0, %g]", text, STOP_TIMEOUT)
        return STOP_TIMEOUT
    return value


def run_daemon(config_path: Path, *, environ: Mapping[str, str] = os.environ) -> int:
    """``balanced-calendar run``: validate the config, check the vault, then serve."""
    service = Service(environ=environ)

    def load() -> Config:
        config = load_config(config_path)
        # Fail early (before READY) on an unusable key or store, not at the first job.
        with open_runtime(config, environ=environ):
            pass
        return config

    daemon: Daemon[Config] = Daemon(load=load, jobs=service.jobs, notifier=Notifier(environ),
                                    status=service.status, stop_timeout=stop_timeout_from(environ))
    code = daemon.run()
    if daemon.abandoned:
        # Abandoned work sits in pool threads that a normal interpreter exit would join
        # (an HTTP read can take the connector's whole timeout): leave now. Nothing is lost:
        # every store write is one transaction, rolled back when the file is next opened.
        logging.shutdown()
        sys.stdout.flush()
        os._exit(code)
    return code
