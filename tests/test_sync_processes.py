"""Parsing ICS calendars in worker processes gives the same store as in-process parsing,
reports one person's broken file like the thread path does, and leaves no process behind
when the sync is killed."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from balanced_calendar.config import load_config
from balanced_calendar.demo.agency import generate_agency
from balanced_calendar.demo.pipeline import write_config
from balanced_calendar.enrollment import EnrollRequest, enroll
from balanced_calendar.runtime import open_runtime
from balanced_calendar.sync import sync_all
from balanced_calendar.timezones import load_zone
from balanced_calendar.vault import write_key


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("org")
    agency = generate_agency(out, weeks=3, people=8)
    write_config(agency, out, 3)
    write_key(out / "vault-key")
    return out


def _sync(org: Path, state: str, processes: bool) -> dict[str, tuple[int, list[dict]]]:
    config_text = (org / "config.toml").read_text().replace('state_dir = "state"', f'state_dir = "{state}"')
    path = org / f"{state}.toml"
    path.write_text(config_text)
    config = load_config(path)
    now = dt.datetime(2026, 3, 2, 6, tzinfo=load_zone("Asia/Jakarta"))
    with open_runtime(config, environ={}, clock=lambda: now) as rt:
        for person in config.people:
            enroll(rt, EnrollRequest(email=person.email, provider="ics"))
        report = sync_all(rt, processes=processes)
        assert not report.failed, report.describe()
        return {p.email: (next(r.events for r in report.results if r.pseudonym == p.pseudonym),
                          rt.store.load_audit_days(p.email, dt.date(2026, 2, 9), dt.date(2026, 3, 1)))
                for p in rt.store.list_people()}


def test_worker_processes_store_exactly_what_threads_store(org):
    assert _sync(org, "state-processes", True) == _sync(org, "state-threads", False)


def test_a_broken_calendar_fails_alone_in_a_worker_process(org):
    broken = sorted((org / "ics").glob("*.ics"))[0]
    saved = broken.read_bytes()
    broken.write_text("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nDTSTART:nonsense\nEND:VEVENT\nEND:VCALENDAR\n")
    try:
        config_text = (org / "config.toml").read_text().replace('state_dir = "state"', 'state_dir = "state-broken"')
        (org / "broken.toml").write_text(config_text)
        config = load_config(org / "broken.toml")
        now = dt.datetime(2026, 3, 2, 6, tzinfo=load_zone("Asia/Jakarta"))
        with open_runtime(config, environ={}, clock=lambda: now) as rt:
            for person in config.people:
                enroll(rt, EnrollRequest(email=person.email, provider="ics"))
            report = sync_all(rt, processes=True)
        assert len(report.failed) == 1 and len(report.results) == 8
        assert "line 4" in report.failed[0].error and "not a date" in report.failed[0].error
        assert broken.stem not in report.failed[0].error  # the person's file name is scrubbed
    finally:
        broken.write_bytes(saved)


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def test_kill_9_of_a_sync_leaves_no_worker_process(org, tmp_path):
    script = tmp_path / "slow_sync.py"
    script.write_text(f'''
import datetime as dt, time
from pathlib import Path
from balanced_calendar.config import load_config
from balanced_calendar.enrollment import EnrollRequest, enroll
from balanced_calendar.runtime import open_runtime
from balanced_calendar.sync import sync_all
import balanced_calendar.sync as s
config = load_config(Path({str(org / "config.toml")!r}))
with open_runtime(config, environ={{}}) as rt:
    for person in config.people:
        enroll(rt, EnrollRequest(email=person.email, provider="ics"))
    print("started", flush=True)
    while True:
        sync_all(rt, processes=True)
''')
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "started"
        deadline = time.monotonic() + 30
        while len(_children(proc.pid)) < 3 and time.monotonic() < deadline:  # tracker + 2 workers
            time.sleep(0.05)
        kids = _children(proc.pid)
        assert len(kids) >= 3
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{k}").exists() and "Z" not in (Path(f"/proc/{k}/stat").read_text().split(")")[1][:3])
              for k in kids) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [k for k in kids if Path(f"/proc/{k}").exists()
             and (Path(f"/proc/{k}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z")]
    assert alive == [], "worker processes outlived a killed sync"
