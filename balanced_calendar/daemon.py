"""The long-running service: a ``schedule`` loop, a bounded worker pool, signals, sd_notify.

- SIGTERM/SIGINT: stop scheduling, let in-flight work finish or abandon it within
  ``stop_timeout`` (30 s), exit 0. Every store write is one transaction, so abandoned
  work leaves no half-written state.
  Jobs still running then are listed in :attr:`Daemon.abandoned`; the caller should end
  the process with ``os._exit`` (a normal interpreter exit would wait for their threads).
- SIGHUP: reload the config; an invalid new config is logged and the old one kept
  (``RELOADING=1`` then ``READY=1`` either way, so ``systemctl reload`` never hangs).
- ``READY=1``, ``STATUS=…`` (whenever it changes), ``WATCHDOG=1`` (every half
  ``WATCHDOG_USEC``), ``STOPPING=1``.

What runs is decided by :func:`JobSpec` lists from the composition root
(:mod:`balanced_calendar.service`), so this module knows nothing about calendars.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import schedule

from balanced_calendar.logsetup import code_trace
from balanced_calendar.model import UserError
from balanced_calendar.sdnotify import Notifier

log = logging.getLogger(__name__)

C = TypeVar("C")


@dataclass(frozen=True)
class JobSpec:
    """One recurring job, every ``every_seconds`` (± ``jitter_seconds``).

    Wall-clock schedules (a digest on Monday 07:00 in each person's zone) are not jobs of
    the daemon: they are computed by :mod:`balanced_calendar.due` at every tick, with
    catch-up after downtime. ``quiet`` jobs log their end at debug level only.
    """

    name: str
    run: Callable[[threading.Event], Any]
    every_seconds: int
    jitter_seconds: int = 0
    run_at_start: bool = False
    quiet: bool = False


@dataclass
class Daemon(Generic[C]):
    """Runs ``jobs(config)`` on their schedules until stopped.

    ``load`` returns a validated config (raises :class:`UserError` when invalid);
    ``jobs`` turns a config into job specs and gets the stop event to share with workers.
    """

    load: Callable[[], C]
    jobs: Callable[[C, threading.Event], Sequence[JobSpec]]
    notifier: Notifier = field(default_factory=Notifier)
    stop_timeout: float = 30.0
    tick: float = 1.0
    status: Callable[[], str] = lambda: "running"

    def __post_init__(self) -> None:
        self.stop_event = threading.Event()
        self._reload = threading.Event()
        self._scheduler = schedule.Scheduler()
        self._running: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self.config: C | None = None
        #: names of jobs still running when the stop timeout ran out
        self.abandoned: list[str] = []

    # -- signals ---------------------------------------------------------------------
    def _on_stop(self, signum: int, frame: Any) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        self.stop_event.set()

    def _on_hup(self, signum: int, frame: Any) -> None:
        self._reload.set()

    # -- scheduling ------------------------------------------------------------------
    def _launch(self, spec: JobSpec) -> None:
        with self._lock:
            running = self._running.get(spec.name)
            if running is not None and running.is_alive():
                log.info("job %s still running; skipping this turn", spec.name)
                return
            thread = threading.Thread(target=self._run_job, args=(spec,), name=f"job-{spec.name}", daemon=True)
            self._running[spec.name] = thread
            thread.start()

    def _run_job(self, spec: JobSpec) -> None:
        started = time.monotonic()
        try:
            spec.run(self.stop_event)
            log.log(logging.DEBUG if spec.quiet else logging.INFO, "job %s finished in %.1f s",
                    spec.name, time.monotonic() - started)
        except UserError as exc:
            log.error("job %s failed: %s", spec.name, exc)
        except Exception as exc:  # a bug in one job must not take the service down
            log.error("job %s crashed at %s", spec.name, code_trace(exc))

    def _install(self, config: C) -> None:
        self._scheduler.clear()
        for spec in self.jobs(config, self.stop_event):
            low = max(1, spec.every_seconds - spec.jitter_seconds)
            job = self._scheduler.every(low)
            if spec.jitter_seconds:
                job = job.to(spec.every_seconds + spec.jitter_seconds)
            job.seconds.do(self._launch, spec)
            if spec.run_at_start:
                self._launch(spec)
        log.info("scheduled %d job(s)", len(self._scheduler.get_jobs()))

    def _try_reload(self) -> None:
        self._reload.clear()
        self.notifier.notify(RELOADING=1, MONOTONIC_USEC=int(time.monotonic() * 1e6))
        try:
            config = self.load()
        except UserError as exc:
            log.error("reload refused, keeping the running config: %s", exc)
        except Exception as exc:  # e.g. the vault key became unreadable: keep serving
            log.error("reload refused, keeping the running config: %s", code_trace(exc))
        else:
            self.config = config
            self._install(config)
            log.info("config reloaded")
        self.notifier.notify(READY=1, STATUS=self.status())

    # -- main loop -------------------------------------------------------------------
    def run(self, *, install_signals: bool = True) -> int:
        """Run until SIGTERM/SIGINT; returns the exit status (0)."""
        self.config = self.load()  # invalid config: UserError before READY
        if install_signals:
            signal.signal(signal.SIGTERM, self._on_stop)
            signal.signal(signal.SIGINT, self._on_stop)
            signal.signal(signal.SIGHUP, self._on_hup)
        self._install(self.config)
        status = self.status()
        self.notifier.notify(READY=1, STATUS=status)
        log.info("balanced-calendar daemon ready")
        watchdog = self.notifier.watchdog_seconds
        next_ping = 0.0
        while not self.stop_event.is_set():
            if self._reload.is_set():
                self._try_reload()
            self._scheduler.run_pending()
            now = time.monotonic()
            if watchdog and now >= next_ping:
                status = self.status()
                self.notifier.notify(WATCHDOG=1, STATUS=status)
                next_ping = now + watchdog / 2
            elif self.status() != status:
                status = self.status()
                self.notifier.notify(STATUS=status)
            # never sleep through a watchdog ping, however short WATCHDOG_USEC is
            wait = min(self.tick, max(0.01, next_ping - time.monotonic())) if watchdog else self.tick
            self.stop_event.wait(wait)
        return self._shutdown()

    def _shutdown(self) -> int:
        self.notifier.notify(STOPPING=1, STATUS="stopping")
        self._scheduler.clear()
        deadline = time.monotonic() + self.stop_timeout
        for name, thread in list(self._running.items()):
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                self.abandoned.append(name)
                log.warning("job %s abandoned at shutdown (its open transaction is rolled back)", name)
        log.info("stopped")
        return 0

