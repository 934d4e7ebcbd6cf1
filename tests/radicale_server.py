"""A real Radicale CalDAV server for the tests: one per test session, on 127.0.0.1.

Radicale runs as a subprocess (``python -m radicale``) with a generated config: htpasswd
authentication (plain passwords, re-read on every login, so each test adds its own user),
``owner_only`` rights and a storage folder under a temp dir. Each test gets a fresh user
with an empty calendar (:meth:`RadicaleServer.new_calendar`). :class:`Calendar` edits it the
way another client (the owner's calendar app) would: plain HTTP PUT/DELETE, no code of the
connector under test. If the server cannot start, the test fails loudly.

:class:`Throttle` is a small loopback proxy in front of the server that answers the first
requests of a path with 429/503 and ``Retry-After``, as a busy Zimbra or Nextcloud would.
"""

from __future__ import annotations

import base64
import http.client
import http.server
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

_counter = itertools.count()
PASSWORD = "radicale-Secret-7"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Calendar:
    """One user's calendar on the server, edited over plain HTTP."""

    url: str  # ends with "/"
    username: str
    password: str

    def _request(self, method: str, url: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        request = urllib.request.Request(url, data=body, method=method,
                                         headers={"Authorization": f"Basic {token}", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def put(self, name: str, ics: str) -> str:
        """Store ``ics`` as resource ``name`` (create or replace); returns its new etag."""
        status, headers, _ = self._request("PUT", self.url + name, ics.encode(),
                                           {"Content-Type": "text/calendar; charset=utf-8"})
        assert status in (201, 204), status
        return headers.get("ETag", "")

    def get(self, name: str) -> str | None:
        status, _, body = self._request("GET", self.url + name)
        return body.decode() if status == 200 else None

    def delete(self, name: str) -> None:
        status, _, _ = self._request("DELETE", self.url + name)
        assert status in (200, 204, 404), status

    def set_zone(self, tzid: str) -> None:
        """Set the collection's ``calendar-timezone`` (as Zimbra and Nextcloud clients do)."""
        vtimezone = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VTIMEZONE\r\n"
                     f"TZID:{tzid}\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0700\r\nTZOFFSETTO:+0700\r\n"
                     "DTSTART:19700101T000000\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n")
        body = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
                f"<D:set><D:prop><C:calendar-timezone>{vtimezone}</C:calendar-timezone></D:prop></D:set>"
                "</D:propertyupdate>").encode()
        status, _, _ = self._request("PROPPATCH", self.url, body)
        assert status == 207, status

    def names(self) -> list[str]:
        """The resource names in the calendar (a Depth 1 PROPFIND)."""
        status, _, body = self._request("PROPFIND", self.url, b'<?xml version="1.0"?><propfind xmlns="DAV:">'
                                        b"<prop><getetag/></prop></propfind>", {"Depth": "1"})
        assert status == 207, status
        import re

        hrefs = re.findall(r"<[^>]*href>([^<]+)</", body.decode())
        return sorted(h.rstrip("/").rsplit("/", 1)[-1] for h in hrefs if not h.endswith("/"))


class RadicaleServer:
    """``rights``: Radicale's rights backend (``owner_only``; ``authenticated`` lets a service
    account read everyone's calendars); ``log_level = "info"`` logs every request, which
    :meth:`requests_served` counts."""

    def __init__(self, *, rights: str = "owner_only", log_level: str = "warning") -> None:
        self.root = Path(tempfile.mkdtemp(prefix="bc-radicale-"))
        self.users = self.root / "users"
        self.users.write_text("")
        self.port = free_port()
        config = self.root / "config"
        config.write_text(f"""
[server]
hosts = 127.0.0.1:{self.port}
max_connections = 20
[auth]
type = htpasswd
htpasswd_filename = {self.users}
htpasswd_encryption = plain
delay = 0.01
[rights]
type = {rights}
[storage]
filesystem_folder = {self.root / 'collections'}
[logging]
level = {log_level}
mask_passwords = True
""")
        self.log = (self.root / "log").open("wb")
        self.process = subprocess.Popen([sys.executable, "-m", "radicale", "--config", str(config)],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    text = (self.root / "log").read_text(errors="replace")[-2000:]
                    self.close()
                    raise RuntimeError("Radicale did not start: " + text)
                time.sleep(0.05)

    def requests_served(self) -> int:
        """HTTP requests the server logged so far (with ``log_level = "info"``)."""
        self.log.flush()
        return (self.root / "log").read_text(errors="replace").count(" request for ")

    def add_user(self, username: str, password: str = PASSWORD) -> None:
        with self.users.open("a") as f:
            f.write(f"{username}:{password}\n")

    def new_calendar(self, username: str | None = None, name: str = "calendar") -> Calendar:
        """A fresh user (unless given) with an empty calendar collection."""
        if username is None:
            username = f"user{os.getpid()}-{next(_counter)}@agency.go.id"
            self.add_user(username)
        calendar = Calendar(f"{self.url}/{username}/{name}/", username, PASSWORD)
        body = ('<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
                "<D:set><D:prop><C:supported-calendar-component-set><C:comp name=\"VEVENT\"/>"
                "</C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>").encode()
        status, _, text = calendar._request("MKCALENDAR", calendar.url, body)
        assert status == 201, (status, text[:300])
        return calendar

    def expire_sync_tokens(self, calendar: Calendar) -> None:
        """Forget every sync token of ``calendar``: older tokens are now refused (403)."""
        path = urllib.parse.urlsplit(calendar.url).path.strip("/")
        folder = self.root / "collections" / "collection-root" / urllib.parse.unquote(path)
        assert folder.is_dir(), folder
        shutil.rmtree(folder / ".Radicale.cache" / "sync-token", ignore_errors=True)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def radicale() -> Iterator[RadicaleServer]:
    """The session's Radicale server (fails the test, never skips, if it cannot start)."""
    server = RadicaleServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def calendar(radicale: RadicaleServer) -> Calendar:
    """A fresh user with an empty calendar on the session's server."""
    return radicale.new_calendar()


class Throttle:
    """A loopback HTTP proxy to ``target`` that answers the first ``count`` requests with
    ``status`` and ``Retry-After: retry_after`` (no header when ``None``), then forwards."""

    def __init__(self, target: str, *, status: int = 429, count: int = 1, retry_after: str | None = "1") -> None:
        self.target = target.rstrip("/")
        self.status, self.left, self.retry_after = status, count, retry_after
        self.seen = 0
        throttle = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                throttle.seen += 1
                if throttle.left > 0:
                    throttle.left -= 1
                    self.send_response(throttle.status)
                    if throttle.retry_after is not None:
                        self.send_header("Retry-After", throttle.retry_after)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                host, port = throttle.target.split("//")[1].split(":")
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_DELETE = do_PROPFIND = do_REPORT = do_OPTIONS = _any  # noqa: N815

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
