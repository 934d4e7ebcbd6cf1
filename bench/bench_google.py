"""Google connector benchmark: sync 200 people x 1 year through the local Calendar v3 fake.

The fake (tests/fakes/google_calendar.py) runs in its own process with 20 ms of latency added
to every HTTP request; each person's calendar holds one year of bench/generate.py's events
(~1,500 instances) written as Google events. People are enrolled in domain mode (service
account), then two syncs are timed with the real `sync_all` and a SQLite store:

1. the first sync (every window read in full, time zones looked up);
2. a steady-state sync (nothing changed).

Reported: HTTP requests the fake served (batched calls listed apart), wall time, peak RSS of
this process (the fake's memory is not in it).

Usage: python bench/bench_google.py [--people 200] [--latency 0.02]
Not a test: run it by hand (it takes about a minute on the bench machine).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

#: the sync's "now": the generated year (2026-01-05 .. 2027-01-03) lies inside its window
NOW = dt.datetime(2026, 7, 5, 12, tzinfo=dt.timezone.utc)


def _email(person: int) -> str:
    return f"pegawai{person:04d}@agency.go.id"


def _item(event, owner: str, index: int) -> dict:
    from balanced_calendar.model import Kind, Response, ShowAs

    def stamp(value):
        return {"dateTime": value.isoformat()} if isinstance(value, dt.datetime) else {"date": value.isoformat()}

    item = {"id": f"e{index:07d}", "start": stamp(event.start), "end": stamp(event.end),
            "status": str(event.status), "summary": "Rapat koordinasi (secret)"}
    if event.show_as is ShowAs.FREE:
        item["transparency"] = "transparent"
    item["eventType"] = {Kind.FOCUS: "focusTime", Kind.OUT_OF_OFFICE: "outOfOffice",
                         Kind.WORKING_LOCATION: "workingLocation"}.get(event.kind, "default")
    if event.organizer_is_self:
        item["organizer"] = {"email": owner, "self": True}
    else:
        item["organizer"] = {"email": "atasan@agency.go.id"}
    if event.others:
        status = {Response.ACCEPTED: "accepted", Response.DECLINED: "declined", Response.TENTATIVE: "tentative",
                  Response.NEEDS_ACTION: "needsAction"}.get(event.response, "accepted")
        item["attendees"] = [{"email": owner, "self": True, "responseStatus": status,
                              "organizer": event.organizer_is_self}]
        item["attendees"] += [{"email": f"rekan{i}@agency.go.id", "responseStatus": "accepted"}
                              for i in range(event.others)]
    return item


def serve(conn, folder: str, people: int) -> None:
    """The fake's process: build the calendars, then answer commands from the bench."""
    from generate import person_events  # type: ignore[import-not-found]

    from tests.fakes.google_calendar import FakeGoogle
    from tests.fakes.google_support import register_service_account

    fake = FakeGoogle(validate=False)
    total = 0
    for p in range(people):
        email = _email(p)
        fake.user(email, zone="Asia/Jakarta")
        for event in person_events(p):
            fake.put(email, _item(event, email, total))
            total += 1
    register_service_account(fake, Path(folder))
    conn.send((fake.url, total))
    while True:
        command, value = conn.recv()
        if command == "latency":
            fake.latency = value
            conn.send(None)
        elif command == "stats":
            http = collections.Counter(s.op for s in fake.seen if not s.batched)
            batched = collections.Counter(s.op for s in fake.seen if s.batched)
            fake.seen.clear()
            conn.send((dict(http), dict(batched)))
        else:
            fake.close()
            conn.send(None)
            return


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.02)
    args = parser.parse_args()

    from balanced_calendar.config import load_config
    from balanced_calendar.enrollment import EnrollRequest, enroll
    from balanced_calendar.runtime import open_runtime
    from balanced_calendar.sync import sync_all
    from balanced_calendar.vault import write_key

    folder = Path(tempfile.mkdtemp(prefix="bench-google-"))
    ours, theirs = multiprocessing.get_context("spawn").Pipe()
    started = time.monotonic()
    fake = multiprocessing.get_context("spawn").Process(target=serve, args=(theirs, str(folder), args.people))
    fake.start()
    url, total = ours.recv()
    print(f"fake ready: {args.people} people, {total} events, in {time.monotonic() - started:.1f} s")
    write_key(folder / "vault-key")
    people = "".join(f'[[people]]\nemail = "{_email(p)}"\nconnector = "google"\n\n' for p in range(args.people))
    (folder / "config.toml").write_text(f'''
[service]
state_dir = "state"
vault_key_file = "vault-key"
timezone = "Asia/Jakarta"
sync_past_weeks = 27
sync_future_weeks = 27

[connectors.google]
mode = "domain"
service_account_file = "service-account.json"
api_endpoint = "{url}"

{people}''')
    config = load_config(folder / "config.toml")
    rows = []
    try:
        with open_runtime(config, environ={}, clock=lambda: NOW) as rt:
            for p in range(args.people):
                enroll(rt, EnrollRequest(email=_email(p), provider="google"))
            ours.send(("stats", None))
            ours.recv()
            ours.send(("latency", args.latency))
            ours.recv()
            for name in ("first sync", "steady-state sync"):
                started = time.monotonic()
                report = sync_all(rt)
                wall = time.monotonic() - started
                ours.send(("stats", None))
                http, batched = ours.recv()
                assert not report.failed, report.describe()
                rows.append((name, sum(http.values()), http, batched, wall, sum(r.events for r in report.results),
                             _peak_mib()))
    finally:
        ours.send(("stop", None))
        ours.recv()
        fake.join()
    print(f"{'sync':<18} {'HTTP requests':>13} {'wall s':>7} {'events':>8} {'peak RSS MiB':>12}  detail")
    for name, requests, http, batched, wall, events, rss in rows:
        detail = ", ".join(f"{k} {v}" for k, v in sorted(http.items()))
        if batched:
            detail += " (batched: " + ", ".join(f"{k} {v}" for k, v in sorted(batched.items())) + ")"
        print(f"{name:<18} {requests:>13} {wall:>7.1f} {events:>8} {rss:>12.0f}  {detail}")
    print(f"steady state needs {rows[0][1] / max(1, rows[1][1]):.0f}x fewer HTTP requests than the first sync")


if __name__ == "__main__":
    main()
