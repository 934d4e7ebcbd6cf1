"""Digest delivery through the outbox to a REAL SMTP server (aiosmtpd on 127.0.0.1, STARTTLS with a
certificate made in the test, AUTH): delivered once, retried while the server is down, a 5xx
recorded and never retried, and the Maildir default."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
from pathlib import Path

import pytest
from digest_helpers import MONDAY_7, RINA, enroll_site, write_site
from smtp_server import PASSWORD, USER, SmtpServer, free_port, make_pki

from balanced_calendar.config import load_config
from balanced_calendar.digest.queue import queue_digest
from balanced_calendar.mail.outbox import deliver_pending, envelope_sender, transport_from
from balanced_calendar.runtime import open_runtime


@pytest.fixture(scope="module")
def pki(tmp_path_factory):  # type: ignore[no-untyped-def]
    return make_pki(tmp_path_factory.mktemp("pki"))


def smtp_site(tmp: Path, pki, port: int, *, ca: bool = True, people=(RINA,)) -> Path:  # type: ignore[no-untyped-def]
    password = tmp / "smtp-password"
    tmp.mkdir(parents=True, exist_ok=True)
    password.write_text(PASSWORD + "\n")
    os.chmod(password, 0o600)
    mail = (f'transport = "smtp"\nhost = "127.0.0.1"\nport = {port}\nsecurity = "starttls"\n'
            f'username = "{USER}"\npassword_file = "{password}"\nfrom = "Balanced Calendar <bc@agency.go.id>"\n'
            f'timeout = 5\nunsubscribe_url = "https://calendar.agency.go.id/unsubscribe"\n'
            + (f'ca_file = "{pki.ca}"\n' if ca else ""))
    path = write_site(tmp, mail, people)
    enroll_site(path)
    return path


def send_week(config_path: Path, now: dt.datetime = MONDAY_7, email_: str = RINA):  # type: ignore[no-untyped-def]
    with open_runtime(load_config(config_path), environ={}, clock=lambda: now) as rt:
        key, _new = queue_digest(rt, rt.store.get_person(email_), 2026, 51)
        report = deliver_pending(rt.store, transport_from(rt.config.mail), envelope_sender(rt.config.mail), now)
        return key, report, rt.store.outbox_message(key)


def test_delivered_once_over_starttls_with_auth(tmp_path, pki):
    port = free_port()
    path = smtp_site(tmp_path, pki, port)
    with SmtpServer(pki, port) as server:
        key, report, stored = send_week(path)
        assert report.sent == [key] and stored.sent_at == MONDAY_7
        # asking again (a second run, a restart) sends nothing more
        _key, again, _ = send_week(path, MONDAY_7 + dt.timedelta(minutes=5))
        assert again.sent == []
    assert len(server.received) == 1
    got = server.received[0]
    assert got.tls and got.recipients == [RINA] and got.sender == "bc@agency.go.id"
    msg = email.message_from_bytes(got.data, policy=email.policy.default)
    assert msg["Subject"].startswith("Keseimbangan minggu 2026-W51")
    assert [p.get_content_type() for p in msg.walk()][-1] == "image/png"


def test_server_down_then_up_queued_and_delivered_once(tmp_path, pki):
    port = free_port()
    path = smtp_site(tmp_path, pki, port)
    key, report, stored = send_week(path)  # nothing listens on the port
    assert key in report.retry and stored.sent_at is None and stored.attempts == 1
    assert stored.next_attempt == MONDAY_7 + dt.timedelta(minutes=1)
    with SmtpServer(pki, port) as server:
        # before the backoff ends nothing is tried
        _k, early, _ = send_week(path, MONDAY_7 + dt.timedelta(seconds=30))
        assert early.sent == [] and early.retry == {}
        _k, later, stored = send_week(path, MONDAY_7 + dt.timedelta(minutes=2))
        assert later.sent == [key] and stored.sent_at is not None
        send_week(path, MONDAY_7 + dt.timedelta(minutes=30))
    assert len(server.received) == 1


def test_a_5xx_rejection_is_recorded_and_never_retried(tmp_path, pki):
    port = free_port()
    path = smtp_site(tmp_path, pki, port, people=("bounce@agency.go.id",))
    with SmtpServer(pki, port) as server:
        key, report, stored = send_week(path, email_="bounce@agency.go.id")
        assert report.given_up == {key: "recipient refused (550)"}
        assert stored.sent_at is None and stored.next_attempt is None and stored.last_error == "recipient refused (550)"
        _k, again, _ = send_week(path, MONDAY_7 + dt.timedelta(days=1), email_="bounce@agency.go.id")
        assert again.sent == [] and again.retry == {} and again.given_up == {}
    assert server.received == []


def test_an_untrusted_certificate_is_refused_and_kept_for_retry(tmp_path, pki):
    port = free_port()
    path = smtp_site(tmp_path, pki, port, ca=False)  # no ca_file: the private CA is not trusted
    with SmtpServer(pki, port) as server:
        key, report, stored = send_week(path)
    assert "certificate is not trusted" in report.retry[key] and stored.sent_at is None
    assert server.received == []


def test_maildir_is_the_default_and_delivers_once(tmp_path):
    path = write_site(tmp_path)
    enroll_site(path)
    key, report, stored = send_week(path)
    send_week(path, MONDAY_7 + dt.timedelta(hours=1))
    files = list((tmp_path / "state" / "outbox-maildir" / "new").iterdir())
    assert report.sent == [key] and len(files) == 1
    msg = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert msg["To"] == RINA and oct(files[0].stat().st_mode & 0o777) == "0o600"
