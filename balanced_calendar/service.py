"""The daemon's jobs and status line, wired from a config (the composition root of ``run``)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from balanced_calendar.config import Config, load_config
from balanced_calendar.daemon import Daemon, JobSpec
from balanced_calendar.runtime import Clock, open_runtime, utc_now
from balanced_calendar.sdnotify import Notifier
from balanced_calendar.store import PersonRecord
from balanced_calendar.sync import sync_all
from balanced_calendar.timezones import load_zone

log = logging.getLogger(__name__)


def next_digest(person: PersonRecord, now: dt.datetime) -> dt.datetime | None:
    """Next Monday 07:00 in the person's zone (DESIGN.md §7), or None without digest."""
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
        self.last = "starting"

    def jobs(self, config: Config, stop: threading.Event) -> Sequence[JobSpec]:
        svc = config.service

        def sync_job(stop_event: threading.Event) -> None:
            with open_runtime(config, environ=self.environ, clock=self.clock) as rt:
                report = sync_all(rt, stop=stop_event, wait_for_lock=60)
            self.last = (f"last sync {self.clock():%H:%M}Z: {len(report.results) - len(report.failed)}/"
                         f"{len(report.results)} ok")
            log.info(report.describe().splitlines()[0])

        return [JobSpec("sync", sync_job, every_seconds=svc.sync_interval_minutes * 60,
                        jitter_seconds=min(svc.sync_jitter_seconds, svc.sync_interval_minutes * 30),
                        run_at_start=True)]

    def status(self) -> str:
        return self.last


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
                                    status=service.status)
    return daemon.run()
