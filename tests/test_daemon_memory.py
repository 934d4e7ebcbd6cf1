"""The daemon's memory returns to its idle size after a big sync, the weekly digests
and the team reports.

A service that runs for months must not keep what one big calendar or one Monday's digests
took: ICS calendars are parsed in worker processes that end with the sync, and digests are
composed and rendered (matplotlib) in a child process that exits, and so are team reports.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path

from balanced_calendar.demo.agency import generate_agency
from balanced_calendar.demo.pipeline import write_config
from balanced_calendar.vault import write_key
from bench.bench_big_ics import write_calendar
from tests.test_daemon import BIN, notified, spawn  # noqa: F401 - the spawn fixture

#: how far above its READY size the idle daemon may stay after the work
LIMIT_MB = 30


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def test_idle_rss_after_a_15000_event_sync_and_the_digests_stays_within_30_mb(tmp_path, spawn):  # noqa: F811
    agency = generate_agency(tmp_path, weeks=2, people=3)
    config = write_config(agency, tmp_path, 2)
    # a window that holds the whole big calendar (2025-01 on), so every event is stored
    config.write_text(config.read_text().replace("sync_past_weeks = 2", "sync_past_weeks = 100")
                      .replace("sync_future_weeks = 0", "sync_future_weeks = 60"))
    write_key(tmp_path / "vault-key")
    write_calendar(sorted((tmp_path / "ics").glob("*.ics"))[0], 15_000 * 556 / 1e6)
    for person in agency.people:
        subprocess.run([str(BIN), "enroll", "--config", str(config), "--provider", "ics", "--email", person.email,
                        "--yes"], check=True, capture_output=True)

    daemon = spawn(config)
    daemon.wait_notify(notified("READY"), what="READY")
    ready = _rss_mb(daemon.pid)
    daemon.wait_log("job digest finished", timeout=60)
    daemon.wait_log("job report finished", timeout=60)
    daemon.wait_log("job sync finished", timeout=120)
    time.sleep(2)
    after = _rss_mb(daemon.pid)

    with sqlite3.connect(tmp_path / "state" / "state.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] > 15_000
    mails = [path.read_bytes() for path in (tmp_path / "outbox" / "new").iterdir()]
    assert sum(b"digest" in mail.lower() for mail in mails) >= 3  # the digests went out
    assert after - ready < LIMIT_MB, f"idle RSS {ready:.0f} MB at READY, {after:.0f} MB after the work"
