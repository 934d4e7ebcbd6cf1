"""A local HTTPS fake of the Microsoft identity platform and Microsoft Graph, for tests.

It follows the published API closely enough for the real MSAL and our connector to talk to
it: the tenant's OpenID configuration, the token endpoint (client credentials, refresh
token, device code, authorization code with PKCE), the device-code endpoint, the authorize
endpoint (a browser's sign-in: approves at once as :attr:`FakeGraph.signed_in`, else as the
``login_hint``, and redirects back with a code); Graph's
``calendarView`` and ``calendarView/delta`` (pages, ``@odata.nextLink``/``@odata.deltaLink``,
``@removed``, 410 ``SyncStateNotFound`` for expired tokens), events CRUD with change keys and
``If-Match``, ``mailboxSettings``, JSON ``$batch`` and ``sendMail``. Graph's throttling is
played too: at most 4 requests in flight per mailbox (more get 429 with ``Retry-After``),
and :meth:`FakeGraph.throttle` makes the next answers 429 (:meth:`FakeGraph.throttle_in_batch`
the next sub-requests of one mailbox inside batches).

Every request is logged (:attr:`FakeGraph.log`) so tests can count them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import json
import secrets
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.pki import make_pki

TENANT = "contoso-tenant"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_SECRET = "fake-client-secret"
MAILBOX_LIMIT = 4
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


# -- TLS ---------------------------------------------------------------------------------
def make_tls(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1/localhost: ``(ca.pem, cert.pem, key.pem)``."""
    pki = make_pki(folder, "balanced-calendar Graph test CA")
    return pki.ca, pki.cert, pki.key


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _utc(text: str) -> dt.datetime:
    head = text.split(".")[0].removesuffix("Z")
    return dt.datetime.fromisoformat(head).replace(tzinfo=dt.timezone.utc)


def graph_time(moment: dt.datetime) -> dict[str, str]:
    return {"dateTime": moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}


def graph_date(day: dt.date) -> dict[str, str]:
    return {"dateTime": f"{day.isoformat()}T00:00:00.0000000", "timeZone": "UTC"}


# -- state -------------------------------------------------------------------------------
@dataclass
class Mailbox:
    email: str
    zone: str = "SE Asia Standard Time"
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed_at: dict[str, int] = field(default_factory=dict)
    removed_at: dict[str, int] = field(default_factory=dict)
    version: int = 0
    oldest: int = 0
    in_flight: int = 0
    peak: int = 0
    sent: list[bytes] = field(default_factory=list)


@dataclass
class Token:
    kind: str  # "app" or "user"
    email: str | None
    scope: str


@dataclass
class Logged:
    host: str  # "login" or "graph"
    method: str
    path: str
    mailbox: str | None = None
    status: int = 0


class FakeGraph:
    """The fake's state and controls; :func:`serve` runs it over HTTPS."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.mailboxes: dict[str, Mailbox] = {}
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, tuple[str, str]] = {}  # refresh -> (email, scope)
        self.devices: dict[str, dict[str, Any]] = {}  # device_code -> {user_code, email, approved, scope}
        self.codes: dict[str, dict[str, Any]] = {}  # auth code -> {email, challenge, redirect_uri, scope}
        self.signed_in: str | None = None  # who the authorize endpoint approves as (None: the login_hint)
        self.log: list[Logged] = []
        self.latency = 0.0
        self.throttled = 0  # answer this many next Graph requests with 429
        self.throttle_after = 1
        self.batch_throttled: dict[str, tuple[int, int]] = {}  # mailbox -> (count, retry after)
        self.allowed: set[str] | None = None  # application access policy: mailboxes an app may read
        self.ids = itertools.count(1)
        self.base = ""
        self.paged: dict[str, list[dict[str, Any]]] = {}
        self.page_ends: dict[str, str] = {}

    # -- controls ----------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.mailboxes.clear()
            self.log.clear()
            self.latency, self.throttled, self.allowed = 0.0, 0, None
            self.batch_throttled.clear()
            self.paged.clear()
            self.page_ends.clear()

    def mailbox(self, email: str) -> Mailbox:
        with self.lock:
            return self.mailboxes.setdefault(email.lower(), Mailbox(email.lower()))

    def put(self, email: str, event: Mapping[str, Any]) -> str:
        """Add or replace an event as the owner's calendar app would; returns its id."""
        with self.lock:
            box = self.mailbox(email)
            item = dict(event)
            item.setdefault("id", f"AAMk{next(self.ids):06d}")
            box.version += 1
            item["changeKey"] = f"ck{box.version}"
            item["@odata.etag"] = f'W/"ck{box.version}"'
            box.events[item["id"]] = item
            box.changed_at[item["id"]] = box.version
            box.removed_at.pop(item["id"], None)
            return str(item["id"])

    def edit(self, email: str, event_id: str, **changes: Any) -> None:
        with self.lock:
            item = {**self.mailbox(email).events[event_id], **changes}
            self.put(email, item)

    def remove(self, email: str, event_id: str) -> None:
        with self.lock:
            box = self.mailbox(email)
            box.events.pop(event_id)
            box.version += 1
            box.changed_at.pop(event_id, None)
            box.removed_at[event_id] = box.version

    def expire(self, email: str) -> None:
        with self.lock:
            box = self.mailbox(email)
            box.oldest = box.version + 1
            box.removed_at.clear()

    def throttle(self, count: int, retry_after: int = 1) -> None:
        with self.lock:
            self.throttled, self.throttle_after = count, retry_after

    def throttle_in_batch(self, email: str, count: int, retry_after: int = 1) -> None:
        """The next ``count`` batch sub-requests for ``email``'s mailbox answer 429."""
        with self.lock:
            self.batch_throttled[email.lower()] = (count, retry_after)

    def approve(self, user_code: str, email: str) -> None:
        """The person entered ``user_code`` at the verification page and signed in."""
        with self.lock:
            for device in self.devices.values():
                if device["user_code"] == user_code:
                    device.update(approved=True, email=email.lower())

    def authorize(self, auth_uri: str, email: str) -> dict[str, str]:
        """The person signed in at ``auth_uri``: the parameters of the redirect back."""
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(auth_uri).query))
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.codes[code] = {"email": email.lower(), "challenge": query.get("code_challenge"),
                                "redirect_uri": query.get("redirect_uri"), "scope": query.get("scope", ""),
                                "nonce": query.get("nonce")}
        return {"code": code, "state": query.get("state", "")}

    def revoke(self, email: str) -> None:
        """The person's refresh tokens stop working (password reset, consent withdrawn)."""
        with self.lock:
            for token, (owner, _scope) in list(self.refresh_tokens.items()):
                if owner == email.lower():
                    del self.refresh_tokens[token]
            for token, info in list(self.tokens.items()):
                if info.email == email.lower():
                    del self.tokens[token]

    def graph_requests(self, method: str | None = None) -> list[Logged]:
        with self.lock:
            return [r for r in self.log if r.host == "graph" and (method is None or r.method == method)]

    def login_requests(self) -> list[Logged]:
        with self.lock:
            return [r for r in self.log if r.host == "login"]

    # -- tokens ------------------------------------------------------------------------
    def _issue(self, kind: str, email: str | None, scope: str, *, refresh: bool,
               nonce: str | None = None) -> dict[str, Any]:
        access = "at-" + secrets.token_urlsafe(12)
        self.tokens[access] = Token(kind, email, scope)
        answer: dict[str, Any] = {"token_type": "Bearer", "access_token": access, "expires_in": 3600,
                                  "ext_expires_in": 3600, "scope": scope}
        if refresh and email:
            token = "rt-" + secrets.token_urlsafe(12)
            self.refresh_tokens[token] = (email, scope)
            oid = hashlib.sha256(email.encode()).hexdigest()[:32]
            now = int(time.time())
            claims = {"iss": f"{self.base}/{TENANT}/v2.0", "aud": CLIENT_ID, "sub": oid, "oid": oid,
                      "tid": TENANT, "preferred_username": email, "exp": now + 3600, "iat": now, "nbf": now,
                      **({"nonce": nonce} if nonce else {})}
            answer.update(refresh_token=token, client_info=_b64url(json.dumps({"uid": oid, "utid": TENANT}).encode()),
                          id_token=".".join([_b64url(b'{"alg":"none","typ":"JWT"}'),
                                             _b64url(json.dumps(claims).encode()), ""]))
        return answer

    def token_endpoint(self, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type")
        if form.get("client_id") != CLIENT_ID:
            return 400, {"error": "unauthorized_client", "error_description": "AADSTS700016: unknown app"}
        scope = " ".join(s for s in form.get("scope", "").split() if s not in ("openid", "profile", "offline_access"))
        with self.lock:
            if grant == "client_credentials":
                if form.get("client_secret") != CLIENT_SECRET:
                    return 401, {"error": "invalid_client", "error_description": "AADSTS7000215: bad secret"}
                return 200, self._issue("app", None, scope, refresh=False)
            if grant == "refresh_token":
                found = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
                if found is None:
                    return 400, {"error": "invalid_grant", "error_description": "AADSTS50173: token revoked"}
                return 200, self._issue("user", found[0], scope or found[1], refresh=True)
            if grant == DEVICE_GRANT:
                device = self.devices.get(form.get("device_code", ""))
                if device is None:
                    return 400, {"error": "expired_token"}
                if not device["approved"]:
                    return 400, {"error": "authorization_pending"}
                del self.devices[form["device_code"]]
                return 200, self._issue("user", device["email"], device["scope"], refresh=True)
            if grant == "authorization_code":
                code = self.codes.pop(form.get("code", ""), None)
                if code is None or code["redirect_uri"] != form.get("redirect_uri"):
                    return 400, {"error": "invalid_grant", "error_description": "AADSTS70008: bad code"}
                verifier = form.get("code_verifier", "")
                if _b64url(hashlib.sha256(verifier.encode()).digest()) != code["challenge"]:
                    return 400, {"error": "invalid_grant", "error_description": "AADSTS501481: PKCE mismatch"}
                return 200, self._issue("user", code["email"], scope, refresh=True, nonce=code["nonce"])
        return 400, {"error": "unsupported_grant_type"}

    def device_endpoint(self, form: Mapping[str, str]) -> dict[str, Any]:
        code, user_code = secrets.token_urlsafe(16), secrets.token_hex(4).upper()
        scope = " ".join(s for s in form.get("scope", "").split() if s not in ("openid", "profile", "offline_access"))
        with self.lock:
            self.devices[code] = {"user_code": user_code, "approved": False, "email": None, "scope": scope}
        return {"device_code": code, "user_code": user_code, "verification_uri": "https://microsoft.com/devicelogin",
                "expires_in": 900, "interval": 1,
                "message": f"To sign in, use a web browser to open https://microsoft.com/devicelogin and enter "
                           f"the code {user_code} to authenticate."}

    # -- Graph -------------------------------------------------------------------------
    def dispatch(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None,
                 token: Token | None) -> tuple[int, dict[str, str], Any]:
        """One Graph request (plain or a batch sub-request): ``(status, headers, json body)``."""
        parts = urllib.parse.urlsplit(url)
        path = urllib.parse.unquote(parts.path)
        path = path[len("/v1.0"):] if path.startswith("/v1.0") else path
        query = dict(urllib.parse.parse_qsl(parts.query))
        if token is None:
            return 401, {}, _error("InvalidAuthenticationToken", "Access token is empty or invalid.")
        segments = [s for s in path.split("/") if s]
        if segments[:1] == ["me"]:
            if token.kind != "user":
                return 400, {}, _error("BadRequest", "/me request is only valid with delegated authentication flow.")
            email, rest = token.email or "", segments[1:]
        elif segments[:1] == ["users"] and len(segments) >= 2:
            email, rest = segments[1].lower(), segments[2:]
            if token.kind == "user" and email != token.email:
                return 403, {}, _error("ErrorAccessDenied", "Access is denied.")
            if token.kind == "app" and self.allowed is not None and email not in self.allowed:
                return 403, {}, _error("ErrorAccessDenied", "Access to OData is disabled: blocked by tenant "
                                                             "configured AppOnly AccessPolicy settings.")
        else:
            return 404, {}, _error("ResourceNotFound", "Resource not found for the segment.")
        if email not in self.mailboxes:
            return 404, {}, _error("ErrorInvalidUser", "The requested user is invalid.")
        box = self.mailboxes[email]
        prefer = headers.get("Prefer", "") or headers.get("prefer", "")
        page_size = 10
        for part in prefer.split(","):
            name, _, value = part.strip().partition("=")
            if name == "odata.maxpagesize":
                page_size = int(value)
        root = f"{self.base}/v1.0" + ("/me" if segments[0] == "me" else f"/users/{email}")
        if rest[:1] == ["calendars"] and len(rest) >= 2:
            rest = rest[2:]  # one calendar per mailbox in this fake
        if rest == ["mailboxSettings"] and method == "GET":
            return 200, {}, {"timeZone": box.zone, "workingHours": {
                "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                "startTime": "08:00:00.0000000", "endTime": "16:00:00.0000000", "timeZone": {"name": box.zone}}}
        if rest == ["sendMail"] and method == "POST":
            if token.kind == "app" and "Mail.Send" not in token.scope and ".default" not in token.scope:
                return 403, {}, _error("ErrorAccessDenied", "Access is denied.")
            box.sent.append(base64.b64decode(body or b""))
            return 202, {}, None
        if rest == ["calendarView"] and method == "GET":
            return self._view(box, query, page_size, root)
        if rest == ["calendarView", "delta"] and method == "GET":
            return self._delta(box, query, page_size, root)
        if rest == ["events"] and method == "POST":
            item = json.loads(body or b"{}")
            return 201, {}, self._public(box.events[self.put(email, {**item, "type": "singleInstance",
                                                                      "isOrganizer": True,
                                                                      "responseStatus": {"response": "organizer"}})],
                                         expand=True)
        if len(rest) == 2 and rest[0] == "events":
            item = box.events.get(rest[1])
            if item is None:
                return 404, {}, _error("ErrorItemNotFound", "The specified object was not found in the store.")
            if_match = headers.get("If-Match") or headers.get("if-match")
            if method in ("PATCH", "DELETE") and if_match and if_match != item["@odata.etag"]:
                return 412, {}, _error("ErrorIrresolvableConflict", "The send or update operation could not be "
                                                                     "performed because the change key passed in "
                                                                     "the request does not match the current change "
                                                                     "key for the item.")
            if method == "GET":
                return 200, {}, self._public(item, expand="$expand" in query)
            if method == "PATCH":
                self.put(email, {**item, **json.loads(body or b"{}")})
                return 200, {}, self._public(box.events[rest[1]])
            if method == "DELETE":
                self.remove(email, rest[1])
                return 204, {}, None
        return 405, {}, _error("BadRequest", f"{method} {path} is not supported by this fake")

    @staticmethod
    def _public(item: Mapping[str, Any], *, expand: bool = False) -> dict[str, Any]:
        shown = {k: v for k, v in item.items() if k != "singleValueExtendedProperties"}
        if expand and item.get("singleValueExtendedProperties"):
            shown["singleValueExtendedProperties"] = item["singleValueExtendedProperties"]
        return shown

    @staticmethod
    def _inside(item: Mapping[str, Any], start: dt.datetime, end: dt.datetime) -> bool:
        return _utc(item["start"]["dateTime"]) < end and _utc(item["end"]["dateTime"]) > start

    def _view(self, box: Mailbox, query: Mapping[str, str], page_size: int, root: str) -> tuple[int, dict, Any]:
        if "$skiptoken" in query:
            return self._page(query["$skiptoken"], page_size, root + "/calendarView", None)
        start, end = _utc(query["startDateTime"]), _utc(query["endDateTime"])
        items = [self._public(e, expand="$expand" in query) for e in box.events.values() if self._inside(e, start, end)]
        return self._start_paging(items, page_size, root + "/calendarView", None)

    def _delta(self, box: Mailbox, query: Mapping[str, str], page_size: int, root: str) -> tuple[int, dict, Any]:
        if "$skiptoken" in query:
            return self._page(query["$skiptoken"], page_size, root + "/calendarView/delta", "delta")
        if "$deltatoken" in query:
            try:
                version, start_text, end_text = base64.urlsafe_b64decode(query["$deltatoken"]).decode().split("|")
                since = int(version)
            except (ValueError, UnicodeDecodeError):
                return 400, {}, _error("BadRequest", "Invalid delta token.")
            if since < box.oldest or since > box.version:
                return 410, {}, _error("SyncStateNotFound", "The sync state generation is not found.")
            start, end = _utc(start_text), _utc(end_text)
            items: list[dict[str, Any]] = []
            for event_id, at in box.changed_at.items():
                if at > since:
                    event = box.events[event_id]
                    items.append(self._public(event) if self._inside(event, start, end)
                                 else {"id": event_id, "@removed": {"reason": "deleted"}})
            items += [{"id": i, "@removed": {"reason": "deleted"}} for i, at in box.removed_at.items() if at > since]
        else:
            start_text, end_text = query["startDateTime"], query["endDateTime"]
            start, end = _utc(start_text), _utc(end_text)
            items = [self._public(e) for e in box.events.values() if self._inside(e, start, end)]
        token = base64.urlsafe_b64encode(f"{box.version}|{start_text}|{end_text}".encode()).decode()
        return self._start_paging(items, page_size, root + "/calendarView/delta", token)

    def _start_paging(self, items: list[dict[str, Any]], page_size: int, link: str,
                      delta: str | None) -> tuple[int, dict, Any]:
        key = secrets.token_urlsafe(8)
        self.paged[key] = items
        if delta is not None:
            self.page_ends[key] = delta
        return self._page(key, page_size, link, delta)

    def _page(self, key: str, page_size: int, link: str, delta: str | None) -> tuple[int, dict, Any]:
        items = self.paged.pop(key, None)
        if items is None:
            return 400, {}, _error("BadRequest", "Invalid skip token.")
        end_token = self.page_ends.pop(key, None)
        page, rest = items[:page_size], items[page_size:]
        body: dict[str, Any] = {"value": page}
        if rest:
            nxt = secrets.token_urlsafe(8)
            self.paged[nxt] = rest
            if end_token is not None:
                self.page_ends[nxt] = end_token
            body["@odata.nextLink"] = f"{link}?$skiptoken={nxt}"
        elif end_token is not None:
            body["@odata.deltaLink"] = f"{link}?$deltatoken={end_token}"
        return 200, {}, body


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _mailbox_of(path: str, token: Token | None) -> str | None:
    segments = [s for s in urllib.parse.unquote(urllib.parse.urlsplit(path).path).split("/") if s]
    if segments[:1] == ["v1.0"]:
        segments = segments[1:]
    if segments[:1] == ["me"] and token is not None:
        return token.email
    if segments[:1] == ["users"] and len(segments) > 1:
        return segments[1].lower()
    return None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        fake = self.server.fake
        body = self._body()
        path = urllib.parse.urlsplit(self.path).path
        if not path.startswith("/v1.0"):
            if fake.latency:
                time.sleep(fake.latency)
            with fake.lock:
                fake.log.append(Logged("login", method, path))
            return self._login(method, path, body)
        auth = self.headers.get("Authorization", "")
        with fake.lock:
            token = fake.tokens.get(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None
        if path == "/v1.0/$batch" and method == "POST":
            with fake.lock:
                fake.log.append(Logged("graph", "POST", path, None))
            return self._batch(json.loads(body or b"{}"), token)
        mailbox = _mailbox_of(self.path, token)
        entry = Logged("graph", method, self.path, mailbox)
        with fake.lock:
            fake.log.append(entry)
            if fake.throttled > 0:
                fake.throttled -= 1
                entry.status = 429
                return self._reply(429, _error("TooManyRequests", "Please retry again later."),
                                   {"Retry-After": str(fake.throttle_after)})
        status, headers, answer = self._with_slot(mailbox, lambda: fake.dispatch(
            method, self.path, dict(self.headers), body, token))
        entry.status = status
        self._reply(status, answer, headers)

    def _with_slot(self, mailbox: str | None, work: Any) -> tuple[int, dict[str, str], Any]:
        fake = self.server.fake
        box = fake.mailboxes.get(mailbox or "")
        if box is None:
            if fake.latency:
                time.sleep(fake.latency)
            with fake.lock:
                return work()
        with fake.lock:
            if box.in_flight >= MAILBOX_LIMIT:
                return 429, {"Retry-After": "1"}, _error("ApplicationThrottled",
                                                         "Application is over its MailboxConcurrency limit.")
            box.in_flight += 1
            box.peak = max(box.peak, box.in_flight)
        try:
            if fake.latency:
                time.sleep(fake.latency)  # the mailbox is busy while the request runs
            with fake.lock:
                return work()
        finally:
            with fake.lock:
                box.in_flight -= 1

    def _batch(self, payload: Mapping[str, Any], token: Token | None) -> None:
        fake = self.server.fake
        requests_ = list(payload.get("requests") or [])
        if len(requests_) > 20:
            return self._reply(400, _error("BadRequest", "A maximum of 20 requests is allowed in a batch."))
        taken: list[Mailbox] = []
        responses = []
        with fake.lock:  # sub-requests run in parallel on the server: all of them are in flight at once
            slots = []
            for sub in requests_:
                box = fake.mailboxes.get(_mailbox_of(sub.get("url", ""), token) or "")
                if box is not None and box.in_flight >= MAILBOX_LIMIT:
                    slots.append(False)
                    continue
                if box is not None:
                    box.in_flight += 1
                    box.peak = max(box.peak, box.in_flight)
                    taken.append(box)
                slots.append(True)
        try:
            if fake.latency:
                time.sleep(fake.latency)
            for sub, ok in zip(requests_, slots):
                url = "/v1.0" + sub.get("url", "")
                entry = Logged("graph", sub.get("method", "GET"), "$batch:" + url, _mailbox_of(url, token))
                with fake.lock:
                    fake.log.append(entry)
                    left, wait = fake.batch_throttled.get(entry.mailbox or "", (0, 1))
                    if left > 0:
                        fake.batch_throttled[entry.mailbox or ""] = (left - 1, wait)
                if not ok:
                    status, headers, body = 429, {"Retry-After": "1"}, _error("ApplicationThrottled", "too many")
                elif left > 0:
                    status, headers, body = 429, {"Retry-After": str(wait)}, _error("TooManyRequests",
                                                                                     "Please retry again later.")
                else:
                    data = sub.get("body")
                    with fake.lock:
                        status, headers, body = fake.dispatch(sub.get("method", "GET"), url, sub.get("headers") or {},
                                                              json.dumps(data).encode() if data is not None else None,
                                                              token)
                entry.status = status
                responses.append({"id": sub.get("id"), "status": status, "headers": headers, "body": body})
        finally:
            with fake.lock:
                for box in taken:
                    box.in_flight -= 1
        self._reply(200, {"responses": responses})

    def _login(self, method: str, path: str, body: bytes) -> None:
        fake = self.server.fake
        form = dict(urllib.parse.parse_qsl(body.decode())) if body else {}
        base = fake.base
        if path == f"/{TENANT}/v2.0/.well-known/openid-configuration" and method == "GET":
            return self._reply(200, {
                "issuer": f"{base}/{TENANT}/v2.0",
                "authorization_endpoint": f"{base}/{TENANT}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/{TENANT}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{base}/{TENANT}/oauth2/v2.0/devicecode",
                "response_types_supported": ["code"], "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"]})
        if path == f"/{TENANT}/oauth2/v2.0/token" and method == "POST":
            status, answer = fake.token_endpoint(form)
            return self._reply(status, answer)
        if path == f"/{TENANT}/oauth2/v2.0/authorize" and method == "GET":
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            who = fake.signed_in or query.get("login_hint", "")
            back = fake.authorize(self.path, who)
            target = query.get("redirect_uri", "")
            self.send_response(302)
            self.send_header("Location", target + ("&" if "?" in target else "?") + urllib.parse.urlencode(back))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if path == f"/{TENANT}/oauth2/v2.0/devicecode" and method == "POST":
            return self._reply(200, fake.device_endpoint(form))
        self._reply(404, {"error": "not_found"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeGraph


@dataclass
class Running:
    fake: FakeGraph
    base: str
    ca_file: Path

    @property
    def graph(self) -> str:
        return self.base + "/v1.0"


def serve(folder: Path) -> Iterator[Running]:
    """Run a fake on 127.0.0.1 over HTTPS with a fresh CA until the generator is closed."""
    ca, cert, key = make_tls(folder)
    server = _Server(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.fake = FakeGraph()
    server.fake.base = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Running(server.fake, server.fake.base, ca)
    finally:
        server.shutdown()
        server.server_close()
