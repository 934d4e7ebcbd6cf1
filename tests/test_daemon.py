"""The long-running service, tested as systemd runs it: a real ``balanced-calendar run`` process.

Each test starts the daemon with a real sd_notify socket (AF_UNIX datagrams bound in a temp
folder), a real ICS folder from the synthetic agency and, where timing matters, a real
``http.server`` on 127.0.0.1 that can delay, fail or hold requests. Signals are real signals.
The cadence itself (``schedule``) is checked in-process on :class:`Daemon` with one-second
jobs, because the config's smallest interval is a minute.
"""

from __future__ import annotations

import datetime as dt
import http.server
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from balanced_calendar.config import load_config
from balanced_calendar.daemon import Daemon, JobSpec
from balanced_calendar.demo.agency import DemoAgency, DemoPerson, generate_agency
from balanced_calendar.enrollment import EnrollRequest, enroll
from balanced_calendar.runtime import open_runtime
from balanced_calendar.sdnotify import Notifier
from balanced_calendar.service import Service, stop_timeout_from
from balanced_calendar.store import open_store
from balanced_calendar.vault import write_key

BIN = Path(sys.executable).with_name("balanced-calendar")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


# -- an organisation on disk ---------------------------------------------------------------

def this_monday() -> dt.date:
    today = dt.date.today()
    return today - dt.timedelta(days=today.weekday())


@pytest.fixture(scope="module")
def agency(tmp_path_factory: pytest.TempPathFactory) -> DemoAgency:
    """12 synthetic civil servants whose calendars cover the sync window around today."""
    return generate_agency(tmp_path_factory.mktemp("agency"), start=this_monday() - dt.timedelta(weeks=2),
                           weeks=3, people=12)


def titles(agency: DemoAgency) -> set[str]:
    found = set()
    for person in agency.people:
        for line in person.ics_path.read_text(encoding="utf-8").splitlines():
            if line.startswith("SUMMARY:"):
                found.add(line.removeprefix("SUMMARY:").strip())
    return found


def assert_no_personal_data(text: str, agency: DemoAgency, *, extra: tuple[str, ...] = ()) -> None:
    """No address, no ICS title, no name, no calendar file named after a person."""
    assert not EMAIL.search(text), EMAIL.search(text)
    for person in agency.people:
        local = person.email.split("@")[0]
        for needle in (person.email, local, person.name, person.ics_path.name):
            assert needle.lower() not in text.lower(), needle
    for title in titles(agency) | set(extra):
        assert title not in text, title


def corrupt(person: DemoPerson, folder: Path) -> Path:
    """A copy of ``person``'s calendar, named after them, with one broken DTSTART whose UID
    carries their address (parse errors quote both)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = person.ics_path.read_text(encoding="utf-8")
    broken = text.replace("BEGIN:VEVENT", f"BEGIN:VEVENT\nUID:rahasia-{person.email}\n"
                                          f"SUMMARY:Rapat rahasia {person.name}\nDTSTART:2026112T0900", 1)
    path = folder / person.ics_path.name
    path.write_text(broken, encoding="utf-8")
    return path


def write_config(path: Path, people: list[tuple[DemoPerson, str]], *, workers: int = 2, ics_limit: int = 8,
                 ics_timeout: float = 30, interval: int = 15, jitter: int = 30, extra: str = "") -> Path:
    """A service config; ``people`` pairs each person with their calendar (path or URL)."""
    lines = ["[service]", 'state_dir = "state"', 'vault_key_file = "vault-key"', 'policy = "asn-id"',
             'timezone = "Asia/Jakarta"', "sync_past_weeks = 2", "sync_future_weeks = 0",
             f"sync_interval_minutes = {interval}", f"sync_jitter_seconds = {jitter}", f"workers = {workers}",
             'log_level = "info"', "", "[mail]", 'transport = "maildir"', 'maildir = "outbox"', "",
             "[connectors.ics]", f"max_concurrency = {ics_limit}", f"timeout = {ics_timeout}", ""]
    for person, calendar in people:
        lines += ["[[people]]", f'email = "{person.email}"', 'connector = "ics"', f'calendar = "{calendar}"',
                  f'timezone = "{person.timezone}"', ""]
    path.write_text("\n".join(lines) + extra, encoding="utf-8")
    return path


def make_org(tmp: Path, people: list[tuple[DemoPerson, str]], **options: object) -> Path:
    """Config + vault key + everyone enrolled (Python API: the CLI is not under test here)."""
    write_key(tmp / "vault-key")
    config = write_config(tmp / "config.toml", people, **options)  # type: ignore[arg-type]
    with open_runtime(load_config(config), environ={}) as rt:
        for person, _ in people:
            enroll(rt, EnrollRequest(email=person.email, provider="ics"))
    return config


def stored_events(state: Path) -> dict[str, int]:
    with sqlite3.connect(state / "state.sqlite3") as db:
        rows = db.execute("SELECT p.email, count(e.person_id) FROM people p "
                          "LEFT JOIN events e ON e.person_id = p.id GROUP BY p.email").fetchall()
    return dict(rows)


# -- a calendar server on 127.0.0.1 -------------------------------------------------------

class CalendarServer:
    """Serves ICS files over HTTP; per file name it can answer 500 or hold the request.

    Tracks how many requests are in flight at once (``peak``) and which were asked for.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.delay = 0.0
        self.failing: set[str] = set()
        self.holding: set[str] = set()
        self.release = threading.Event()
        self.active = 0
        self.peak = 0
        self.requested: list[str] = []
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                name = self.path.rsplit("/", 1)[-1]
                with server._lock:
                    server.active += 1
                    server.peak = max(server.peak, server.active)
                    server.requested.append(name)
                try:
                    if name in server.holding:
                        server.release.wait(120)
                    elif server.delay:
                        time.sleep(server.delay)
                    if name in server.failing:
                        self.send_error(500)
                        return
                    body = (server.root / name).read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/calendar; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                finally:
                    with server._lock:
                        server.active -= 1

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, person: DemoPerson) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/calendars/{person.ics_path.name}"

    def reset(self) -> None:
        with self._lock:
            self.peak = self.active
            self.requested.clear()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def calendar_server(agency: DemoAgency) -> Iterator[CalendarServer]:
    server = CalendarServer(agency.people[0].ics_path.parent)
    yield server
    server.close()


# -- the daemon process --------------------------------------------------------------------

class DaemonProcess:
    """``balanced-calendar run`` with a bound NOTIFY_SOCKET; collects datagrams and output."""

    def __init__(self, config: Path, *, env: dict[str, str] | None = None, watchdog_usec: int | None = None) -> None:
        self.sockdir = tempfile.mkdtemp(prefix="bc-notify-", dir="/tmp")  # sun_path is short
        self.sock_path = os.path.join(self.sockdir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sock_path)
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, dict[str, str]]] = []
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        full_env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC",
                                                                      "WATCHDOG_PID", "JOURNAL_STREAM")}
        full_env["NOTIFY_SOCKET"] = self.sock_path
        if watchdog_usec:
            full_env["WATCHDOG_USEC"] = str(watchdog_usec)
        full_env.update(env or {})
        self._closed = threading.Event()
        self.started = time.monotonic()
        self.proc = subprocess.Popen([str(BIN), "run", "--config", str(config)], cwd=config.parent,
                                     env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._threads = [threading.Thread(target=self._read_notify, daemon=True),
                         threading.Thread(target=self._read_stream, args=(self.proc.stdout, self.stdout), daemon=True),
                         threading.Thread(target=self._read_stream, args=(self.proc.stderr, self.stderr), daemon=True)]
        for thread in self._threads:
            thread.start()

    def _read_notify(self) -> None:
        while not self._closed.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            self.messages.append((time.monotonic(), fields))

    @staticmethod
    def _read_stream(stream, sink: list[str]) -> None:  # type: ignore[no-untyped-def]
        for line in stream:
            sink.append(line.rstrip("\n"))

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return "\n".join(self.stdout + self.stderr)

    def wait_until(self, check: Callable[[], object], timeout: float = 30, what: str = "") -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            if self.proc.poll() is not None:
                time.sleep(0.2)  # let the readers drain
                raise AssertionError(f"daemon exited ({self.proc.returncode}) waiting for {what}:\n{self.output()}")
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}:\n{self.output()}\n{self.messages}")

    def wait_notify(self, check: Callable[[dict[str, str]], bool], *, after: int = 0, timeout: float = 30,
                    what: str = "") -> int:
        """Index of the first datagram at or after ``after`` that satisfies ``check``."""
        def find() -> int | None:
            for i in range(after, len(self.messages)):
                if check(self.messages[i][1]):
                    return i + 1  # truthy even for index 0
            return None
        return int(self.wait_until(find, timeout, what or "a notification")) - 1  # type: ignore[arg-type]

    def log_count(self, text: str) -> int:
        return sum(text in line for line in self.stdout)

    def wait_log(self, text: str, count: int = 1, timeout: float = 30) -> None:
        self.wait_until(lambda: self.log_count(text) >= count, timeout, f"{count}x log {text!r}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 40) -> tuple[int, float]:
        """Send ``sig``; return the exit status and the seconds it took to exit."""
        sent = time.monotonic()
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        return code, time.monotonic() - sent

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for thread in self._threads[1:]:
            thread.join(5)
        self._closed.set()
        self._threads[0].join(1)
        self.sock.close()
        os.unlink(self.sock_path)
        os.rmdir(self.sockdir)


@pytest.fixture
def spawn() -> Iterator[Callable[..., DaemonProcess]]:
    started: list[DaemonProcess] = []

    def start(config: Path, **kwargs: object) -> DaemonProcess:
        daemon = DaemonProcess(config, **kwargs)  # type: ignore[arg-type]
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.close()


def notified(key: str, value: str = "1") -> Callable[[dict[str, str]], bool]:
    return lambda fields: fields.get(key) == value


# -- the process under systemd's eyes -------------------------------------------------------

def test_daemon_notifies_ready_watchdog_progress_reload_and_stopping_with_clean_journald_logs(
        agency: DemoAgency, calendar_server: CalendarServer, spawn: Callable[..., DaemonProcess],
        tmp_path: Path) -> None:
    people = agency.people[:6]
    broken = people[0]
    calendar_server.delay = 1.0  # a sync of the served people takes a few seconds: progress is visible
    calendars = [(broken, str(corrupt(broken, tmp_path / "calendars")))]
    calendars += [(p, calendar_server.url(p)) for p in people[1:4]] + [(p, str(p.ics_path)) for p in people[4:]]
    config = make_org(tmp_path, calendars, workers=2)
    d = spawn(config, env={"JOURNAL_STREAM": "8:424242"}, watchdog_usec=2_000_000)

    # READY=1 comes first, then watchdog pings every half WATCHDOG_USEC, with the sync's progress.
    d.wait_notify(notified("READY"), what="READY=1")
    assert d.messages[0][1].get("READY") == "1"
    done = d.wait_notify(lambda f: "5/6 ok" in f.get("STATUS", ""), timeout=30, what="the sync result in STATUS")
    statuses = [f["STATUS"] for _, f in d.messages[:done + 1] if "STATUS" in f]
    assert any(re.search(r"syncing \d+/6 people", s) for s in statuses), statuses
    assert "1 failed" in d.messages[done][1]["STATUS"]
    d.wait_notify(notified("WATCHDOG"), after=done + 1, what="a watchdog ping after the sync")
    pings = [t for t, f in d.messages if f.get("WATCHDOG") == "1"]
    assert len(pings) >= 3
    assert max(b - a for a, b in zip(pings, pings[1:])) < 1.0 + 0.7  # half of 2 s, plus scheduling slack

    # The failure is recorded on that person only; the others are in the store.
    counts = stored_events(tmp_path / "state")
    assert counts[broken.email] == 0
    assert all(counts[p.email] > 0 for p in people[1:])
    with open_store(tmp_path / "state") as store:
        errors = {p.email: [r.error for r in store.last_runs(p.email) if r.kind == "sync"] for p in people}
    assert "not a date or date-time" in errors[broken.email][0]
    assert all(errors[p.email] == [None] for p in people[1:])

    # SIGHUP with a valid config: RELOADING=1 (with MONOTONIC_USEC), then READY=1, then a sync.
    write_config(config, calendars, workers=3)
    mark = len(d.messages)
    d.proc.send_signal(signal.SIGHUP)
    reloading = d.wait_notify(notified("RELOADING"), after=mark, what="RELOADING=1")
    assert int(d.messages[reloading][1]["MONOTONIC_USEC"]) > 0
    d.wait_notify(notified("READY"), after=reloading, what="READY=1 after the reload")
    d.wait_log("config reloaded")
    d.wait_log("job sync finished", 2)

    # SIGHUP with an invalid config (one problem quotes an address): refused, old config kept.
    write_config(config, calendars, workers=3, extra=(
        '\nsurprise = true\n[[teams]]\nid = "ghosts"\nname = "Ghosts"\n'
        'leaders = ["hantu.rahasia@demo.kemenpan.example"]\n'))
    mark = len(d.messages)
    d.proc.send_signal(signal.SIGHUP)
    reloading = d.wait_notify(notified("RELOADING"), after=mark, what="RELOADING=1 (invalid config)")
    d.wait_notify(notified("READY"), after=reloading, what="READY=1 after a refused reload")
    d.wait_log("reload refused")
    config.unlink()  # a vanished config is refused the same way
    d.proc.send_signal(signal.SIGHUP)
    d.wait_log("reload refused", 2)
    watchdogs = len(pings)
    d.wait_until(lambda: sum(f.get("WATCHDOG") == "1" for _, f in d.messages) >= watchdogs + 2, 10, "more pings")
    assert d.proc.poll() is None
    assert d.log_count("job sync finished") == 2  # no sync was started from the refused configs
    assert d.log_count("config reloaded") == 1

    # SIGTERM: STOPPING=1 and exit 0.
    mark = len(d.messages)
    code, took = d.stop(signal.SIGTERM)
    assert code == 0 and took < 30
    time.sleep(0.2)
    assert any(f.get("STOPPING") == "1" for _, f in d.messages[mark:])
    assert d.log_count("stopped") == 1

    # journald-friendly: every stdout line carries a syslog priority; nothing on stderr.
    assert d.stdout and all(re.match(r"^<[0-7]>", line) for line in d.stdout), d.stdout
    assert any(line.startswith("<4>") and "sync of" in line for line in d.stdout)
    assert any(line.startswith("<3>") and "reload refused" in line for line in d.stdout)
    assert d.stderr == []
    assert_no_personal_data(d.output(), agency, extra=("hantu.rahasia", "Rapat rahasia"))
    assert "VEVENT has DTSTART that is not a date or date-time" in d.output()  # reported; path, UID, value not


def test_sigint_lets_in_flight_syncs_finish_and_leaves_the_rest_for_later(
        agency: DemoAgency, calendar_server: CalendarServer, spawn: Callable[..., DaemonProcess],
        tmp_path: Path) -> None:
    people = agency.people[:6]
    calendar_server.delay = 2.0
    config = make_org(tmp_path, [(p, calendar_server.url(p)) for p in people], workers=2)
    calendar_server.reset()  # enrollment checked each calendar; count the daemon's downloads only
    d = spawn(config)
    d.wait_until(lambda: calendar_server.active == 2, 20, "two downloads in flight")
    code, took = d.stop(signal.SIGINT)

    assert code == 0
    assert took < 10  # the two in-flight downloads finish (2 s), nobody else starts
    assert len(calendar_server.requested) == 2
    counts = stored_events(tmp_path / "state")
    finished = {p.email for p in people if p.ics_path.name in calendar_server.requested}
    assert all(counts[e] > 0 for e in finished)
    assert all(counts[p.email] == 0 for p in people if p.email not in finished)
    assert d.log_count("received SIGINT") == 1
    assert any("4 left for the next sync" in line for line in d.stdout), d.stdout
    assert_no_personal_data(d.output(), agency)
    with open_store(tmp_path / "state") as store:
        assert store.integrity_check() == "ok"


def test_sigterm_abandons_work_that_outlives_the_stop_timeout_and_still_exits_0(
        agency: DemoAgency, calendar_server: CalendarServer, spawn: Callable[..., DaemonProcess],
        tmp_path: Path) -> None:
    people = agency.people[:2]
    config = make_org(tmp_path, [(p, calendar_server.url(p)) for p in people], ics_timeout=100)
    calendar_server.holding = {p.ics_path.name for p in people}  # answers only at teardown
    # 30 s is the contract; the documented override lets this test wait 2 s instead.
    d = spawn(config, env={"BALANCED_CALENDAR_STOP_TIMEOUT": "2"}, watchdog_usec=2_000_000)
    d.wait_until(lambda: calendar_server.active == 2, 20, "two downloads in flight")
    code, took = d.stop(signal.SIGTERM)

    assert code == 0
    assert 1.5 < took < 6  # waited for the stop timeout, then left the stuck downloads behind
    time.sleep(0.2)
    assert any(f.get("STOPPING") == "1" for _, f in d.messages)
    assert d.log_count("abandoned") == 1
    assert_no_personal_data(d.output(), agency)
    assert set(stored_events(tmp_path / "state").values()) == {0}
    with open_store(tmp_path / "state") as store:
        assert store.integrity_check() == "ok"


def test_daemon_waits_for_a_running_cli_sync_but_a_stop_does_not_wait_for_it(
        agency: DemoAgency, spawn: Callable[..., DaemonProcess], tmp_path: Path) -> None:
    config = make_org(tmp_path, [(p, str(p.ics_path)) for p in agency.people[:3]])
    with open_store(tmp_path / "state") as store:
        with store.exclusive("sync"):  # what a `balanced-calendar sync` holds
            d = spawn(config)
            d.wait_log("daemon ready")
            time.sleep(1.5)
            assert d.log_count("synced p-") == 0  # it waits rather than syncing alongside
            code, took = d.stop(signal.SIGTERM)
        assert code == 0 and took < 10  # not held up by the other sync's lock (that would take the 30 s stop timeout)
        assert d.log_count("abandoned") == 0

        with store.exclusive("sync"):
            d = spawn(config)
            d.wait_log("daemon ready")
            time.sleep(1)
        d.wait_log("job sync finished")  # the lock was released: now it syncs
        assert d.log_count("synced p-") == 3
        assert d.stop()[0] == 0


def test_stop_timeout_is_30_s_unless_a_shorter_one_is_asked_for() -> None:
    assert stop_timeout_from({}) == 30
    assert stop_timeout_from({"BALANCED_CALENDAR_STOP_TIMEOUT": "2.5"}) == 2.5
    for bad in ("90", "0", "-1", "soon"):
        assert stop_timeout_from({"BALANCED_CALENDAR_STOP_TIMEOUT": bad}) == 30


def test_worker_pool_and_per_provider_limit_bound_concurrent_downloads_and_sighup_applies_new_limits(
        agency: DemoAgency, calendar_server: CalendarServer, spawn: Callable[..., DaemonProcess],
        tmp_path: Path) -> None:
    people = agency.people[:9]
    calendar_server.delay = 0.4
    calendars = [(p, calendar_server.url(p)) for p in people]
    config = make_org(tmp_path, calendars, workers=4, ics_limit=2)
    calendar_server.reset()  # enrollment checked each calendar; count the daemon's downloads only
    d = spawn(config)
    d.wait_log("job sync finished", timeout=30)
    assert calendar_server.peak == 2  # 4 workers, but at most 2 at the ICS provider
    assert len(calendar_server.requested) == 9

    calendar_server.reset()
    write_config(config, calendars, workers=3, ics_limit=8)
    d.proc.send_signal(signal.SIGHUP)
    d.wait_log("job sync finished", 2, timeout=30)
    assert calendar_server.peak == 3  # now the pool (3 workers) is the bound
    assert len(calendar_server.requested) == 9

    calendar_server.reset()
    write_config(config, calendars, workers=1, ics_limit=1, extra="\n[unknown]\n")
    d.proc.send_signal(signal.SIGHUP)
    d.wait_log("reload refused")
    time.sleep(1.5)
    assert calendar_server.requested == []  # the refused config never ran
    code, _ = d.stop()
    assert code == 0
    assert all(n > 0 for n in stored_events(tmp_path / "state").values())
    assert_no_personal_data(d.output(), agency)


@pytest.mark.parametrize("problem", ["invalid config", "missing vault key"])
def test_an_unusable_config_at_start_exits_2_before_ready(
        problem: str, agency: DemoAgency, spawn: Callable[..., DaemonProcess], tmp_path: Path) -> None:
    config = make_org(tmp_path, [(p, str(p.ics_path)) for p in agency.people[:2]])
    if problem == "invalid config":
        config.write_text(config.read_text() + "\n[service.extra]\nworkers = 0\n")
    else:
        (tmp_path / "vault-key").unlink()
    d = spawn(config, watchdog_usec=2_000_000)
    assert d.proc.wait(20) == 2
    time.sleep(0.3)
    assert d.messages == []  # never READY
    assert "error:" in "\n".join(d.stderr)


# -- the cadence, in-process (one-second jobs; the config's minimum is a minute) -------------

def test_jobs_run_at_start_then_on_their_interval_with_jitter_and_never_overlap() -> None:
    runs: dict[str, list[float]] = {"steady": [], "jittery": [], "slow": []}
    active = {"slow": 0, "peak": 0}
    lock = threading.Lock()
    t0 = time.monotonic()

    def record(name: str) -> Callable[[threading.Event], None]:
        def run(stop: threading.Event) -> None:
            runs[name].append(time.monotonic() - t0)
            if name == "slow":
                with lock:
                    active["slow"] += 1
                    active["peak"] = max(active["peak"], active["slow"])
                stop.wait(2.5)
                with lock:
                    active["slow"] -= 1
        return run

    def jobs(config: str, stop: threading.Event) -> list[JobSpec]:
        return [JobSpec("steady", record("steady"), every_seconds=1, run_at_start=True),
                JobSpec("jittery", record("jittery"), every_seconds=2, jitter_seconds=1, run_at_start=True),
                JobSpec("slow", record("slow"), every_seconds=1, run_at_start=True)]

    daemon: Daemon[str] = Daemon(load=lambda: "config", jobs=jobs, notifier=Notifier({}), tick=0.05,
                                 stop_timeout=5)
    threading.Timer(4.5, daemon.stop_event.set).start()
    assert daemon.run(install_signals=False) == 0

    assert all(r[0] < 0.3 for r in runs.values())  # run at start
    assert 4 <= len(runs["steady"]) <= 6
    gaps = [b - a for a, b in zip(runs["steady"], runs["steady"][1:])]
    assert all(0.9 < g < 1.3 for g in gaps), gaps
    jitter_gaps = [b - a for a, b in zip(runs["jittery"], runs["jittery"][1:])]
    assert jitter_gaps and all(0.9 < g < 3.3 for g in jitter_gaps), jitter_gaps
    assert active["peak"] == 1  # a job still running is skipped, not started twice
    assert len(runs["slow"]) == 2


def test_service_ticks_and_syncs_on_the_configured_interval_with_bounded_jitter(tmp_path: Path) -> None:
    from balanced_calendar.due import Every, JobKind, Subject, due_now

    write_key(tmp_path / "vault-key")
    config_path = write_config(tmp_path / "config.toml", [], interval=1, jitter=120)
    config = load_config(config_path)
    (spec,) = Service(environ={}).jobs(config, threading.Event())
    assert spec.name == "tick" and spec.run_at_start and spec.every_seconds <= 60

    # what the tick enqueues: at start at once, then once per interval, jitter at most half of it
    kind = JobKind("sync", Every(1, 30), lambda subjects, stop: {})
    start = dt.datetime(2026, 12, 14, 1, 0, tzinfo=dt.timezone.utc)
    people = [Subject(f"p-{i:012x}", "Asia/Jakarta") for i in range(40)]
    at_start = due_now(kind, people, start, start, "g1")
    assert {d.due_at for d in at_start} == {start} and len({d.key for d in at_start}) == 40
    seen: dict[str, set[str]] = {p.id: set() for p in people}
    for second in range(0, 300, 5):
        for due in due_now(kind, people, start + dt.timedelta(seconds=second), start, "g1"):
            seen[due.subject].add(due.key)
            offset = (due.due_at - start).total_seconds() % 60
            assert offset <= 30
    assert all(len(keys) in (5, 6) for keys in seen.values())  # one job per minute slot, never more
    offsets = {(due.due_at - start).total_seconds() - 60 for due in due_now(kind, people, start + dt.timedelta(seconds=95), start, "g1")}
    assert len(offsets) > 5  # people are spread over the jitter, not all at once


def test_notifier_reaches_abstract_sockets_and_honours_watchdog_pid() -> None:
    name = f"bc-test-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        notifier = Notifier({"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "2000000",
                             "WATCHDOG_PID": str(os.getpid())})
        notifier.notify(READY=1, STATUS="syncing 1/2 people")
        assert sock.recv(4096) == b"READY=1\nSTATUS=syncing 1/2 people"
    assert notifier.watchdog_seconds == 2.0
    assert Notifier({"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}).watchdog_seconds is None
    Notifier({}).notify(READY=1)  # no systemd: a quiet no-op
