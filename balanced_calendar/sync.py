"""Pull each enrolled person's window, store minimised events, audit from the store.

One person's failure is recorded on that person and never stops the others. Each person's
events and sync state are replaced in one transaction, so a crash leaves either the old or
the new window, never a mix.

Reads are incremental where the provider has a change feed (``read_changes``): the changes
and the new change token are stored in one transaction, so a crash between the read and
the commit only repeats the read. A failure's reason is the error's ``public`` rendering,
which never holds the calendar's path or URL, UIDs or calendar text.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace

from balanced_calendar.engine import audit_columns
from balanced_calendar.logsetup import code_trace
from balanced_calendar.model import ChangeSet, ProviderError, UserError, Window
from balanced_calendar.runtime import Runtime
from balanced_calendar.store import PersonRecord, Store, StoreError, SyncState
from balanced_calendar.timezones import load_zone
from connectors import provider
from connectors.base import Connector
from connectors.plugin import PlannedRead

log = logging.getLogger(__name__)


class ProviderLimiter:
    """Caps concurrent work per provider (e.g. Google 4, CalDAV 2)."""

    def __init__(self, limits: dict[str, int], default: int = 4) -> None:
        self._default = default
        self._sems: dict[str, threading.BoundedSemaphore] = {
            name: threading.BoundedSemaphore(max(1, n)) for name, n in limits.items()}
        self._lock = threading.Lock()

    def slot(self, provider: str) -> threading.BoundedSemaphore:
        with self._lock:
            if provider not in self._sems:
                self._sems[provider] = threading.BoundedSemaphore(self._default)
            return self._sems[provider]


@dataclass(frozen=True)
class PersonSync:
    pseudonym: str
    ok: bool
    events: int = 0
    error: str | None = None
    #: what was left out of an otherwise good read (e.g. an endless recurrence), public texts
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class SyncReport:
    results: tuple[PersonSync, ...]
    seconds: float
    #: people not started because the sync was asked to stop (they wait for the next sync)
    skipped: int = 0

    @property
    def failed(self) -> list[PersonSync]:
        return [r for r in self.results if not r.ok]

    def describe(self) -> str:
        ok = len(self.results) - len(self.failed)
        first = (f"synced {ok}/{len(self.results)} people, "
                 f"{sum(r.events for r in self.results)} events, in {self.seconds:.1f} s")
        if self.skipped:
            first += f"; stopped, {self.skipped} left for the next sync"
        lines = [first] + [f"  {r.pseudonym}: {r.error}" for r in self.failed]
        lines += [f"  {r.pseudonym}: left out: {text}" for r in self.results for text in r.skipped]
        return "\n".join(lines)


def sync_window(now: dt.datetime, zone: str, past_weeks: int, future_weeks: int) -> tuple[dt.date, dt.date]:
    """Local dates to keep: from the Monday ``past_weeks`` before this week to ``future_weeks`` ahead."""
    today = now.astimezone(load_zone(zone)).date()
    start = today - dt.timedelta(days=today.weekday() + 7 * past_weeks)
    end = today + dt.timedelta(days=7 * future_weeks)
    return start, end


def _read_here(connector: Connector, window: Window, tz: dt.tzinfo,
               state: str | None) -> tuple[ChangeSet, tuple[str, ...]]:
    """The change set and the public texts of what the read left out (``skipped``)."""
    with connector:
        changes = connector.read_changes(window, tz, state)
        skipped = tuple(_first_line(error.public) for error in getattr(connector, "skipped", ()))
    return changes, skipped


def _read_isolated(connector: Connector, window: Window, tz: dt.tzinfo,
                   state: str | None) -> tuple[bool, object]:
    """Run in a worker process: ``(True, (changes, skipped))`` or ``(False, (message, public))``.

    Errors travel back as text because not every error class can be rebuilt by pickle.
    """
    try:
        return True, _read_here(connector, window, tz, state)
    except UserError as exc:
        return False, (str(exc), exc.public)


class RemoteError(UserError):
    """A user error raised in a parser worker, rebuilt with its public rendering."""

    def __init__(self, message: str, public: str) -> None:
        super().__init__(message)
        self._public = public

    @property
    def public(self) -> str:
        return self._public


#: extra seconds a worker process gets past a connector's own deadline before its read is
#: abandoned (the connector checks its deadline itself; this catches a step it cannot interrupt)
WORKER_GRACE_SECONDS = 5.0


def _read(connector: Connector, window: Window, tz: dt.tzinfo, state: str | None,
          parsers: Executor | None, stuck: threading.Event | None = None) -> tuple[ChangeSet, tuple[str, ...]]:
    """Read in this thread, or for CPU-bound connectors in ``parsers``. A worker that overruns
    the connector's ``deadline_seconds`` (plus :data:`WORKER_GRACE_SECONDS`) is abandoned with
    a :class:`ProviderError`; ``stuck`` is set so the sync kills the pool's processes."""
    if parsers is None or not connector.cpu_bound:
        return _read_here(connector, window, tz, state)
    limit = getattr(connector, "deadline_seconds", None)
    future = parsers.submit(_read_isolated, connector, window, tz, state)
    try:
        ok, value = future.result(timeout=None if limit is None else limit + WORKER_GRACE_SECONDS)
    except FutureTimeout:
        if stuck is not None:
            stuck.set()
        raise ProviderError(connector.name, f"no complete answer within {limit:g} s") from None
    if not ok:
        message, public = value  # type: ignore[misc]
        raise RemoteError(message, public)
    return value  # type: ignore[return-value]


#: fewest CPU-bound calendars in one sync for which parsing moves to worker processes
PARSER_POOL_MIN_PEOPLE = 64


def _die_with_parent() -> None:
    """Worker initializer: on Linux, get SIGKILL when the process that started us dies
    (a ``kill -9`` of the daemon must not leave parsing workers behind)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _ready() -> int:
    return os.getpid()


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """SIGKILL every worker process of ``pool`` (one of them is stuck past its deadline)."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            process.kill()


def parser_pool(workers: int, *, always: bool = False) -> ProcessPoolExecutor | None:
    """Worker processes for CPU-bound reads, one per sync worker (None for a single worker,
    or a single core, unless ``always``: the daemon parses out of its own process so that
    the memory a big calendar takes goes away with the pool at the end of the sync).

    As many as ``workers``, not cores: an ICS read may also wait on a download, and the
    per-provider limit still applies. The pool lives only while a sync runs. ``spawn`` keeps
    the children clear of the parent's threads, locks and database handle; all workers are
    started here, from the calling thread, which outlives them (their parent-death signal
    is tied to it).
    """
    if not always and (workers < 2 or (os.cpu_count() or 1) < 2):
        return None
    workers = max(1, workers)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_die_with_parent)
    for future in [pool.submit(_ready) for _ in range(workers)]:
        future.result()
    return pool


def _follow_zone_hint(rt: Runtime, person: PersonRecord, zone: str | None) -> PersonRecord:
    """``person``, with the zone their provider reports when the config sets none for them.

    The new zone is stored (the audit below and the next sync window use it); the events
    just read are instants and stay valid.
    """
    if zone is None or zone == person.timezone:
        return person
    configured = rt.config.person(person.email)
    if configured is not None and configured.zone_fixed:
        return person
    try:
        load_zone(zone)
    except UserError:
        log.warning("%s: the provider reports an unknown time zone; keeping %s", person.pseudonym, person.timezone)
        return person
    moved = replace(person, timezone=zone)
    rt.store.upsert_person(moved)
    log.info("%s: time zone %s, as their calendar settings say", person.pseudonym, zone)
    return moved


#: per address, what this process last audited after a sync: (change token, window start and
#: end, zone, policy object). The daemon re-syncs unchanged calendars every few minutes; when
#: the token, window, zone and policy (a reload makes a new object) are the same, the stored
#: events are the ones already audited and the audit is skipped. A crash between events and
#: audit leaves an older token here, and another instance's sync stores a different token:
#: both re-audit.
_AUDITED: dict[str, tuple[object, ...]] = {}
_AUDITED_LOCK = threading.Lock()


def _audit_current(email: str, key: tuple[object, ...]) -> bool:
    with _AUDITED_LOCK:
        seen = _AUDITED.get(email)
    return seen is not None and len(seen) == len(key) and all(
        a is b if i == len(key) - 1 else a == b for i, (a, b) in enumerate(zip(seen, key)))


def _remember_audit(email: str, key: tuple[object, ...]) -> None:
    with _AUDITED_LOCK:
        _AUDITED[email] = key


def _window_of(rt: Runtime, person: PersonRecord,
               now: dt.datetime) -> tuple[dt.date, dt.date, dt.tzinfo, dt.datetime, dt.datetime]:
    """The person's sync window: local first and last date, zone, and its bounds as instants."""
    svc = rt.config.service
    start, end = sync_window(now, person.timezone, svc.sync_past_weeks, svc.sync_future_weeks)
    tz = load_zone(person.timezone)
    w_start = dt.datetime.combine(start, dt.time(), tzinfo=tz)
    w_end = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return start, end, tz, w_start, w_end


def _token_for(rt: Runtime, person: PersonRecord, w_start: dt.datetime, w_end: dt.datetime) -> str | None:
    """The change token to read from: a token is only valid for the window it was taken in
    (the window moves daily), so a moved window reads from nothing."""
    calendar = provider(person.connector).calendar_key(person.calendar)
    previous = rt.store.get_sync_state(person.email, calendar)
    return previous.token if (previous.window_start, previous.window_end) == (w_start, w_end) else None


def sync_person(rt: Runtime, person: PersonRecord, parsers: Executor | None = None,
                stuck: threading.Event | None = None) -> PersonSync:
    """Read, store and audit one person. Provider and user errors are recorded, not raised.

    ``parsers``, when given, runs the read of CPU-bound connectors (ICS) in worker processes.
    Every read ends by the connector's deadline (for ICS URLs ``[connectors.ics] timeout``,
    download and parsing together); a read that runs out is recorded as this person's error.
    """
    now = rt.clock()
    start, end, tz, w_start, w_end = _window_of(rt, person, now)
    calendar = provider(person.connector).calendar_key(person.calendar)
    try:
        connector = rt.connector_for(person)
        changes, skipped = _read(connector, Window(w_start, w_end), tz, _token_for(rt, person, w_start, w_end),
                                 parsers, stuck)
        for text in skipped:
            log.warning("sync of %s left out a series: %s", person.pseudonym, text)
        person = _follow_zone_hint(rt, person, changes.zone)
        state = SyncState(email=person.email, calendar=calendar, token=changes.state,
                          window_start=w_start, window_end=w_end, last_sync=now, last_error=None)
        if changes.full:
            count = rt.store.replace_events(person.email, calendar, w_start, w_end, changes.upserts, state)
        elif changes.empty:
            # nothing changed: the stored events stand as they are, no event write; the state
            # row still records this good sync (and clears an earlier error)
            rt.store.set_sync_state(state)
            count = 0
        else:
            rt.store.apply_changes(person.email, calendar, changes.upserts, changes.removed, state)
            count = len(changes.upserts)
        # Audit what the store holds (all of the person's calendars, minimised), so the
        # figures saved here are the ones `audit --person` and later reports recompute. Done
        # even when nothing changed, unless this process audited exactly these stored events
        # already (see _audit_current): a crash may have come between the events and the
        # audit, and the policy may have been reloaded.
        audited = (changes.state, w_start, w_end, person.timezone, rt.policy)
        if not (changes.empty and _audit_current(person.email, audited)):
            stored = rt.store.load_event_columns(person.email, w_start, w_end)
            result = audit_columns(stored, rt.policy, zone=person.timezone, start=start, end=end,
                                   person=person.pseudonym)
            rt.store.save_audit(person.email, result)
            _remember_audit(person.email, audited)
        rt.store.record_run(person.email, "sync", True, None, now)
        log.info("synced %s: %s", person.pseudonym,
                 f"{count} events" if changes.full else f"{len(changes.upserts)} changed, {len(changes.removed)} removed")
        return PersonSync(person.pseudonym, True, count, skipped=skipped)
    except UserError as exc:
        # ``public`` leaves out the calendar's path or URL, UIDs and quoted calendar text by
        # construction: this text is logged, stored for ``status`` and printed by ``sync``.
        error = _first_line(exc.public)
    except Exception as exc:  # a provider bug for one person must not stop the others
        # The message of an unexpected error may quote calendar data: log where, not what.
        log.error("sync of %s crashed at %s", person.pseudonym, code_trace(exc))
        error = f"internal error ({type(exc).__name__}); see the log"
    log.warning("sync of %s failed: %s", person.pseudonym, error)
    try:
        previous = rt.store.get_sync_state(person.email, calendar)
        rt.store.set_sync_state(SyncState(email=person.email, calendar=calendar, token=previous.token,
                                          window_start=previous.window_start, window_end=previous.window_end,
                                          last_sync=previous.last_sync, last_error=error))
        rt.store.record_run(person.email, "sync", False, error, now)
    except UserError as exc:  # e.g. erased meanwhile
        log.warning("could not record the failure of %s: %s", person.pseudonym, exc.public)
    return PersonSync(person.pseudonym, False, 0, error)


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else text


@contextlib.contextmanager
def _sync_lock(store: Store, wait: float | None, stop: threading.Event) -> Iterator[bool]:
    """Hold the store's ``sync`` lock; yields False if ``stop`` was set while waiting for it.

    Waiting is done in short slices so that a stopping daemon is not held up by another
    process's sync. Raises the store's "another sync is running" error when ``wait`` runs out.
    """
    deadline = None if wait is None else time.monotonic() + max(0.0, wait)
    with contextlib.ExitStack() as stack:
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                stack.enter_context(store.exclusive("sync", wait=0.5 if left is None else min(0.5, left)))
                break
            except StoreError:
                raise
            except UserError:
                if left is not None and left <= 0:
                    raise
                if stop.is_set():
                    yield False
                    return
        yield True


def connector_class_of(name: str) -> type | None:
    from connectors import REGISTRY, connector_class

    return connector_class(name) if name in REGISTRY else None


def _prefetch(rt: Runtime, people: list[PersonRecord]) -> None:
    """Let each provider with a ``prefetch`` hook warm its people's reads in batches."""
    by_provider: dict[str, list[PersonRecord]] = {}
    for person in people:
        by_provider.setdefault(person.connector, []).append(person)
    for name, group in by_provider.items():
        plugin = provider(name)
        if plugin.prefetch is None:
            continue
        try:
            now = rt.clock()
            reads = []
            for person in group:
                _, _, tz, w_start, w_end = _window_of(rt, person, now)
                reads.append(PlannedRead(rt.context_for(person), Window(w_start, w_end), tz,
                                         _token_for(rt, person, w_start, w_end)))
            plugin.prefetch(reads)
        except Exception as exc:  # a batch is an optimisation: each read still runs on its own
            log.warning("batched prefetch of %d %s calendars failed (%s); reading them one by one",
                        len(group), name, code_trace(exc))


def sync_all(rt: Runtime, *, people: Iterable[PersonRecord] | None = None, stop: threading.Event | None = None,
             wait_for_lock: float | None = 0,
             progress: Callable[[int, int], None] | None = None,
             processes: bool | None = None, exclusive: bool = True) -> SyncReport:
    """Sync everyone (or ``people``) with a bounded pool and per-provider limits.

    Holds the store's ``sync`` lock: a second concurrent sync refuses with a clear message
    (or waits ``wait_for_lock`` seconds). ``stop`` abandons people not yet started (counted
    in :attr:`SyncReport.skipped`). ``progress(done, total)`` is called once before the
    first person and after each one, from worker threads. ``processes`` forces (True) or
    forbids (False) parsing CPU-bound calendars in worker processes; by default they are
    used from :data:`PARSER_POOL_MIN_PEOPLE` such calendars on. ``exclusive=False`` skips the
    ``sync`` lock: the daemon on a shared store, whose job leases already keep two
    instances off the same person.
    """
    started = time.monotonic()
    stop = stop or threading.Event()
    limits = {name: c.max_concurrency for name, c in rt.config.connectors.items()}
    limiter = ProviderLimiter(limits)
    with _sync_lock(rt.store, wait_for_lock, stop) if exclusive else contextlib.nullcontext(True) as locked:
        todo = (list(people) if people is not None else rt.store.list_people()) if locked else []
        done = 0
        count_lock = threading.Lock()
        if progress is not None:
            progress(0, len(todo))

        def one(person: PersonRecord) -> PersonSync | None:
            nonlocal done
            if stop.is_set():
                return None
            with limiter.slot(person.connector):
                if stop.is_set():
                    return None
                result = sync_person(rt, person, parsers, stuck)
            if progress is not None:
                with count_lock:
                    done += 1
                    progress(done, len(todo))
            return result

        workers = max(1, rt.config.service.workers)
        cpu_bound = sum(bool(getattr(connector_class_of(p.connector), "cpu_bound", False)) for p in todo)
        # Starting worker processes costs about a second; it pays off from a few dozen calendars.
        wanted = cpu_bound >= PARSER_POOL_MIN_PEOPLE if processes is None else processes and cpu_bound > 0
        parsers = parser_pool(workers, always=processes is True) if wanted else None
        stuck = threading.Event()
        _prefetch(rt, todo)
        try:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sync") as pool:
                results = [r for r in pool.map(one, todo) if r is not None]
        finally:
            if parsers is not None:
                if stuck.is_set():  # a worker overran its deadline: do not wait for it
                    _kill_workers(parsers)
                parsers.shutdown(wait=not stop.is_set() and not stuck.is_set(), cancel_futures=True)
    return SyncReport(tuple(results), time.monotonic() - started, skipped=len(todo) - len(results))
