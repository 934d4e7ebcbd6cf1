"""Pull each enrolled person's window, store minimised events, audit from the store.

One person's failure is recorded on that person and never stops the others. Each person's
events and sync state are replaced in one transaction, so a crash leaves either the old or
the new window, never a mix.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from balanced_calendar.daemon import ProviderLimiter
from balanced_calendar.engine import audit_events
from balanced_calendar.model import UserError
from balanced_calendar.runtime import Runtime
from balanced_calendar.store import PersonRecord, SyncState
from balanced_calendar.timezones import load_zone

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PersonSync:
    pseudonym: str
    ok: bool
    events: int = 0
    error: str | None = None


@dataclass(frozen=True)
class SyncReport:
    results: tuple[PersonSync, ...]
    seconds: float

    @property
    def failed(self) -> list[PersonSync]:
        return [r for r in self.results if not r.ok]

    def describe(self) -> str:
        ok = len(self.results) - len(self.failed)
        lines = [f"synced {ok}/{len(self.results)} people, "
                 f"{sum(r.events for r in self.results)} events, in {self.seconds:.1f} s"]
        lines += [f"  {r.pseudonym}: {r.error}" for r in self.failed]
        return "\n".join(lines)


def sync_window(now: dt.datetime, zone: str, past_weeks: int, future_weeks: int) -> tuple[dt.date, dt.date]:
    """Local dates to keep: from the Monday ``past_weeks`` before this week to ``future_weeks`` ahead."""
    today = now.astimezone(load_zone(zone)).date()
    start = today - dt.timedelta(days=today.weekday() + 7 * past_weeks)
    end = today + dt.timedelta(days=7 * future_weeks)
    return start, end


def sync_person(rt: Runtime, person: PersonRecord) -> PersonSync:
    """Read, store and audit one person. Provider and user errors are recorded, not raised."""
    now = rt.clock()
    svc = rt.config.service
    start, end = sync_window(now, person.timezone, svc.sync_past_weeks, svc.sync_future_weeks)
    tz = load_zone(person.timezone)
    w_start = dt.datetime.combine(start, dt.time(), tzinfo=tz)
    w_end = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    try:
        from balanced_calendar.model import Window

        with rt.connector_for(person) as connector:
            events = connector.read(Window(w_start, w_end), tz)
        state = SyncState(email=person.email, calendar=person.calendar, token=None,
                          window_start=w_start, window_end=w_end, last_sync=now, last_error=None)
        count = rt.store.replace_events(person.email, person.calendar, w_start, w_end, events, state)
        stored = rt.store.load_events(person.email, w_start, w_end)
        result = audit_events(stored, rt.policy, zone=person.timezone, start=start, end=end,
                              person=person.pseudonym)
        rt.store.save_audit(person.email, result)
        rt.store.record_run(person.email, "sync", True, None, now)
        log.info("synced %s: %d events", person.pseudonym, count)
        return PersonSync(person.pseudonym, True, count)
    except UserError as exc:
        error = _first_line(str(exc))
    except Exception as exc:  # a provider bug for one person must not stop the others
        log.exception("sync of %s crashed", person.pseudonym)
        error = f"internal error ({type(exc).__name__}); see the log"
    log.warning("sync of %s failed: %s", person.pseudonym, error)
    try:
        previous = rt.store.get_sync_state(person.email, person.calendar)
        rt.store.set_sync_state(SyncState(email=person.email, calendar=person.calendar, token=previous.token,
                                          window_start=previous.window_start, window_end=previous.window_end,
                                          last_sync=previous.last_sync, last_error=error))
        rt.store.record_run(person.email, "sync", False, error, now)
    except UserError as exc:  # e.g. erased meanwhile
        log.warning("could not record the failure of %s: %s", person.pseudonym, exc)
    return PersonSync(person.pseudonym, False, 0, error)


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else text


def sync_all(rt: Runtime, *, people: Iterable[PersonRecord] | None = None, stop: threading.Event | None = None,
             wait_for_lock: float | None = 0) -> SyncReport:
    """Sync everyone (or ``people``) with a bounded pool and per-provider limits.

    Holds the store's ``sync`` lock: a second concurrent sync refuses with a clear message
    (or waits ``wait_for_lock`` seconds). ``stop`` abandons people not yet started.
    """
    started = time.monotonic()
    stop = stop or threading.Event()
    limits = {name: c.max_concurrency for name, c in rt.config.connectors.items()}
    limiter = ProviderLimiter(limits)
    with rt.store.exclusive("sync", wait=wait_for_lock):
        todo = list(people) if people is not None else rt.store.list_people()

        def one(person: PersonRecord) -> PersonSync | None:
            if stop.is_set():
                return None
            with limiter.slot(person.connector):
                if stop.is_set():
                    return None
                return sync_person(rt, person)

        with ThreadPoolExecutor(max_workers=max(1, rt.config.service.workers),
                                thread_name_prefix="sync") as pool:
            results = [r for r in pool.map(one, todo) if r is not None]
    return SyncReport(tuple(results), time.monotonic() - started)
