"""Sync and audit N people (ICS files) by 1, 2 or 3 instances on one PostgreSQL, and by one on SQLite.

Each instance is a separate process doing what the daemon's tick does on a shared store:
claim ``2 × workers`` sync jobs with a lease (``FOR UPDATE SKIP LOCKED``), sync and audit
those people (``sync_person``: read the ICS file, store the minimised events, audit, save),
finish the jobs, repeat until the queue is empty. Reported: wall time from the first claim
to the last finish, people per second, and the database size afterwards.

Usage (starts its own PostgreSQL with initdb under a temp dir, as ``nobody`` when root)::

    .venv/bin/python bench/bench_scale.py --people 10000 --instances 1 2 3
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

    with open_runtime(load_config(config), environ={}, clock=lambda: NOW, reconcile_people=False) as rt:
        people = {p.pseudonym: p for p in rt.store.list_people()}
        ready.wait()
        with ThreadPoolExecutor(max_workers=rt.config.service.workers) as pool:
            while jobs := rt.store.claim_jobs(NOW, name, batch, 900):
                list(pool.map(lambda j: sync_person(rt, people[j.subject]), jobs))
                for job in jobs:
                    rt.store.finish_job(job.key, ok=True, error=None, at=NOW)


def prepare(folder: Path, store: str | None, ics: list[tuple[str, Path]], workers: int) -> Path:
    write_key(folder / "vault-key")
    config = write_config(folder, store, workers)
    with open_runtime(load_config(config), environ={}, reconcile_people=False) as rt:
        for i, (email, path) in enumerate(ics):
            record = rt.store.upsert_person(PersonRecord(email=email, connector="ics", calendar=str(path),
                                                         timezone="Asia/Jakarta"))
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
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--workers", type=int, default=2, help="sync threads per instance")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bc-bench-scale-"))
    # A few distinct agency calendars (5 weeks each), reused round-robin: reading and storing is
    # the same work whichever file a person points at.
    agency = generate_agency(root / "agency", start=dt.date(2026, 2, 2), weeks=5, people=min(args.people, 200))
    ics = [(f"person{i:05d}@bench.example", agency.people[i % len(agency.people)].ics_path)
           for i in range(args.people)]
    print(f"{args.people} people, {args.workers} sync threads per instance, ICS connector")
    print(f"{'backend':<12} {'instances':>9} {'wall s':>8} {'people/s':>9} {'db MB':>7}")
    base = root / "sqlite"
    base.mkdir()
    config = prepare(base, None, ics, args.workers)
    wall = run(config, 1, args.workers * 2)
    size = sum(f.stat().st_size for f in (base / "state").glob("state.sqlite3*")) / 1e6
    print(f"{'sqlite':<12} {1:>9} {wall:>8.1f} {args.people / wall:>9.0f} {size:>7.1f}", flush=True)
    server = PgServer()
    try:
        for n in args.instances:
            database = server.create_database()
            folder = root / f"pg{n}"
            folder.mkdir()
            config = prepare(folder, server.tcp_url(database), ics, args.workers)
            wall = run(config, n, args.workers * 2)
            with server.admin(database) as conn:
                size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 1e6
                done = conn.execute("SELECT count(*) FROM jobs WHERE ok = 1").fetchone()[0]
            assert done == args.people, done
            print(f"{'postgresql':<12} {n:>9} {wall:>8.1f} {args.people / wall:>9.0f} {size:>7.1f}", flush=True)
    finally:
        server.close()


if __name__ == "__main__":
    main()
