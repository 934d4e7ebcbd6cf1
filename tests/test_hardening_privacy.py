"""Secrets and calendar text never reach logs, ``status`` or the database; pseudonyms cannot be
confirmed with the database file alone. Real CLI processes, a real daemon, a real HTTP server
on 127.0.0.1 and the raw bytes of the SQLite files."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from balanced_calendar.config import load_config
from balanced_calendar.enrollment import EnrollRequest, prepare, record
from balanced_calendar.model import UserError
from balanced_calendar.runtime import open_runtime
from balanced_calendar.store import PersonRecord, open_store
from balanced_calendar.vault import write_key
from connectors.plugin import Enrolled
from test_daemon import DaemonProcess

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLE_ICS = FIXTURES / "cli" / "design_example_overtime_week.ics"
TOKEN = "Zq7SecretTok3nXy9"
RINA = "rina@agency.go.id"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("balanced-calendar")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def raw_db(state: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(state.glob("state.sqlite3*")))


def write_site(tmp: Path, people: str = "") -> Path:
    write_key(tmp / "vault-key")
    config = tmp / "config.toml"
    config.write_text('[service]\nstate_dir = "state"\nvault_key_file = "vault-key"\ntimezone = "Asia/Jakarta"\n'
                      'sync_past_weeks = 520\nsync_future_weeks = 520\nlog_level = "debug"\n'
                      'sync_interval_minutes = 60\n' + people)
    return config


class NextcloudLike:
    """Serves the example calendar at a Nextcloud public-link path; ``status`` can turn it 404."""

    def __init__(self) -> None:
        self.status = 200
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if server.status != 200 or TOKEN not in self.path:
                    self.send_error(404)
                    return
                body = EXAMPLE_ICS.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/remote.php/dav/public-calendars/{TOKEN}?export"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def nextcloud() -> Iterator[NextcloudLike]:
    server = NextcloudLike()
    yield server
    server.close()


def test_a_token_in_the_last_path_segment_of_a_calendar_url_leaks_nowhere(tmp_path: Path,
                                                                          nextcloud: NextcloudLike) -> None:
    config = str(write_site(tmp_path))
    outputs = []
    proc = cli("-vv", "enroll", "--config", config, "--provider", "ics", "--email", RINA,
               "--calendar", nextcloud.url, "--yes")
    assert proc.returncode == 0, proc.stderr
    outputs.append(proc)
    nextcloud.status = 404
    failed = cli("-vv", "sync", "--config", config)
    assert failed.returncode == 1 and "HTTP 404" in failed.stdout
    status = cli("status", "--config", config)
    assert "HTTP 404" in status.stdout
    d = DaemonProcess(tmp_path / "config.toml")
    try:
        d.wait_log("job sync finished", timeout=30)
        assert d.stop(signal.SIGTERM)[0] == 0
    finally:
        d.close()
    nextcloud.status = 200
    ok = cli("-vv", "sync", "--config", config)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    outputs += [failed, status, ok, cli("people", "--config", config), cli("status", "--config", config),
                cli("config", "check", "--config", config)]
    text = "\n".join(p.stdout + p.stderr for p in outputs) + d.output()
    assert "sync of" in d.output() and "HTTP 404" in d.output()
    for secret in (TOKEN, "public-calendars", "remote.php", "export"):
        assert secret not in text, secret
        assert secret.encode() not in raw_db(tmp_path / "state"), secret


CANARY_CALENDARS = {
    "uid-and-value.ics": ("BEGIN:VEVENT\r\nUID:CANARY Layoffs planning\r\nDTSTART:Secret-Merger-Talk\r\n"
                          "DTEND:20261214T100000Z\r\nSUMMARY:x\r\nEND:VEVENT\r\n", "DTSTART"),
    "tzid.ics": ("BEGIN:VEVENT\r\nUID:CANARY Apollo uid\r\nDTSTART;TZID=Project Apollo:20261214T090000\r\n"
                 "DTEND;TZID=Project Apollo:20261214T100000\r\nSUMMARY:x\r\nEND:VEVENT\r\n", "time zone"),
    "xwr.ics": ("X-WR-TIMEZONE:Canary Gamma Zone\r\nBEGIN:VEVENT\r\nUID:ok-1\r\nDTSTART:20261214T090000\r\n"
                "DTEND:20261214T100000\r\nEND:VEVENT\r\n", "X-WR-TIMEZONE"),
}
CANARIES = ("CANARY", "Layoffs", "Secret-Merger-Talk", "Project Apollo", "Apollo", "Canary Gamma", "Gamma")


def test_calendar_text_in_parse_errors_reaches_no_log_status_or_database(tmp_path: Path) -> None:
    people = ""
    for i, (name, (body, _)) in enumerate(CANARY_CALENDARS.items()):
        path = tmp_path / name
        path.write_text(f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n{body}END:VCALENDAR\r\n")
        people += f'\n[[people]]\nemail = "p{i}@agency.go.id"\nconnector = "ics"\ncalendar = "{path}"\n'
    config = write_site(tmp_path, people)
    with open_runtime(load_config(config), environ={}) as rt:
        for i in range(len(CANARY_CALENDARS)):  # these files cannot parse: record the enrollment directly
            prepared = prepare(rt, EnrollRequest(email=f"p{i}@agency.go.id", provider="ics"))
            record(rt, prepared, Enrolled(calendar=str(prepared.flow.calendar), secret={}, scopes=()))
    sync = cli("-vv", "sync", "--config", str(config))
    assert sync.returncode == 1
    status = cli("status", "--config", str(config))
    d = DaemonProcess(config)
    try:
        d.wait_log("job sync finished", timeout=30)
        assert d.stop(signal.SIGTERM)[0] == 0
    finally:
        d.close()
    text = sync.stdout + sync.stderr + status.stdout + status.stderr + d.output()
    with sqlite3.connect(tmp_path / "state" / "state.sqlite3") as db:
        errors = [e for (e,) in db.execute("SELECT error FROM runs")] + \
                 [e for (e,) in db.execute("SELECT last_error FROM sync_state")]
    assert len([e for e in errors if e]) >= 2 * len(CANARY_CALENDARS), errors
    for canary in CANARIES:
        assert canary not in text, canary
        assert canary.encode() not in raw_db(tmp_path / "state"), canary
    for _, prop in CANARY_CALENDARS.values():
        assert any("line " in e and prop in e for e in errors if e), (prop, errors)
        assert prop in status.stdout, (prop, status.stdout)


def test_the_database_file_alone_cannot_confirm_an_address(tmp_path: Path) -> None:
    config = write_site(tmp_path, f'\n[[people]]\nemail = "{RINA}"\nconnector = "ics"\ncalendar = "{EXAMPLE_ICS}"\n')
    assert cli("enroll", "--config", str(config), "--provider", "ics", "--email", RINA, "--yes").returncode == 0
    assert cli("sync", "--config", str(config)).returncode == 0
    with open_runtime(load_config(config), environ={}) as rt:
        pseudonym = rt.store.get_person(RINA).pseudonym
    with open_runtime(load_config(config), environ={}) as rt:  # same key: same pseudonym after reopening
        assert rt.store.pseudonym(RINA) == pseudonym == rt.store.get_person(RINA).pseudonym
    assert cli("unenroll", "--config", str(config), "--email", RINA).returncode == 0
    with sqlite3.connect(tmp_path / "state" / "state.sqlite3") as db:
        values = [bytes(v) for (v,) in db.execute("SELECT value FROM meta")]
        logged = [p for (p,) in db.execute("SELECT pseudonym FROM erasure_log")]
    assert logged == [pseudonym]
    for value in values:  # no value in the file is a key that confirms the address
        digest = hmac.new(value, RINA.encode(), hashlib.sha256).hexdigest()
        assert "p-" + digest[:12] != pseudonym
    # another vault key is refused before anything is read or written
    before = raw_db(tmp_path / "state")
    os.unlink(tmp_path / "vault-key")
    write_key(tmp_path / "vault-key")
    with pytest.raises(UserError, match="vault key"):
        open_runtime(load_config(config), environ={})
    assert raw_db(tmp_path / "state") == before


def test_a_store_whose_key_was_in_the_file_is_re_keyed_and_keeps_its_people(tmp_path: Path) -> None:
    config = write_site(tmp_path, f'\n[[people]]\nemail = "{RINA}"\nconnector = "ics"\ncalendar = "{EXAMPLE_ICS}"\n')
    with open_store(tmp_path / "state") as legacy:  # a keyless open: the key lives in meta, as before
        legacy.upsert_person(PersonRecord(email=RINA, connector="ics", calendar="ics"))
        old = legacy.get_person(RINA).pseudonym
        legacy.erase_person(RINA, "consent_withdrawn")
        legacy.upsert_person(PersonRecord(email=RINA, connector="ics", calendar="ics"))
    with sqlite3.connect(tmp_path / "state" / "state.sqlite3") as db:
        (secret,) = db.execute("SELECT value FROM meta WHERE key = 'store.secret'").fetchone()
    with open_runtime(load_config(config), environ={}) as rt:
        new = rt.store.get_person(RINA).pseudonym
        assert new != old and new == rt.store.pseudonym(RINA)
        assert [r.pseudonym for r in rt.store.erasure_log()] == [old]  # cannot be recomputed: kept
    assert bytes(secret) not in raw_db(tmp_path / "state")
    assert cli("sync", "--config", str(config)).returncode == 0
