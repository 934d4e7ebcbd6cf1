"""Hostile calendars and slow servers: every read ends by its
deadline, endless recurrences are left out by line number while the rest is audited, and
local sources that are not regular files are refused — through the real command, real
HTTP servers on 127.0.0.1 and real files."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from balanced_calendar.model import InputError, ProviderError, Window
from connectors.ics import IcsConnector, ParsedCalendar

FIXTURES = Path(__file__).parent / "fixtures"
ICS = FIXTURES / "ics"
EXAMPLE_ICS = FIXTURES / "cli" / "design_example_overtime_week.ics"
JAKARTA = ZoneInfo("Asia/Jakarta")
WEEK = Window(dt.datetime(2026, 12, 14, tzinfo=JAKARTA), dt.datetime(2026, 12, 21, tzinfo=JAKARTA))
HOSTILE = ["hostile_secondly_rrule_from_2020.ics", "hostile_secondly_rrule_inside_week.ics",
           "hostile_minutely_rrule_from_2020.ics", "hostile_daily_rrule_every_minute_by_lists.ics",
           "hostile_hourly_rrule_from_1900.ics"]


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("balanced-calendar")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=timeout)


# -- a real HTTP server on 127.0.0.1 -----------------------------------------------------
class _Handler(http.server.BaseHTTPRequestHandler):
    #: ``/later-slow.ics`` answers at once until this is set (enrollment reads the calendar)
    later_slow = threading.Event()

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        body = EXAMPLE_ICS.read_bytes()
        if self.path.startswith("/later-slow") and not self.later_slow.is_set():
            self.send_response(200)
            self.send_header("Content-Type", "text/calendar")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path.startswith(("/slow", "/later-slow")):  # headers at once, then one byte a second
            self.send_response(200)
            self.send_header("Content-Type", "text/calendar")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(1)
            except OSError:
                pass
        elif self.path.startswith("/trickle-headers"):  # even the status line comes slowly
            try:
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass
        elif self.path.startswith("/to-ftp"):
            self.send_response(302)
            self.send_header("Location", "ftp://127.0.0.1/secret-token/calendar.ics")
            self.end_headers()
        else:
            self.send_error(404)


@pytest.fixture()
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    _Handler.later_slow.clear()
    httpd.shutdown()
    httpd.server_close()


# -- item 1: a total deadline --------------------------------------------------------------
def test_a_server_sending_one_byte_a_second_fails_at_the_deadline(server):
    started = time.monotonic()
    with pytest.raises(ProviderError, match=r"no complete answer within 2 s"):
        IcsConnector(f"{server}/slow.ics", timeout=2).read(WEEK, JAKARTA)
    assert time.monotonic() - started < 3.5


def test_a_server_trickling_its_headers_fails_at_the_deadline(server):
    started = time.monotonic()
    with pytest.raises(ProviderError, match=r"no complete answer within 1\.5 s"):
        IcsConnector(f"{server}/trickle-headers.ics", timeout=1.5).read(WEEK, JAKARTA)
    assert time.monotonic() - started < 3


def test_audit_of_a_slow_url_exits_2_within_the_deadline(server):
    started = time.monotonic()
    proc = cli("audit", "--ics", f"{server}/slow.ics", "--timeout", "2", "--tz", "Asia/Jakarta",
               "--start", "2026-12-14", "--end", "2026-12-20", "--format", "json")
    elapsed = time.monotonic() - started
    assert proc.returncode == 2, proc.stderr
    assert "no complete answer within 2 s" in proc.stderr and "Traceback" not in proc.stderr
    assert elapsed < 2 + 4  # the deadline plus the command's start-up


def _site(tmp_path: Path, people: list[tuple[str, str]], timeout: float = 2) -> Path:
    assert cli("keygen", "--out", str(tmp_path / "vault-key")).returncode == 0
    entries = "".join(f'\n[[people]]\nemail = "{email}"\nconnector = "ics"\ncalendar = "{calendar}"\n'
                      for email, calendar in people)
    config = tmp_path / "config.toml"
    config.write_text(f'''
[service]
state_dir = "state"
vault_key_file = "vault-key"
policy = "asn-id"
timezone = "Asia/Jakarta"
sync_past_weeks = 520
sync_future_weeks = 520

[connectors.ics]
timeout = {timeout}
{entries}''')
    for email, _ in people:
        enrolled = cli("enroll", "--config", str(config), "--provider", "ics", "--email", email, "--yes")
        assert enrolled.returncode == 0, enrolled.stderr
    return config


def test_one_slow_calendar_fails_alone_by_its_deadline_and_status_says_why(server, tmp_path):
    config = _site(tmp_path, [("slow@agency.go.id", f"{server}/later-slow.ics"),
                              ("rina@agency.go.id", str(EXAMPLE_ICS)),
                              ("budi@agency.go.id", str(ICS / "weekly_standup_rrule_exdate_jakarta.ics"))])
    _Handler.later_slow.set()
    started = time.monotonic()
    synced = cli("sync", "--config", str(config))
    elapsed = time.monotonic() - started
    assert elapsed < 2 + 5, elapsed
    assert synced.returncode == 1 and "synced 2/3 people" in synced.stdout, synced.stdout + synced.stderr
    assert "no complete answer within 2 s" in synced.stdout
    status = cli("status", "--config", str(config), "--show-addresses").stdout
    slow = next(line for line in status.splitlines() if line.startswith("slow@"))
    assert "never" in slow and "no complete answer within 2 s" in slow
    assert "later-slow" not in status  # the calendar's address stays out of status
    for email in ("rina@", "budi@"):
        line = next(line for line in status.splitlines() if line.startswith(email))
        assert "never" not in line and "answer" not in line


# -- item 2: endless recurrences -----------------------------------------------------------
@pytest.mark.parametrize("name", HOSTILE)
def test_an_endless_or_dense_series_is_left_out_by_line_and_the_rest_is_read(name):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    connector = IcsConnector(ICS / name)
    events = connector.read(WEEK, JAKARTA)
    assert time.monotonic() - started < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB: under 50 MB more
    assert [event.uid for event in events] == ["normal-meeting-1"]
    [error] = connector.skipped
    assert isinstance(error, InputError) and error.line == 15 and error.component == "VEVENT"
    assert error.uid == "hostile-series-1"
    assert "left out" in error.public and "hostile-series-1" not in error.public
    assert "Secret-Merger-Talk" not in str(error)


def test_hourly_series_from_last_year_is_still_expanded():
    text = (ICS / "hostile_hourly_rrule_from_1900.ics").read_text().replace("19000101T08", "20250101T08")
    parsed = ParsedCalendar.parse(text, source="hourly.ics")
    events = parsed.events(WEEK, JAKARTA, owner=None)
    assert len(events) == 1 + 7 * 24 and parsed.skipped == []


def test_audit_prints_the_rest_and_exits_2_naming_the_line_without_the_title():
    started = time.monotonic()
    proc = cli("audit", "--ics", str(ICS / "hostile_secondly_rrule_from_2020.ics"), "--tz", "Asia/Jakarta",
               "--start", "2026-12-14", "--end", "2026-12-20", "--format", "json")
    assert time.monotonic() - started < 8
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "line 15" in proc.stderr and "left out" in proc.stderr and "Secret-Merger-Talk" not in proc.stderr
    audit = json.loads(proc.stdout)  # the rest of the calendar is audited
    tuesday = next(day for day in audit["days"] if day["date"] == "2026-12-15")
    assert json.dumps(tuesday) != json.dumps(next(d for d in audit["days"] if d["date"] == "2026-12-16"))


def test_sync_stores_the_rest_and_reports_the_left_out_series(tmp_path):
    hostile = tmp_path / "hostile.ics"
    hostile.write_bytes((ICS / "hostile_secondly_rrule_inside_week.ics").read_bytes())
    config = _site(tmp_path, [("rina@agency.go.id", str(hostile))])
    started = time.monotonic()
    synced = cli("sync", "--config", str(config))
    assert time.monotonic() - started < 8
    assert synced.returncode == 0 and "synced 1/1 people, 1 events" in synced.stdout, synced.stdout + synced.stderr
    assert "left out: line 15: VEVENT has an RRULE" in synced.stdout
    assert "hostile-series-1" not in synced.stdout + synced.stderr and "Secret" not in synced.stdout + synced.stderr
    raw = b"".join(p.read_bytes() for p in (tmp_path / "state").glob("state.sqlite3*"))
    assert b"Secret-Merger-Talk" not in raw and b"hostile-series-1" not in raw


# -- item 10: what is not a calendar file or address --------------------------------------
def test_dev_zero_is_refused_without_a_traceback():
    proc = cli("audit", "--ics", "/dev/zero", "--tz", "Asia/Jakarta", timeout=20)
    assert proc.returncode == 2 and "not a regular file" in proc.stderr and "Traceback" not in proc.stderr


def test_a_fifo_is_refused_instead_of_hanging(tmp_path):
    fifo = tmp_path / "calendar.ics"
    os.mkfifo(fifo)
    proc = cli("audit", "--ics", str(fifo), "--tz", "Asia/Jakarta", timeout=20)
    assert proc.returncode == 2 and "not a regular file" in proc.stderr


def test_a_file_larger_than_the_limit_is_refused(tmp_path):
    big = tmp_path / "big.ics"
    with big.open("wb") as handle:  # sparse: 65 MiB on paper, nothing on the disk
        handle.write(EXAMPLE_ICS.read_bytes())
        handle.truncate(65 * 2**20)
    with pytest.raises(InputError, match="larger than 64 MiB"):
        IcsConnector(big).read(WEEK, JAKARTA)


def test_file_urls_are_read_as_paths():
    by_path = cli("audit", "--ics", str(EXAMPLE_ICS), "--tz", "Asia/Jakarta", "--start", "2026-12-14",
                  "--end", "2026-12-20", "--format", "json")
    by_url = cli("audit", "--ics", EXAMPLE_ICS.as_uri(), "--tz", "Asia/Jakarta", "--start", "2026-12-14",
                 "--end", "2026-12-20", "--format", "json")
    assert by_url.returncode == 0, by_url.stderr
    assert by_url.stdout == by_path.stdout


def test_a_redirect_to_ftp_is_refused(server):
    with pytest.raises(ProviderError, match=r"redirected to a ftp:// address") as caught:
        IcsConnector(f"{server}/to-ftp.ics", timeout=5).read(WEEK, JAKARTA)
    assert "secret-token" not in str(caught.value)
