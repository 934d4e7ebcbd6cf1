"""Crash safety of the store under real processes: ``kill -9`` mid-sync and mid-write,
concurrent ``sync`` commands, and one person's broken calendar among healthy ones.

"Correct" is always measured against what one clean sync of the same calendars stores
(``reference``): per person the same event rows (no duplicate, nothing lost), the same
audit rows, and ``PRAGMA integrity_check`` = ok.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import http.server
import os
import re
import signal
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from balanced_calendar.config import load_config
from balanced_calendar.demo.agency import DemoAgency, DemoPerson, generate_agency
from balanced_calendar.enrollment import EnrollRequest, enroll
from balanced_calendar.runtime import open_runtime
from balanced_calendar.store import open_store
from balanced_calendar.sync import sync_all
from balanced_calendar.vault import write_key

BIN = Path(sys.executable).with_name("balanced-calendar")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
PEOPLE = 40


@pytest.fixture(scope="module")
def agency(tmp_path_factory: pytest.TempPathFactory) -> DemoAgency:
    """40 synthetic civil servants (a sync takes a few seconds) around today."""
    today = dt.date.today()
    monday = today - dt.timedelta(days=today.weekday())
    return generate_agency(tmp_path_factory.mktemp("agency"), start=monday - dt.timedelta(weeks=2),
                           weeks=3, people=PEOPLE)


def write_config(path: Path, people: list[tuple[DemoPerson, str]], *, workers: int = 2) -> Path:
    lines = ["[service]", 'state_dir = "state"', 'vault_key_file = "vault-key"', 'policy = "asn-id"',
             'timezone = "Asia/Jakarta"', "sync_past_weeks = 2", "sync_future_weeks = 0",
             f"workers = {workers}", 'log_level = "info"', "", "[mail]", 'transport = "maildir"',
             'maildir = "outbox"', ""]
    for person, calendar in people:
        lines += ["[[people]]", f'email = "{person.email}"', 'connector = "ics"', f'calendar = "{calendar}"',
                  f'timezone = "{person.timezone}"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def make_org(tmp: Path, agency: DemoAgency) -> Path:
    """Everyone enrolled with their ICS file, nothing synced yet (Python API, for speed)."""
    write_key(tmp / "vault-key")
    config = write_config(tmp / "config.toml", [(p, str(p.ics_path)) for p in agency.people])
    with open_runtime(load_config(config), environ={}) as rt:
        for person in agency.people:
            enroll(rt, EnrollRequest(email=person.email, provider="ics"))
    return config


# -- what the store holds ------------------------------------------------------------------

@dataclass(frozen=True)
class Person:
    events: Counter  # rows without the store-specific uid hash
    audit_days: int
    findings: int
    synced: bool  # a sync state row exists (written in the same transaction as the events)


def snapshot(state: Path) -> dict[str, Person]:
    """Every person's stored rows; asserts the file is sound and no uid is stored twice."""
    db = sqlite3.connect(state / "state.sqlite3")
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        duplicated = db.execute(
            "SELECT count(*) FROM (SELECT 1 FROM events GROUP BY person_id, calendar, uid_hash, "
            "coalesce(start_utc, start_date) HAVING count(*) > 1)").fetchone()[0]
        assert duplicated == 0
        people = dict(db.execute("SELECT id, email FROM people").fetchall())
        events: dict[int, Counter] = {pid: Counter() for pid in people}
        for row in db.execute("SELECT person_id, all_day, start_utc, end_utc, start_date, end_date, status, "
                              "response, show_as, kind, others, organizer_is_self FROM events"):
            events[row[0]][row[1:]] += 1
        days = dict(db.execute("SELECT person_id, count(*) FROM audit_days GROUP BY person_id").fetchall())
        findings = dict(db.execute("SELECT person_id, count(*) FROM findings GROUP BY person_id").fetchall())
        synced = {r[0] for r in db.execute("SELECT person_id FROM sync_state WHERE last_sync IS NOT NULL")}
    finally:
        db.close()
    return {email: Person(events[pid], days.get(pid, 0), findings.get(pid, 0), pid in synced)
            for pid, email in people.items()}


@pytest.fixture(scope="module")
def reference(agency: DemoAgency, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Person]:
    """What one clean, uninterrupted sync of everyone stores."""
    tmp = tmp_path_factory.mktemp("reference")
    config = make_org(tmp, agency)
    with open_runtime(load_config(config), environ={}) as rt:
        report = sync_all(rt)
    assert not report.failed
    result = snapshot(tmp / "state")
    assert all(sum(p.events.values()) > 0 and p.audit_days > 0 for p in result.values())
    return result


def assert_old_or_new(state: Path, reference: dict[str, Person]) -> tuple[int, int]:
    """After a crash each person has all of a clean sync or nothing of it (a fresh store had
    nothing): never a part, never twice. Returns (people complete, people empty)."""
    now = snapshot(state)
    complete = empty = 0
    for email, ref in reference.items():
        got = now[email]
        if got.events == ref.events:
            assert got.synced  # the events and their sync state were written together
            complete += 1
        else:
            assert got.events == Counter() and not got.synced, f"{email}: partial or duplicated rows"
            empty += 1
        assert (got.audit_days, got.findings) in ((0, 0), (ref.audit_days, ref.findings))  # one transaction
    return complete, empty


# -- the daemon process --------------------------------------------------------------------

class Daemon:
    def __init__(self, config: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "JOURNAL_STREAM")}
        self.lines: list[str] = []
        self.proc = subprocess.Popen([str(BIN), "run", "--config", str(config)], cwd=config.parent, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    def wait_for(self, check: Callable[[], bool], timeout: float = 30, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {what} ({self.proc.poll()}):\n" + "\n".join(self.lines))
            time.sleep(0.005)

    def kill_9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(10) == -signal.SIGKILL
        self.reader.join(5)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def daemons() -> Iterator[Callable[[Path], Daemon]]:
    started: list[Daemon] = []

    def start(config: Path) -> Daemon:
        started.append(Daemon(config))
        return started[-1]

    yield start
    for daemon in started:
        daemon.close()


def run_to_completion(start: Callable[[Path], Daemon], config: Path) -> Daemon:
    daemon = start(config)
    daemon.wait_for(lambda: daemon.count("job sync finished") >= 1, 60, "finished sync")
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(30) == 0
    return daemon


# -- kill -9 ---------------------------------------------------------------------------------

def test_kill_9_in_the_middle_of_a_sync_then_restart_loses_and_duplicates_nothing(
        agency: DemoAgency, reference: dict[str, Person], daemons: Callable[[Path], Daemon],
        tmp_path: Path) -> None:
    config = make_org(tmp_path, agency)
    state = tmp_path / "state"
    for synced_before_kill in (6, 20):
        daemon = daemons(config)
        daemon.wait_for(lambda: daemon.count("synced p-") >= synced_before_kill, 60, "progress")
        daemon.kill_9()
        complete, empty = assert_old_or_new(state, reference)
        assert complete >= synced_before_kill and empty > 0  # it really died mid-sync

    last = run_to_completion(daemons, config)
    assert snapshot(state) == reference
    assert last.count("synced p-") == PEOPLE and not EMAIL.search("\n".join(last.lines))
    # and one more clean sync (the CLI this time) changes nothing
    done = subprocess.run([str(BIN), "sync", "--config", str(config)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert snapshot(state) == reference


class WriteLockWatch:
    """Sees SQLite's WAL write lock (byte 120 of the ``-shm`` file) from outside, without
    taking it: ``F_GETLK`` names the process holding a write transaction open."""

    OFFSET = 120
    FLOCK = "@hhqqi4x"  # struct flock on Linux (LP64)

    def __init__(self, database: Path) -> None:
        self.fd = os.open(f"{database}-shm", os.O_RDWR)

    def holder(self) -> int | None:
        probe = struct.pack(self.FLOCK, fcntl.F_WRLCK, os.SEEK_SET, self.OFFSET, 1, 0)
        kind, _, _, _, pid = struct.unpack(self.FLOCK, fcntl.fcntl(self.fd, fcntl.F_GETLK, probe))
        return None if kind == fcntl.F_UNLCK else pid

    def close(self) -> None:
        os.close(self.fd)


def test_kill_9_while_a_store_write_transaction_is_open_rolls_it_back(
        agency: DemoAgency, reference: dict[str, Person], daemons: Callable[[Path], Daemon],
        tmp_path: Path) -> None:
    config = make_org(tmp_path, agency)
    state = tmp_path / "state"
    # Counted from the first finished person on, so every kill hits a sync write; each
    # person is three transactions (events + sync state, audit, run record): 1, 5 and 9
    # fall on different ones.
    for nth_write in (1, 5, 9):
        daemon = daemons(config)
        daemon.wait_for(lambda: daemon.count("synced p-") >= 1, 30, "a first synced person")
        watch = WriteLockWatch(state / "state.sqlite3")
        seen, was_held, deadline = 0, False, time.monotonic() + 30
        try:
            while time.monotonic() < deadline:
                holder = watch.holder()
                if holder is not None and not was_held:
                    seen += 1
                    if seen == nth_write:
                        assert holder == daemon.proc.pid
                        os.kill(holder, signal.SIGKILL)  # inside BEGIN IMMEDIATE … COMMIT
                        break
                was_held = holder is not None
                time.sleep(0.0001)
            else:
                raise AssertionError(f"saw only {seen} write transactions")
        finally:
            watch.close()
        assert daemon.proc.wait(10) == -signal.SIGKILL
        assert_old_or_new(state, reference)

    run_to_completion(daemons, config)
    assert snapshot(state) == reference


# -- two syncs at once -----------------------------------------------------------------------

def test_two_concurrent_sync_commands_one_refuses_and_with_wait_both_succeed(
        agency: DemoAgency, reference: dict[str, Person], tmp_path: Path) -> None:
    config = make_org(tmp_path, agency)
    command = [str(BIN), "sync", "--config", str(config)]

    racing = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(2)]
    outputs = [p.communicate(timeout=90) for p in racing]
    codes = [p.returncode for p in racing]
    assert sorted(codes) == [0, 2], outputs
    winner, loser = (outputs[0], outputs[1]) if codes[0] == 0 else (outputs[1], outputs[0])
    assert "another sync is running" in loser[1]
    assert loser[0] == ""
    assert f"synced {PEOPLE}/{PEOPLE} people" in winner[0]
    assert snapshot(tmp_path / "state") == reference

    waiting = [subprocess.Popen(command + ["--wait", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in waiting]
    assert [p.returncode for p in waiting] == [0, 0], outputs
    assert all(f"synced {PEOPLE}/{PEOPLE} people" in out for out, _ in outputs)
    assert snapshot(tmp_path / "state") == reference


# -- one person's provider fails -------------------------------------------------------------

class FlakyCalendarServer:
    """Serves ICS files on 127.0.0.1; names in ``failing`` get HTTP 500."""

    def __init__(self, root: Path) -> None:
        self.failing: set[str] = set()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                name = self.path.rsplit("/", 1)[-1]
                if name in server.failing:
                    self.send_error(500)
                    return
                body = (root / name).read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, person: DemoPerson) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/ics/{person.ics_path.name}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def flaky_server(agency: DemoAgency) -> Iterator[FlakyCalendarServer]:
    server = FlakyCalendarServer(agency.people[0].ics_path.parent)
    yield server
    server.close()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=60)


def test_one_persons_broken_calendar_never_stops_the_others(
        agency: DemoAgency, flaky_server: FlakyCalendarServer, tmp_path: Path) -> None:
    malformed, missing, erroring, served, *local = agency.people[:7]
    calendars = tmp_path / "calendars"
    calendars.mkdir()
    bad_file = calendars / malformed.ics_path.name  # named after the person, like their real file
    bad_file.write_text(malformed.ics_path.read_text().replace(
        "BEGIN:VEVENT", f"BEGIN:VEVENT\nUID:{malformed.email}\nDTSTART:2026112T0900", 1))
    missing_file = calendars / missing.ics_path.name
    missing_file.write_bytes(missing.ics_path.read_bytes())  # present at enrollment, gone later
    config = write_config(tmp_path / "config.toml", [
        (malformed, str(bad_file)), (missing, str(missing_file)), (erroring, flaky_server.url(erroring)),
        (served, flaky_server.url(served)), *[(p, str(p.ics_path)) for p in local]])

    assert cli("keygen", "--out", str(tmp_path / "vault-key")).returncode == 0
    for person in (malformed, missing, erroring, served, *local):
        done = cli("enroll", "--config", str(config), "--provider", "ics", "--email", person.email, "--yes")
        assert done.returncode == 0, done.stderr
    missing_file.unlink()
    flaky_server.failing = {erroring.ics_path.name}

    with open_store(tmp_path / "state") as store:
        pseudonym = {p.email: store.pseudonym(p.email) for p in agency.people[:7]}
    failing = {malformed.email: "not a date or date-time", missing.email: "not found",
               erroring.email: "HTTP 500"}

    done = cli("sync", "--config", str(config))
    assert done.returncode == 1
    assert "synced 4/7 people" in done.stdout
    for email, reason in failing.items():
        (line,) = [ln for ln in done.stdout.splitlines() if pseudonym[email] in ln]
        assert reason in line, line
    for email in set(pseudonym) - set(failing):
        assert pseudonym[email] not in done.stdout
    for text in (done.stdout, done.stderr):
        assert not EMAIL.search(text), text
        assert all(p.ics_path.name not in text and p.email.split("@")[0] not in text for p in agency.people[:7]), text

    ok = {email for email in pseudonym if email not in failing}
    stored = snapshot(tmp_path / "state")
    assert all(sum(stored[e].events.values()) > 0 for e in ok)
    assert all(sum(stored[e].events.values()) == 0 for e in failing)

    status = cli("status", "--config", str(config))
    assert status.returncode == 0, status.stderr
    rows = {ln.split()[0]: ln for ln in status.stdout.splitlines()[1:]}
    for email, reason in failing.items():
        assert reason in rows[pseudonym[email]]
        assert " never " in rows[pseudonym[email]]
    for email in ok:
        assert not any(reason in rows[pseudonym[email]] for reason in failing.values())
        assert "never" not in rows[pseudonym[email]]

    # Repaired calendars: everyone syncs and the errors are gone.
    bad_file.write_bytes(malformed.ics_path.read_bytes())
    missing_file.write_bytes(missing.ics_path.read_bytes())
    flaky_server.failing = set()
    again = cli("sync", "--config", str(config))
    assert again.returncode == 0, again.stdout
    assert "synced 7/7 people" in again.stdout
    status = cli("status", "--config", str(config))
    assert not any(reason in status.stdout for reason in failing.values())
