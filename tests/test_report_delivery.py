"""The daemon's report job: Monday 08:00 in the team's zone, the week before, once per leader,
through the outbox (a Maildir here), in the leader's language, the report attached."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import threading
from pathlib import Path

from report_helpers import MONDAY_8, address, enroll_and_audit, write_site

from balanced_calendar.config import load_config
from balanced_calendar.due import JobRunner
from balanced_calendar.report.jobs import report_kind, report_subjects
from balanced_calendar.runtime import open_runtime


def tick(path: Path, now: dt.datetime, worker: str = "test:0") -> int:
    """One service tick of the report job (a fresh runner: as after a restart); returns jobs enqueued."""
    config = load_config(path)
    with open_runtime(config, environ={}, clock=lambda: now) as rt:
        runner = JobRunner(store=rt.store, kinds=[report_kind(config, {}, lambda: now)],
                           subjects=lambda _k: report_subjects(config), clock=lambda: now, worker=worker,
                           generation=now, generation_id=worker)
        enqueued = runner.enqueue_due()
        runner.run_due(threading.Event())
    return enqueued


def mails(tmp: Path) -> list[email.message.EmailMessage]:
    folder = tmp / "outbox" / "new"
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(folder.iterdir())] if folder.exists() else []


def test_leaders_get_the_report_monday_0800_in_the_teams_zone_exactly_once(tmp_path):
    path = write_site(tmp_path, {"ops": 6})
    enroll_and_audit(path)
    assert tick(path, MONDAY_8 - dt.timedelta(minutes=1)) == 0  # 07:59 WIB: not yet
    assert mails(tmp_path) == []
    assert tick(path, MONDAY_8) == 1
    assert tick(path, MONDAY_8 + dt.timedelta(minutes=5), worker="test:1") == 0  # a restart: no second job
    sent = mails(tmp_path)
    assert [m["To"] for m in sent] == [address("ops", 0)]
    msg = sent[0]
    assert msg["Subject"] == "Team report Team ops, week 2026-W45"
    assert "6 contributing members" in msg.get_body(("plain",)).get_content()
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == "team-ops-2026-W45.en.html"
    html = attachment.get_content()
    assert "Team workload report: Team ops" in html and address("ops", 1) not in html


def test_a_team_in_wit_gets_its_report_at_0800_wit(tmp_path):
    path = write_site(tmp_path, {"papua": 5}, zone="Asia/Jayapura")
    enroll_and_audit(path)
    eight_wit = dt.datetime(2026, 11, 8, 23, 0, tzinfo=dt.timezone.utc)  # Monday 08:00 WIT = Sunday 23:00 UTC
    assert tick(path, eight_wit - dt.timedelta(minutes=1)) == 0
    assert tick(path, eight_wit) == 1
    assert len(mails(tmp_path)) == 1


def test_a_withheld_report_still_tells_the_leader_why(tmp_path):
    path = write_site(tmp_path, {"tiny": 3})
    enroll_and_audit(path)
    tick(path, MONDAY_8)
    [msg] = mails(tmp_path)
    body = msg.get_body(("plain",)).get_content()
    assert "This report is withheld." in body and "Fewer than 5 members" in body
