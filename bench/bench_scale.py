"""Sync and audit N people by 1, 2 or 3 instances on one PostgreSQL, and by one on SQLite.

Each instance is a separate process doing what the daemon's tick does on a shared store:
claim ``2 × workers`` sync jobs with a lease (``FOR UPDATE SKIP LOCKED``), sync and audit
those people (``sync_person``: read the ICS file, store the minimised events, audit, save),
finish the jobs, repeat until the queue is empty. Reported: wall time from the first claim
to the last finish, people per second, and the database size afterwards.

Two sources of calendars:

- ``--source ics`` (default): the ICS connector reading demo-agency files (parsing included);
- ``--source generated``: a bench-only provider, registered at run time in
  ``connectors.REGISTRY`` in every instance process, whose connector generates each person's
  events with ``bench/generate.py`` (seeded per person, nothing read from disk). It measures
  the store, the job queue and the audit without ICS parsing.

Usage (starts its own PostgreSQL with initdb under a temp dir, as ``nobody`` when root)::

    .venv/bin/python bench/bench_scale.py --people 10000 --instances 1 2 3 --source generated
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from balanced_calendar.config import load_config  # noqa: E402
from balanced_calendar.demo.agency import generate_agency  # noqa: E402
from balanced_calendar.runtime import open_runtime  # noqa: E402
from balanced_calendar.store import PersonRecord  # noqa: E402
from balanced_calendar.sync import sync_person  # noqa: E402
from balanced_calendar.vault import write_key  # noqa: E402
from tests.pgserver import PASSWORD, PgServer  # noqa: E402

NOW = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.timezone.utc)
#: weeks of generated events from bench/generate.py's START (2026-01-05): they cover the
#: sync window around NOW (4 weeks back, 1 ahead)
GENERATED_WEEKS = 10


def _generated_connector_class() -> type:
    from bench.generate import person_events
    from balanced_calendar.model import Window
    from connectors.base import Connector

    class GeneratedConnector(Connector):
        """Reads a calendar that bench/generate.py makes up for person ``gen-<n>`` (seed per person)."""

        name = "generated"

        def read(self, window: Window, tz: dt.tzinfo) -> list:  # type: ignore[type-arg]
            index = int(self.calendar.removeprefix("gen-"))
            return [e for e in person_events(index, weeks=GENERATED_WEEKS)
                    if _instant(e.start, tz) < window.end and _instant(e.end, tz) > window.start]

    return GeneratedConnector


def _instant(value: dt.date | dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time(), tzinfo=tz)


def _generated_factory(ctx):  # type: ignore[no-untyped-def]
    return _generated_connector_class()(owner=ctx.person.email, calendar=ctx.person.calendar)


def _provider():  # type: ignore[no-untyped-def]
    from connectors.plugin import Provider

    return Provider(name="generated", connector="bench.bench_scale:GeneratedConnector",
                    factory=_generated_factory, description="bench only: bench/generate.py calendars")


def __getattr__(name: str) -> object:  # the registry imports "bench.bench_scale:<name>" lazily
    if name == "GENERATED":
        return _provider()
    if name == "GeneratedConnector":
        return _generated_connector_class()
    raise AttributeError(name)


def register_generated() -> None:
    """Make the ``generated`` provider known in this process (bench only, never in the service)."""
    import connectors

    connectors.REGISTRY["generated"] = "bench.bench_scale:GENERATED"


def write_config(folder: Path, store: str | None, workers: int) -> Path:
    lines = ["[service]", 'state_dir = "state"', 'vault_key_file = "vault-key"', 'policy = "asn-id"',
             "sync_past_weeks = 4", "sync_future_weeks = 1", f"workers = {workers}", 'log_level = "warning"']
    if store:
        (folder / "pw").write_text(PASSWORD)
        (folder / "pw").chmod(0o600)
        lines += [f'store = "{store}"', 'store_password_file = "pw"']
    (folder / "config.toml").write_text("\n".join(lines) + "\n")
    return folder / "config.toml"


def instance(config: Path, name: str, batch: int, ready: multiprocessing.synchronize.Barrier) -> None:  # type: ignore[name-defined]
    from concurrent.futures import ThreadPoolExecutor

    register_generated()  # each instance process registers the bench provider itself

    with open_runtime(load_config(config), environ={}, clock=lambda: NOW, reconcile_people=False) as rt:
        people = {p.pseudonym: p for p in rt.store.list_people()}
        ready.wait()
        with ThreadPoolExecutor(max_workers=rt.config.service.workers) as pool:
            while jobs := rt.store.claim_jobs(NOW, name, batch, 900):
                results = list(pool.map(lambda j: sync_person(rt, people[j.subject]), jobs))
                failed = [r.error for r in results if not r.ok]
                assert not failed, failed[:3]  # a bench of failing syncs would measure nothing
                for job in jobs:
                    rt.store.finish_job(job.key, ok=True, error=None, at=NOW)


def prepare(folder: Path, store: str | None, people: list[tuple[str, str, str, str]], workers: int) -> Path:
    """``people``: (address, connector, calendar, zone) of everyone, each with a sync job."""
    write_key(folder / "vault-key")
    config = write_config(folder, store, workers)
    with open_runtime(load_config(config), environ={}, reconcile_people=False) as rt:
        for email, connector, calendar, zone in people:
            record = rt.store.upsert_person(PersonRecord(email=email, connector=connector, calendar=calendar,
                                                         timezone=zone))
            rt.store.enqueue_job(f"sync:{record.pseudonym}:bench:0", "sync", record.pseudonym, NOW)
    return config


def run(config: Path, instances: int, batch: int) -> float:
    ready = multiprocessing.get_context("fork").Barrier(instances + 1)
    procs = [multiprocessing.get_context("fork").Process(target=instance, args=(config, f"i{n}", batch, ready))
             for n in range(instances)]
    for p in procs:
        p.start()
    ready.wait()
    started = time.perf_counter()
    for p in procs:
        p.join()
        assert p.exitcode == 0, p.exitcode
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--instances", type=int, nargs="*", default=[1, 2, 3],
                        help="PostgreSQL runs to make (none: SQLite only)")
    parser.add_argument("--workers", type=int, default=2, help="sync threads per instance")
    parser.add_argument("--source", choices=["ics", "generated"], default="ics",
                        help="ICS files of the demo agency, or calendars generated in memory (bench/generate.py)")
    parser.add_argument("--skip-sqlite", action="store_true", help="measure PostgreSQL only")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bc-bench-scale-"))
    if args.source == "generated":
        from bench.generate import person_zone

        register_generated()
        people = [(f"person{i:05d}@bench.example", "generated", f"gen-{i:05d}", person_zone(i))
                  for i in range(args.people)]
    else:
        # A few distinct agency calendars (5 weeks each), reused round-robin: reading and storing
        # is the same work whichever file a person points at.
        agency = generate_agency(root / "agency", start=dt.date(2026, 2, 2), weeks=5, people=min(args.people, 200))
        people = [(f"person{i:05d}@bench.example", "ics", str(agency.people[i % len(agency.people)].ics_path),
                   "Asia/Jakarta") for i in range(args.people)]
    print(f"{args.people} people, {args.workers} sync threads per instance, source {args.source}")
    print(f"{'backend':<12} {'instances':>9} {'wall s':>8} {'people/s':>9} {'db MB':>7}  setup s", flush=True)
    if not args.skip_sqlite:
        base = root / "sqlite"
        base.mkdir()
        setup = time.perf_counter()
        config = prepare(base, None, people, args.workers)
        setup = time.perf_counter() - setup
        wall = run(config, 1, args.workers * 2)
        size = sum(f.stat().st_size for f in (base / "state").glob("state.sqlite3*")) / 1e6
        print(f"{'sqlite':<12} {1:>9} {wall:>8.1f} {args.people / wall:>9.1f} {size:>7.1f}  {setup:.0f}", flush=True)
    if not args.instances:
        return
    server = PgServer()
    try:
        for n in args.instances:
            database = server.create_database()
            folder = root / f"pg{n}"
            folder.mkdir()
            setup = time.perf_counter()
            config = prepare(folder, server.tcp_url(database), people, args.workers)
            setup = time.perf_counter() - setup
            wall = run(config, n, args.workers * 2)
            with server.admin(database) as conn:
                size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 1e6
                done = conn.execute("SELECT count(*) FROM jobs WHERE ok = 1").fetchone()[0]
                events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
            assert done == args.people, done
            print(f"{'postgresql':<12} {n:>9} {wall:>8.1f} {args.people / wall:>9.1f} {size:>7.1f}  {setup:.0f}"
                  f"  ({events} events)", flush=True)
    finally:
        server.close()


if __name__ == "__main__":
    main()
