"""Compose and render 1,000 weekly digests with charts: wall time and peak RSS.

Usage: .venv/bin/python bench/bench_digest.py [N] [--workers W] [--repeat R]
(target: N=1000 in <= 60 s on 2 cores). One store with N people, each with a stored four-week
audit; every digest is composed from the store, its chart drawn (matplotlib Agg, one reused figure
per process and language) and the full MIME message built and serialised.

``--workers`` (default 2 = the machine's cores) forks that many processes after the store is set
up; worker ``w`` opens its own store connection and renders people ``i % W == w``. Wall time =
from the fork to the last worker's end. Peak RSS = the driver's own peak plus each worker's own
peak (``ru_maxrss``), an upper bound (pages shared after ``fork`` are counted once per process).
``--workers 1`` renders in the driver process, no pool. ``--repeat`` runs the whole measurement R
times in fresh subprocesses and prints the median.
"""

from __future__ import annotations

import argparse
import datetime as dt
import email.policy
import multiprocessing
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from digest_helpers import POLICY, SENDER, overtime_week  # noqa: E402

from balanced_calendar.digest.compose import compose  # noqa: E402
from balanced_calendar.digest.render import build_message  # noqa: E402
from balanced_calendar.engine import audit_events  # noqa: E402
from balanced_calendar.store import PersonRecord  # noqa: E402
from balanced_calendar.store.sqlite import open_store  # noqa: E402

NOW = dt.datetime(2026, 12, 21, tzinfo=dt.timezone.utc)


def render_share(state: Path, emails: list[str]) -> tuple[int, float]:
    """Compose and render the digests of ``emails``; returns (bytes, own peak RSS in MiB)."""
    store = open_store(state)
    size = 0
    for address in emails:
        person = store.get_person(address)
        msg = build_message(compose(store, person, POLICY, 2026, 51), SENDER, "token", NOW)
        size += len(msg.as_bytes(policy=email.policy.SMTP))
    return size, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def once(n: int, workers: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        store = open_store(state)
        events = overtime_week()
        result = audit_events(events, POLICY, zone="Asia/Jakarta", start=dt.date(2026, 11, 23),
                              end=dt.date(2026, 12, 20), person="x")
        emails = []
        t0 = time.perf_counter()
        for i in range(n):
            p = store.upsert_person(PersonRecord(email=f"p{i}@agency.go.id", connector="ics",
                                                 language="id" if i % 2 else "en",
                                                 enrolled_at=dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)))
            store.save_audit(p.email, result)
            emails.append(p.email)
        setup = time.perf_counter() - t0
        store.close()  # each worker opens its own connection
        t0 = time.perf_counter()
        if workers == 1:
            shares = [render_share(state, emails)]
        else:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                shares = pool.starmap(render_share, [(state, emails[w::workers]) for w in range(workers)])
        wall = time.perf_counter() - t0
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss = own + (sum(r for _s, r in shares) if workers > 1 else 0)
    return {"wall": wall, "setup": setup, "rss": rss, "size": sum(s for s, _r in shares) / n}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repeat == 1:
        r = once(args.n, args.workers)
        if args.json:
            print(repr(r))
            return
        print(f"{args.n} digests composed+rendered with charts in {r['wall']:.1f} s on {args.workers} "
              f"process(es) ({r['wall'] / args.n * 1000:.0f} ms each; store setup {r['setup']:.1f} s), "
              f"peak RSS {r['rss']:.0f} MiB, {r['size'] / 1024:.0f} KiB per message")
        return
    runs = []
    for i in range(args.repeat):
        out = subprocess.run([sys.executable, __file__, str(args.n), "--workers", str(args.workers), "--json"],
                             check=True, capture_output=True, text=True).stdout
        runs.append(eval(out))  # noqa: S307 - our own repr of a dict of floats
        print(f"run {i + 1}: {runs[-1]['wall']:.1f} s, peak RSS {runs[-1]['rss']:.0f} MiB", flush=True)
    wall = statistics.median(r["wall"] for r in runs)
    rss = statistics.median(r["rss"] for r in runs)
    print(f"{args.n} digests on {args.workers} process(es): median of {args.repeat} runs {wall:.1f} s "
          f"({wall / args.n * 1000:.0f} ms each), peak RSS {rss:.0f} MiB, {runs[0]['size'] / 1024:.0f} KiB per message")


if __name__ == "__main__":
    main()
