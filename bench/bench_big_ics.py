"""Parse a big ICS file: wall time and peak RSS of one ``IcsConnector.read``.

Writes a synthetic calendar of about ``--mb`` MB (default 50) into a temporary folder: single
meetings spread over three years, with attendees, descriptions and locations as exports carry
them, plus a few weekly series. Then, in a fresh process each (so the figures are that of one
read), it reads the file for one week and for the sync window (10 weeks) and prints wall time
and peak RSS (``ru_maxrss`` of the child).

    .venv/bin/python bench/bench_big_ics.py            # 50 MB
    .venv/bin/python bench/bench_big_ics.py --mb 10
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_CHILD = r'''
import datetime as dt, json, resource, sys, time
from zoneinfo import ZoneInfo
from balanced_calendar.model import Window
from connectors.ics import IcsConnector
path, weeks = sys.argv[1], int(sys.argv[2])
tz = ZoneInfo("Asia/Jakarta")
start = dt.datetime(2026, 3, 2, tzinfo=tz)
started = time.monotonic()
with IcsConnector(path, owner="rina@agency.go.id") as connector:
    events = connector.read(Window(start, start + dt.timedelta(weeks=weeks)), tz)
print(json.dumps({"events": len(events), "seconds": round(time.monotonic() - started, 1),
                  "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
'''


def write_calendar(path: Path, megabytes: float) -> int:
    """Write a calendar of about ``megabytes`` MB to ``path``; returns the number of VEVENTs."""
    target = int(megabytes * 1_000_000)
    first = dt.datetime(2025, 1, 6, 1, 0)
    written, count = 0, 0
    with path.open("w", encoding="utf-8", newline="") as out:
        head = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//big ics//EN\r\n"
                "X-WR-TIMEZONE:Asia/Jakarta\r\n")
        out.write(head)
        written += len(head)
        while written < target:
            start = first + dt.timedelta(hours=(count * 7) % (3 * 365 * 24))
            weekly = "RRULE:FREQ=WEEKLY;COUNT=20\r\n" if count % 500 == 0 else ""
            block = (
                "BEGIN:VEVENT\r\n"
                f"UID:bench-{count}@example.org\r\n"
                f"DTSTAMP:20250101T000000Z\r\n"
                f"DTSTART:{start:%Y%m%dT%H%M%S}Z\r\n"
                f"DTEND:{start + dt.timedelta(minutes=60):%Y%m%dT%H%M%S}Z\r\n"
                f"{weekly}"
                f"SUMMARY:Rapat koordinasi anggaran nomor {count}\r\n"
                "DESCRIPTION:Agenda: pembahasan rencana kerja dan anggaran\\, tindak lanjut\\n"
                " hasil rapat sebelumnya\\, lain-lain.\r\n"
                "LOCATION:Ruang Rapat Lantai 3\r\n"
                "ORGANIZER;CN=Budi:mailto:budi@agency.go.id\r\n"
                "ATTENDEE;PARTSTAT=ACCEPTED;CN=Rina:mailto:rina@agency.go.id\r\n"
                "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:sari@agency.go.id\r\n"
                "ATTENDEE;PARTSTAT=TENTATIVE:mailto:joko@agency.go.id\r\n"
                "STATUS:CONFIRMED\r\n"
                "END:VEVENT\r\n")
            out.write(block)
            written += len(block)
            count += 1
        out.write("END:VCALENDAR\r\n")
    return count


def measure(path: Path, weeks: int) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(weeks)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50.0, help="size of the generated file in MB")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.ics"
        started = time.monotonic()
        count = write_calendar(path, args.mb)
        print(f"wrote {path.stat().st_size / 1e6:.1f} MB, {count} VEVENTs in {time.monotonic() - started:.1f} s")
        for weeks in (1, 10):
            figures = measure(path, weeks)
            print(f"read {weeks:>2} week(s): {figures['events']} events, {figures['seconds']} s, "
                  f"peak RSS {figures['peak_mb']} MB")



if __name__ == "__main__":
    main()
