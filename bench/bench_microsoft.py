"""Microsoft 365 sync through the local HTTPS fake of Graph with network latency.

Not a timed test: ``python bench/bench_microsoft.py [--people 200] [--latency 0.02]``. Each
person has a year of events (about 6 a workday); the sync window is that year. It runs each
sync as ``sync_all`` does (the provider's prefetch plans everyone's first request, then the
reads) and measures, for the first sync (delta from nothing; the first delta page and the
mailbox settings of each person ride in JSON batches) and for the steady state (every delta
link again, nothing changed): Graph HTTP requests (a ``$batch`` counts once), Graph
sub-requests (each request a batch holds, plus every plain request), login requests, wall time, and the peak number of requests in flight per mailbox, with
``max_concurrency`` set far above Graph's limit of 4. A third phase reads one mailbox from 12
threads at once to show the per-mailbox cap holds under contention. Peak RSS is the whole
process (the fake, holding every event, included).
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from balanced_calendar.model import Window  # noqa: E402
from connectors.microsoft import PROVIDER, MicrosoftSettings  # noqa: E402
from connectors.microsoft.connector import MicrosoftConnector  # noqa: E402
from connectors.plugin import Context, MemoryCredentials, PersonRef, PlannedRead  # noqa: E402
from tests.fakes.graph import CLIENT_ID, CLIENT_SECRET, TENANT, graph_time, serve  # noqa: E402

JAKARTA = ZoneInfo("Asia/Jakarta")
START = dt.datetime(2026, 1, 5, tzinfo=JAKARTA)
END = START + dt.timedelta(weeks=52)


def populate(fake, people: list[str]) -> int:
    count = 0
    organizer = {"emailAddress": {"address": "boss@agency.go.id"}}
    for p, email in enumerate(people):
        fake.mailbox(email).zone = "SE Asia Standard Time"
        attendees = [{"emailAddress": {"address": email}, "status": {"response": "accepted"}, "type": "required"},
                     {"emailAddress": {"address": "sari@agency.go.id"}, "status": {"response": "none"}, "type": "required"}]
        day = START
        while day < END:
            if day.weekday() < 5:
                for slot in range(6):
                    begin = day + dt.timedelta(hours=8 + slot + (p % 3) * 0.5)
                    fake.put(email, {"id": f"{p}-{count}", "start": graph_time(begin),
                                     "end": graph_time(begin + dt.timedelta(minutes=45)), "isAllDay": False,
                                     "isCancelled": False, "showAs": "busy", "type": "singleInstance",
                                     "isOrganizer": False, "organizer": organizer, "attendees": attendees,
                                     "responseStatus": {"response": "accepted"}, "subject": "x", "categories": []})
                    count += 1
            day += dt.timedelta(days=1)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per request at the fake")
    parser.add_argument("--workers", type=int, default=8, help="people synced at the same time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        running = serve(Path(folder))
        run = next(running)
        secret = Path(folder) / "secret"
        secret.write_text(CLIENT_SECRET)
        secret.chmod(0o600)
        settings = MicrosoftSettings.model_validate({
            "name": "microsoft", "mode": "app", "tenant_id": TENANT, "client_id": CLIENT_ID,
            "client_secret_file": str(secret), "authority": run.base, "graph_endpoint": run.graph,
            "ca_file": str(run.ca_file), "max_concurrency": 64})
        people = [f"staff{i:04d}@agency.go.id" for i in range(args.people)]
        events = populate(run.fake, people)
        run.fake.latency = args.latency
        contexts = [Context(settings=settings, credentials=MemoryCredentials(),
                            person=PersonRef(email=e, calendar="primary", timezone="Asia/Jakarta"))
                    for e in people]
        window = Window(START, END)
        states: dict[str, str | None] = {e: None for e in people}

        def sync_one(ctx: Context) -> int:
            with MicrosoftConnector(ctx.settings, ctx.person, ctx.credentials) as connector:
                changes = connector.read_changes(window, JAKARTA, states[ctx.person.email])
            states[ctx.person.email] = changes.state
            return len(changes.upserts)

        def phase(name: str) -> None:
            run.fake.log.clear()
            for box in run.fake.mailboxes.values():
                box.peak = 0
            started = time.monotonic()
            assert PROVIDER.prefetch is not None
            PROVIDER.prefetch([PlannedRead(c, window, JAKARTA, states[c.person.email]) for c in contexts])
            with ThreadPoolExecutor(args.workers) as pool:
                read = sum(pool.map(sync_one, contexts))
            wall = time.monotonic() - started
            graph = run.fake.graph_requests()
            batches = sum(r.path == "/v1.0/$batch" for r in graph)
            subs = sum(r.path.startswith("$batch:") for r in graph)
            throttled = sum(r.status == 429 for r in graph)
            peak = max(box.peak for box in run.fake.mailboxes.values())
            print(f"{name:<13} {len(graph) - subs:>6} Graph HTTP requests ({batches} $batch), "
                  f"{len(graph) - batches:>6} Graph sub-requests, {len(run.fake.login_requests())} login, "
                  f"{read:>7} events, {wall:6.2f} s wall, peak {peak} per mailbox, {throttled} throttled")

        print(f"{args.people} people, {events} events (1 year), latency {args.latency * 1000:g} ms, "
              f"{args.workers} workers, page size {settings.page_size}")
        phase("first sync")
        phase("steady state")
        run.fake.log.clear()
        for box in run.fake.mailboxes.values():
            box.peak = 0
        one = contexts[0]
        threads = [threading.Thread(target=lambda: MicrosoftConnector(one.settings, one.person, MemoryCredentials())
                                    .read(Window(START, START + dt.timedelta(weeks=4)), JAKARTA)) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(f"contention    12 threads on one mailbox: peak {run.fake.mailboxes[people[0]].peak} in flight, "
              f"{sum(r.status == 429 for r in run.fake.graph_requests())} throttled")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {rss:.0f} MB (bench process, fake included)")
        running.close()


if __name__ == "__main__":
    main()
