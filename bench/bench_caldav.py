"""Sync N people's CalDAV calendars from a local Radicale: a first sync, a steady-state sync
(nothing changed) and a sync after 10 % of the people changed one event.

Each person has their own Radicale user and calendar with about 40 resources over the sync
window (8 weekly series, two with a moved instance and one with a cancelled one, 30 single
meetings, a two-day leave); a service account reads them all (Radicale ``rights =
authenticated``). The sync is the service's own (``sync_all`` on a SQLite store, the default
4 workers and ``[connectors.caldav] max_concurrency``). Requests are counted by the server
(one Radicale log line per request); wall time is the sync's own.

Usage (starts its own Radicale under a temp dir)::

    .venv/bin/python bench/bench_caldav.py --people 100
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from balanced_calendar.config import load_config  # noqa: E402
from balanced_calendar.enrollment import EnrollRequest, enroll  # noqa: E402
from balanced_calendar.runtime import open_runtime  # noqa: E402
from balanced_calendar.sync import sync_all  # noqa: E402
from balanced_calendar.vault import write_key  # noqa: E402
from tests.radicale_server import PASSWORD, Calendar, RadicaleServer  # noqa: E402

ZONE = "Asia/Jakarta"


def _event(uid: str, start: str, end: str, extra: str = "") -> str:
    return (f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261101T000000Z\r\nSUMMARY:Rapat {uid}\r\n"
            f"DTSTART;TZID={ZONE}:{start}\r\nDTEND;TZID={ZONE}:{end}\r\n{extra}END:VEVENT\r\n")


def _wrap(body: str) -> str:
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n{body}END:VCALENDAR\r\n"


def resources(person: int, monday: dt.date) -> dict[str, str]:
    """About 40 resources for ``person`` from two weeks before ``monday`` to four after."""
    first = monday - dt.timedelta(weeks=2)
    out: dict[str, str] = {}
    for k in range(8):
        day = first + dt.timedelta(days=k % 5)
        hour = 8 + (k + person) % 8
        start, end = f"{day:%Y%m%d}T{hour:02d}0000", f"{day:%Y%m%d}T{hour:02d}4500"
        body = _event(f"series-{person}-{k}", start, end, "RRULE:FREQ=WEEKLY;COUNT=6\r\n"
                      "ORGANIZER:mailto:boss@agency.go.id\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:"
                      f"p{person}@agency.go.id\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:x{k}@agency.go.id\r\n")
        if k < 2:  # the third instance moved by two hours
            moved = day + dt.timedelta(weeks=2)
            body += _event(f"series-{person}-{k}", f"{moved:%Y%m%d}T{hour + 2:02d}0000",
                           f"{moved:%Y%m%d}T{hour + 2:02d}4500",
                           f"RECURRENCE-ID;TZID={ZONE}:{moved:%Y%m%d}T{hour:02d}0000\r\n")
        if k == 2:
            body = body.replace("RRULE:FREQ=WEEKLY;COUNT=6\r\n", "RRULE:FREQ=WEEKLY;COUNT=6\r\n"
                                f"EXDATE;TZID={ZONE}:{day + dt.timedelta(weeks=1):%Y%m%d}T{hour:02d}0000\r\n")
        out[f"series-{k}.ics"] = _wrap(body)
    for n in range(30):
        day = first + dt.timedelta(days=(n * 7 + person) % 42)
        hour = 7 + (n + person) % 12
        out[f"meeting-{n}.ics"] = _wrap(_event(f"meeting-{person}-{n}", f"{day:%Y%m%d}T{hour:02d}0000",
                                               f"{day:%Y%m%d}T{hour + 1:02d}3000"))
    leave = monday + dt.timedelta(days=person % 5)
    out["leave.ics"] = _wrap(f"BEGIN:VEVENT\r\nUID:leave-{person}\r\nDTSTAMP:20261101T000000Z\r\n"
                             f"DTSTART;VALUE=DATE:{leave:%Y%m%d}\r\nDTEND;VALUE=DATE:"
                             f"{leave + dt.timedelta(days=2):%Y%m%d}\r\nX-MICROSOFT-CDO-BUSYSTATUS:OOF\r\nEND:VEVENT\r\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100)
    args = parser.parse_args()
    server = RadicaleServer(rights="authenticated", log_level="info")
    folder = Path(tempfile.mkdtemp(prefix="bc-bench-caldav-"))
    try:
        server.add_user("svc@agency.go.id")
        monday = dt.date.today() - dt.timedelta(days=dt.date.today().weekday())
        emails = [f"p{n}@agency.go.id" for n in range(args.people)]
        calendars: list[Calendar] = []
        setup = time.monotonic()
        for email in emails:
            server.add_user(email)
            calendars.append(server.new_calendar(email))

        def fill(n: int) -> None:
            for name, text in resources(n, monday).items():
                calendars[n].put(name, text)

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(fill, range(args.people)))
        print(f"setup: {args.people} calendars, {len(resources(0, monday))} resources each, "
              f"{time.monotonic() - setup:.1f} s")

        write_key(folder / "vault-key")
        (folder / "svc-password").write_text(PASSWORD)
        (folder / "svc-password").chmod(0o600)
        people = "".join(f'\n[[people]]\nemail = "{e}"\nconnector = "caldav"\ncalendar = "{c.url}"\n'
                         for e, c in zip(emails, calendars))
        (folder / "config.toml").write_text(
            f'[service]\nstate_dir = "state"\nvault_key_file = "vault-key"\npolicy = "asn-id"\n'
            f'timezone = "{ZONE}"\nsync_past_weeks = 2\nsync_future_weeks = 4\nlog_level = "warning"\n\n'
            f'[connectors.caldav]\nurl = "{server.url}/"\nserver = "radicale"\n'
            f'username = "svc@agency.go.id"\npassword_file = "svc-password"\n{people}')
        with open_runtime(load_config(folder / "config.toml")) as rt:
            for email in emails:
                enroll(rt, EnrollRequest(email=email, provider="caldav"))
            rows = []
            for label, change in (("first sync", None), ("steady state (no change)", None),
                                  ("10 % of people moved one event", 10)):
                if change:
                    for n in range(0, args.people, change):
                        calendars[n].put("meeting-0.ics", _wrap(_event(  # moved to Monday evening
                            f"meeting-{n}-0", f"{monday:%Y%m%d}T200000", f"{monday:%Y%m%d}T213000")))
                before = server.requests_served()
                report = sync_all(rt)
                requests = server.requests_served() - before
                assert not report.failed, [r.error for r in report.failed]
                rows.append((label, report.seconds, requests, sum(r.events for r in report.results)))
        print(f"\n{'':34} {'wall s':>7} {'requests':>9} {'req/person':>11} {'events stored':>14}")
        for label, seconds, requests, events in rows:
            print(f"{label:34} {seconds:7.2f} {requests:9d} {requests / args.people:11.2f} {events:14d}")
    finally:
        server.close()


if __name__ == "__main__":
    main()
