"""Compose and render 1,000 weekly digests with charts: wall time and peak RSS (issue 12).

Usage: .venv/bin/python bench/bench_digest.py [N]   (target: N=1000 in <= 60 s on 2 cores)
One store with N people, each with a stored four-week audit; every digest is composed from the
store, its chart drawn (matplotlib Agg) and the full MIME message built and serialised.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import resource
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


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp))
        events = overtime_week()
        result = audit_events(events, POLICY, zone="Asia/Jakarta", start=dt.date(2026, 11, 23),
                              end=dt.date(2026, 12, 20), person="x")
        people = []
        t0 = time.perf_counter()
        for i in range(n):
            p = store.upsert_person(PersonRecord(email=f"p{i}@agency.go.id", connector="ics",
                                                 language="id" if i % 2 else "en",
                                                 enrolled_at=dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)))
            store.save_audit(p.email, result)
            people.append(p)
        setup = time.perf_counter() - t0
        now = dt.datetime(2026, 12, 21, tzinfo=dt.timezone.utc)
        t0 = time.perf_counter()
        size = 0
        for p in people:
            msg = build_message(compose(store, p, POLICY, 2026, 51), SENDER, "token", now)
            size += len(msg.as_bytes(policy=email.policy.SMTP))
        wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{n} digests composed+rendered with charts in {wall:.1f} s ({wall / n * 1000:.0f} ms each; "
          f"store setup {setup:.1f} s), peak RSS {rss:.0f} MiB, {size / n / 1024:.0f} KiB per message")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
