"""`balanced-calendar digest` and `people --digest` as an operator runs them, and the daemon's
digest job (Monday 07:00 local, exactly once across a restart, never for the unsubscribed)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from digest_helpers import MONDAY_7, RINA, enroll_site, leave_week, write_site
from smtp_server import SmtpServer, free_port, make_pki
from test_digest_delivery import smtp_site

from balanced_calendar.config import load_config
from balanced_calendar.digest.jobs import digest_kind, digest_subjects
from balanced_calendar.due import JobRunner
from balanced_calendar.runtime import open_runtime


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("balanced-calendar")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120, env=dict(os.environ))


@pytest.fixture(scope="module")
def pki(tmp_path_factory):  # type: ignore[no-untyped-def]
    return make_pki(tmp_path_factory.mktemp("pki"))


def test_preview_writes_html_and_bad_week_is_a_user_error(tmp_path):
    path = write_site(tmp_path)
    enroll_site(path)
    out = cli("digest", "--config", str(path), "--person", RINA, "--week", "2026-W51", "--lang", "en",
              "--preview", str(tmp_path / "preview"))
    assert out.returncode == 0, out.stderr
    written = Path(out.stdout.split("wrote ", 1)[1].strip())
    assert written.parent == tmp_path / "preview" and "Your week 2026-W51" in written.read_text()
    bad = cli("digest", "--config", str(path), "--person", RINA, "--week", "2026-51")
    assert bad.returncode == 2 and "not an ISO week" in bad.stderr and "2026-W51" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_send_while_the_server_is_down_queues_then_delivers_once(tmp_path, pki):
    port = free_port()
    path = smtp_site(tmp_path, pki, port)
    args = ("digest", "--config", str(path), "--person", RINA, "--week", "2026-W51", "--send")
    down = cli(*args)
    assert down.returncode == 75 and "queued" in down.stdout
    error = down.stdout.split("queued the digest ", 1)[1].split(": ", 1)[1].split("; it will be", 1)[0]
    assert error  # why it is queued (the server could not be reached)
    status = cli("status", "--config", str(path))
    assert status.returncode == 0, status.stderr
    row = status_row(status.stdout)
    assert f"digest 2026-W51 queued: {error}" in row and RINA not in row
    with SmtpServer(pki, port) as server:
        up = cli(*args)
        assert up.returncode == 0 and "sent the digest" in up.stdout
        again = cli(*args)
        assert again.returncode == 0 and "already sent" in again.stdout
    assert len(server.received) == 1
    after = cli("status", "--config", str(path))
    assert after.returncode == 0 and "digest 2026-W51" not in status_row(after.stdout)  # delivered: no problem


def status_row(stdout: str) -> str:
    """The one person's row of ``status`` (header first)."""
    lines = [line for line in stdout.splitlines() if line.startswith("p-")]
    assert len(lines) == 1, stdout
    return lines[0]


def test_status_shows_a_digest_the_server_refused_after_send(tmp_path, pki):
    port = free_port()
    path = smtp_site(tmp_path, pki, port, people=("bounce@agency.go.id",))
    with SmtpServer(pki, port) as server:
        refused = cli("digest", "--config", str(path), "--person", "bounce@agency.go.id", "--week", "2026-W51",
                      "--send")
        assert refused.returncode == 1 and "refused the digest" in refused.stdout
    assert server.received == []
    status = cli("status", "--config", str(path))
    assert status.returncode == 0, status.stderr
    assert "digest 2026-W51 refused: recipient refused (550)" in status_row(status.stdout)


def test_unsubscribed_person_gets_nothing(tmp_path, pki):
    port = free_port()
    path = smtp_site(tmp_path, pki, port)
    off = cli("people", "--config", str(path), "--person", RINA, "--digest", "off")
    assert off.returncode == 0 and "digest off" in off.stdout
    listing = cli("people", "--config", str(path))
    assert listing.stdout.splitlines()[1].split()[5] == "no"
    with SmtpServer(pki, port) as server:
        refused = cli("digest", "--config", str(path), "--person", RINA, "--week", "2026-W51", "--send")
        assert refused.returncode == 2 and "does not receive digests" in refused.stderr
        assert run_daemon_ticks(path, MONDAY_7) == 0
    assert server.received == []


def run_daemon_ticks(path: Path, now: dt.datetime, instances: int = 1) -> int:
    """Run the digest job as ``instances`` successive daemon starts would; returns jobs enqueued."""
    config = load_config(path)
    enqueued = 0
    for i in range(instances):
        with open_runtime(config, environ={}, clock=lambda: now) as rt:
            kind = digest_kind(config, {}, lambda: now)
            runner = JobRunner(store=rt.store, kinds=[kind], subjects=lambda _k: digest_subjects(rt),
                               clock=lambda: now, worker=f"test:{i}", generation=now, generation_id=f"g{i}")
            enqueued += runner.enqueue_due()
            runner.run_due(threading.Event())
    return enqueued


def maildir_files(tmp: Path) -> list[Path]:
    folder = tmp / "state" / "outbox-maildir" / "new"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_daemon_sends_monday_0700_local_exactly_once_across_restarts(tmp_path):
    path = write_site(tmp_path)
    enroll_site(path)
    assert run_daemon_ticks(path, MONDAY_7 - dt.timedelta(minutes=1)) == 0  # 06:59 WIB: not yet
    assert maildir_files(tmp_path) == []
    assert run_daemon_ticks(path, MONDAY_7 + dt.timedelta(minutes=5), instances=3) == 1
    files = maildir_files(tmp_path)
    assert len(files) == 1 and b"2026-W51" in files[0].read_bytes()
    # a restart on Tuesday (catch-up window) still sends nothing more
    run_daemon_ticks(path, MONDAY_7 + dt.timedelta(days=1))
    assert len(maildir_files(tmp_path)) == 1


def test_never_on_a_weekend_and_not_for_a_week_on_leave(tmp_path):
    path = write_site(tmp_path)
    enroll_site(path)
    saturday = MONDAY_7 + dt.timedelta(days=5)
    run_daemon_ticks(path, saturday)
    assert maildir_files(tmp_path) == []  # the week's digest was not sent Monday: dropped, not sent Saturday
    leave = write_site(tmp_path / "leave")
    enroll_site(leave)
    with open_runtime(load_config(leave), environ={}, clock=lambda: MONDAY_7) as rt:
        from balanced_calendar.engine import audit_events

        rt.store.save_audit(RINA, audit_events(leave_week(), rt.policy, zone="Asia/Jakarta",
                                               start=dt.date(2026, 12, 14), end=dt.date(2026, 12, 20), person=RINA))
    assert run_daemon_ticks(leave, MONDAY_7 + dt.timedelta(minutes=1)) == 1  # the job ran …
    assert maildir_files(tmp_path / "leave") == []  # … and sent nothing
