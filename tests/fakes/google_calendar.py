"""A local fake of the Google Calendar v3 API and Google's OAuth token endpoint.

It follows the published API closely enough for the real google-api-python-client and
google-auth to talk to it through ``api_endpoint`` and ``token_uri``:

- ``events`` list (``singleEvents`` instances, ``timeMin``/``timeMax``, paging that may hand
  out empty pages, ``syncToken`` change feeds with tombstones, ``410 fullSyncRequired``,
  partial responses through ``fields``), get, insert, patch and delete (``If-Match`` → 412);
- ``settings`` (``timezone``) and ``calendarList``;
- ``/batch/calendar/v3`` multipart batches, each part with its own bearer token;
- ``/token``: the JWT-bearer grant (a service account's signed JWT, verified with its public
  key; the ``sub`` claim is the user the token acts as), the refresh grant and the
  authorization-code grant (PKCE S256); ``/auth`` plays the consent screen: it approves at
  once as :attr:`FakeGoogle.signed_in` (the browser's signed-in test user), else as the
  ``login_hint``, and redirects back with a code.

A bearer token belongs to one user: ``primary`` is that user's calendar and another user's
calendar is not found. Faults (403 usageLimits, 429 with ``Retry-After``, 500, …) are queued
with :meth:`FakeGoogle.fail`. Every JSON answer and request body is checked against the
schemas of the discovery document bundled with google-api-python-client; mismatches are
collected in :attr:`FakeGoogle.schema_errors`.
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
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from connectors.google.client import discovery_document

READ = "https://www.googleapis.com/auth/calendar.readonly"
SETTINGS = "https://www.googleapis.com/auth/calendar.settings.readonly"
WRITE = "https://www.googleapis.com/auth/calendar.events"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


# -- schema checks -----------------------------------------------------------------------
def schema_problems(value: Any, schema_name: str) -> list[str]:
    """Where ``value`` breaks the discovery document's schema ``schema_name`` (empty: fine)."""
    schemas = discovery_document()["schemas"]
    problems: list[str] = []

    def check(node: Any, schema: dict[str, Any], path: str) -> None:
        if "$ref" in schema:
            schema = schemas[schema["$ref"]]
        kind = schema.get("type")
        if kind == "object":
            if not isinstance(node, dict):
                problems.append(f"{path}: not an object")
                return
            props = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            for key, item in node.items():
                if key in props:
                    check(item, props[key], f"{path}.{key}")
                elif extra is not None:
                    check(item, extra, f"{path}.{key}")
                else:
                    problems.append(f"{path}.{key}: not in the schema")
        elif kind == "array":
            if not isinstance(node, list):
                problems.append(f"{path}: not an array")
                return
            for i, item in enumerate(node):
                check(item, schema["items"], f"{path}[{i}]")
        elif kind == "string" and not isinstance(node, str):
            problems.append(f"{path}: not a string")
        elif kind == "integer" and (not isinstance(node, int) or isinstance(node, bool)):
            problems.append(f"{path}: not an integer")
        elif kind == "boolean" and not isinstance(node, bool):
            problems.append(f"{path}: not a boolean")

    check(value, schemas[schema_name], schema_name)
    return problems


def parse_fields(text: str) -> dict[str, Any]:
    """A ``fields`` selector (``a,b(c,d(e))``) as a tree; ``None`` leaves mean "all of it"."""
    tree: dict[str, Any] = {}
    stack = [tree]
    name = ""
    for char in text + ",":
        if char in ",()":
            if name.strip():
                node: Any = None
                if char == "(":
                    node = {}
                stack[-1][name.strip()] = node
                if char == "(":
                    stack.append(node)
            if char == ")":
                stack.pop()
            name = ""
        else:
            name += char
    return tree


def select(value: Any, tree: dict[str, Any] | None) -> Any:
    if tree is None:
        return value
    if isinstance(value, list):
        return [select(v, tree) for v in value]
    if isinstance(value, dict):
        return {k: select(v, tree[k]) for k, v in value.items() if k in tree}
    return value


# -- state -------------------------------------------------------------------------------
def _error(code: int, reason: str, message: str, domain: str = "global", **extra: Any) -> dict[str, Any]:
    return {"error": {"errors": [{"domain": domain, "reason": reason, "message": message, **extra}],
                      "code": code, "message": message}}


@dataclass
class Fault:
    """Answer the next ``times`` requests whose ``op`` matches (e.g. ``events.list``) with this."""

    op: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


@dataclass
class Calendar:
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)  # event id -> version of its last change
    oldest: int = 0


@dataclass
class User:
    email: str
    zone: str = "Asia/Jakarta"
    focus_time: bool = True  # a Workspace account that accepts focusTime events
    calendars: dict[str, Calendar] = field(default_factory=dict)


@dataclass
class Seen:
    """One request as the fake saw it (batched parts are listed too, with ``batched=True``)."""

    method: str
    op: str
    user: str | None
    query: dict[str, str]
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    batched: bool = False


class FakeGoogle:
    def __init__(self, *, tls: ssl.SSLContext | None = None, latency: float = 0.0, validate: bool = True) -> None:
        self.latency = latency
        self.validate = validate  # check answers against the discovery schemas (off for benchmarks)
        self.users: dict[str, User] = {}
        self.service_accounts: dict[str, Any] = {}  # client_email -> RSA public key
        self.clients: dict[str, str] = {}  # OAuth client id -> secret
        self.delegated: dict[str, set[str]] = {}  # client_email -> scopes the admin granted
        self.refresh_tokens: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.access: dict[str, tuple[str, tuple[str, ...], float]] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.signed_in: str | None = None  # who the consent screen approves as (None: the login_hint)
        self.answers: list[str] = []  # the redirects back the consent screen made (a browser's history)
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self.schema_errors: list[str] = []
        self.page_size = 2500
        self.empty_pages = False
        self.token_lifetime = 3600
        self.in_flight = 0
        self.max_in_flight = 0  # most HTTP requests served at the same time
        self._version = itertools.count(1)
        self._ids = itertools.count(1)
        self._cursors: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.RLock()
        handler = type("Handler", (_Handler,), {"fake": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{self.scheme}://{host}:{port}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- test helpers ------------------------------------------------------------------
    def user(self, email: str, **kwargs: Any) -> User:
        with self._lock:
            if email not in self.users:
                self.users[email] = User(email, **kwargs)
                self.users[email].calendars[email] = Calendar()
            return self.users[email]

    def calendar(self, email: str) -> Calendar:
        return self.user(email).calendars[email]

    def reset(self) -> None:
        """Forget everything but the registered clients and service accounts."""
        with self._lock:
            self.users.clear()
            self.faults.clear()
            self.seen.clear()
            self.access.clear()
            self.refresh_tokens.clear()
            self.schema_errors.clear()
            self.page_size, self.empty_pages, self.latency = 2500, False, 0.0
            self.max_in_flight = 0

    def put(self, email: str, item: dict[str, Any]) -> str:
        """Add or replace an event in ``email``'s primary calendar, as another client would."""
        with self._lock:
            cal = self.calendar(email)
            item = json.loads(json.dumps(item))
            item.setdefault("id", f"ev{next(self._ids):06d}")
            item.setdefault("status", "confirmed")
            item.setdefault("kind", "calendar#event")
            item.setdefault("eventType", "default")
            item.setdefault("organizer", {"email": email, "self": True})
            self._touch(cal, item)
            return item["id"]

    def edit(self, email: str, event_id: str, **changes: Any) -> None:
        with self._lock:
            cal = self.calendar(email)
            item = dict(cal.events[event_id], **changes)
            self._touch(cal, item)

    def remove(self, email: str, event_id: str) -> None:
        with self._lock:
            cal = self.calendar(email)
            self._touch(cal, {"kind": "calendar#event", "id": event_id, "status": "cancelled"})

    def expire_sync_tokens(self, email: str) -> None:
        with self._lock:
            cal = self.calendar(email)
            cal.oldest = next(self._version)

    def fail(self, op: str, status: int, reason: str = "", *, message: str = "", domain: str = "global",
             retry_after: str | None = None, times: int = 1) -> None:
        body = _error(status, reason or "backendError", message or reason or "error", domain)
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.faults.append(Fault(op, status, body, headers, times))

    def count(self, op: str | None = None, *, user: str | None = None, batched: bool | None = False) -> int:
        """Requests seen (``op`` such as ``events.list``, ``token``, ``batch``; None: all HTTP
        requests); batched parts only with ``batched=True`` (or ``None``: both)."""
        return sum(1 for s in self.seen if (op is None or s.op == op) and (user is None or s.user == user)
                   and (batched is None or s.batched == batched))

    def _touch(self, cal: Calendar, item: dict[str, Any]) -> None:
        version = next(self._version)
        item["etag"] = f'"{version}"'
        item["updated"] = dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")
        cal.events[item["id"]] = item
        cal.changed[item["id"]] = version

    # -- OAuth -------------------------------------------------------------------------
    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type")
        if grant == JWT_BEARER:
            claims = self._verify_jwt(form.get("assertion", ""))
            if claims is None:
                return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
            scopes = tuple(claims.get("scope", "").split())
            granted = self.delegated.get(claims["iss"], set())
            if not set(scopes) <= granted:
                return 401, {"error": "unauthorized_client",
                             "error_description": "Client is unauthorized to retrieve access tokens using this "
                                                  "method, or client not authorized for any of the scopes requested."}
            subject = claims.get("sub")
            if subject not in self.users:
                return 400, {"error": "invalid_grant", "error_description": "Invalid email or User ID"}
            return 200, self._issue(subject, scopes)
        if grant == "refresh_token":
            if self.clients.get(form.get("client_id", "")) != form.get("client_secret"):
                return 401, {"error": "invalid_client", "error_description": "Unauthorized"}
            known = self.refresh_tokens.get(form.get("refresh_token", ""))
            if known is None:
                return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
            email, scopes = known
            asked = tuple(form.get("scope", "").split()) or scopes
            if not set(asked) <= set(scopes):
                return 400, {"error": "invalid_scope", "error_description": "Bad Request"}
            return 200, self._issue(email, asked)
        if grant == "authorization_code":
            code = self.codes.pop(form.get("code", ""), None)
            if code is None or code["redirect_uri"] != form.get("redirect_uri"):
                return 400, {"error": "invalid_grant", "error_description": "Bad Request"}
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if challenge != code["challenge"]:
                return 400, {"error": "invalid_grant", "error_description": "Missing code verifier."}
            answer = self._issue(code["email"], code["scopes"])
            refresh = secrets.token_urlsafe(16)
            self.refresh_tokens[refresh] = (code["email"], code["scopes"])
            return 200, dict(answer, refresh_token=refresh)
        return 400, {"error": "unsupported_grant_type"}

    def _issue(self, email: str, scopes: tuple[str, ...]) -> dict[str, Any]:
        token = "ya29." + secrets.token_urlsafe(18)
        self.access[token] = (email, scopes, time.time() + self.token_lifetime)
        return {"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer",
                "scope": " ".join(scopes)}

    def _verify_jwt(self, assertion: str) -> dict[str, Any] | None:
        try:
            head, body, sig = assertion.split(".")
            claims = json.loads(_b64(body))
            key = self.service_accounts[claims["iss"]]
            key.verify(_b64(sig), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except Exception:
            return None
        if claims.get("exp", 0) < time.time() or not str(claims.get("aud", "")).endswith("/token"):
            return None
        return claims

    def consent(self, query: dict[str, str], email: str | None = None) -> str:
        """The consent screen: the user (``login_hint``) agrees; the redirect location."""
        code = secrets.token_urlsafe(12)
        self.codes[code] = {"email": email or query["login_hint"], "scopes": tuple(query["scope"].split()),
                            "redirect_uri": query["redirect_uri"], "challenge": query.get("code_challenge", "")}
        answer = query["redirect_uri"] + "?" + urllib.parse.urlencode(
            {"code": code, "state": query.get("state", ""), "scope": query["scope"]})
        self.answers.append(answer)
        return answer

    # -- the API -----------------------------------------------------------------------
    def dispatch(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes,
                 batched: bool = False) -> tuple[int, dict[str, str], Any]:
        """One API call: ``(status, headers, JSON answer or None)``."""
        op, args = _route(method, path)
        auth = headers.get("authorization", "")
        known = self.access.get(auth[7:]) if auth.startswith("Bearer ") else None
        payload = json.loads(body) if body else None
        self.seen.append(Seen(method, op, known[0] if known else None, query, payload, headers, batched))
        for fault in self.faults:
            if fault.op == op and fault.times > 0:
                fault.times -= 1
                return fault.status, fault.headers, fault.body
        if known is None or known[2] < time.time():
            return 401, {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'}, _error(
                401, "authError", "Request had invalid authentication credentials.", location="Authorization")
        email, scopes, _ = known
        if op == "unknown":
            return 404, {}, _error(404, "notFound", "Not Found")
        with self._lock:
            return getattr(self, "_" + op.replace(".", "_"))(email, set(scopes), args, query, headers, payload)

    def _cal(self, email: str, calendar_id: str) -> Calendar | None:
        user = self.users.get(email)
        if user is None:
            return None
        return user.calendars.get(email if calendar_id == "primary" else calendar_id)

    def _events_list(self, email, scopes, args, query, headers, payload):
        if not scopes & {READ, WRITE}:
            return 403, {}, _error(403, "insufficientPermissions", "Insufficient Permission")
        cal = self._cal(email, args[0])
        if cal is None:
            return 404, {}, _error(404, "notFound", "Not Found")
        if query.get("singleEvents") != "true":
            return 400, {}, _error(400, "invalid", "this fake only serves singleEvents=true")
        fields = parse_fields(query["fields"]) if "fields" in query else None
        if "pageToken" in query:
            pages = self._cursors.pop(query["pageToken"], None)
            if pages is None:
                return 400, {}, _error(400, "invalid", "Invalid page token")
        else:
            if "syncToken" in query:
                if {"timeMin", "timeMax"} & set(query):
                    return 400, {}, _error(400, "invalid", "syncToken cannot be combined with timeMin/timeMax")
                try:
                    since = int(query["syncToken"].removeprefix("sync-"))
                except ValueError:
                    since = -1
                if since < cal.oldest:
                    return 410, {}, _error(410, "fullSyncRequired",
                                           "Sync token is no longer valid, a full sync is required.")
                items = [cal.events[i] for i, v in cal.changed.items() if v > since]
            else:
                lo, hi = query.get("timeMin"), query.get("timeMax")
                items = [e for e in cal.events.values() if e.get("status") != "cancelled"
                         and (hi is None or _instant(e["start"]) < _parse(hi))
                         and (lo is None or _instant(e["end"]) > _parse(lo))]
            items.sort(key=lambda e: (_instant(e["start"]).isoformat() if "start" in e else "", e["id"]))
            size = min(int(query.get("maxResults", 250)), self.page_size)
            chunks = [items[i:i + size] for i in range(0, len(items), size)] or [[]]
            pages = []
            for chunk in chunks:
                if self.empty_pages:
                    pages.append({"kind": "calendar#events", "items": []})
                pages.append({"kind": "calendar#events", "items": chunk})
            pages[-1]["nextSyncToken"] = f"sync-{max(cal.changed.values(), default=0)}"
        page, rest = pages[0], pages[1:]
        if rest:
            token = secrets.token_urlsafe(8)
            self._cursors[token] = rest
            page = dict(page, nextPageToken=token)
        page = dict(page, timeZone=self.users[email].zone, accessRole="owner")
        return 200, {}, self._answer(select(page, fields), "Events")

    def _events_get(self, email, scopes, args, query, headers, payload):
        cal = self._cal(email, args[0])
        item = cal.events.get(args[1]) if cal is not None else None
        if item is None:
            return 404, {}, _error(404, "notFound", "Not Found")
        fields = parse_fields(query["fields"]) if "fields" in query else None
        return 200, {}, self._answer(select(item, fields), "Event")

    def _writable(self, email, scopes, calendar_id):
        if WRITE not in scopes:
            return None, (403, {}, _error(403, "insufficientPermissions", "Insufficient Permission"))
        cal = self._cal(email, calendar_id)
        if cal is None:
            return None, (404, {}, _error(404, "notFound", "Not Found"))
        return cal, None

    def _events_insert(self, email, scopes, args, query, headers, payload):
        cal, refused = self._writable(email, scopes, args[0])
        if refused:
            return refused
        self._check_body(payload)
        if payload.get("eventType") == "focusTime" and not self.users[email].focus_time:
            return 400, {}, _error(400, "invalid", "Focus time events cannot be created on this calendar.")
        item = dict(payload, id=f"bc{next(self._ids):06d}", status="confirmed", kind="calendar#event",
                    organizer={"email": email, "self": True}, creator={"email": email, "self": True})
        item.setdefault("eventType", "default")
        self._touch(cal, item)
        fields = parse_fields(query["fields"]) if "fields" in query else None
        return 200, {}, self._answer(select(item, fields), "Event")

    def _precondition(self, item, headers):
        wanted = headers.get("if-match")
        if wanted and wanted != item["etag"]:
            return 412, {}, _error(412, "conditionNotMet", "Precondition Failed", locationType="header",
                                   location="If-Match")
        return None

    def _events_patch(self, email, scopes, args, query, headers, payload):
        cal, refused = self._writable(email, scopes, args[0])
        if refused:
            return refused
        self._check_body(payload)
        item = cal.events.get(args[1])
        if item is None or item.get("status") == "cancelled":
            return 404, {}, _error(404, "notFound", "Not Found")
        failed = self._precondition(item, headers)
        if failed:
            return failed
        if "eventType" in payload and payload["eventType"] != item.get("eventType"):
            return 400, {}, _error(400, "eventTypeRestriction", "The event type cannot be changed.")
        item = _merge(item, payload)
        self._touch(cal, item)
        fields = parse_fields(query["fields"]) if "fields" in query else None
        return 200, {}, self._answer(select(item, fields), "Event")

    def _events_delete(self, email, scopes, args, query, headers, payload):
        cal, refused = self._writable(email, scopes, args[0])
        if refused:
            return refused
        item = cal.events.get(args[1])
        if item is None:
            return 404, {}, _error(404, "notFound", "Not Found")
        if item.get("status") == "cancelled":
            return 410, {}, _error(410, "deleted", "Resource has been deleted")
        failed = self._precondition(item, headers)
        if failed:
            return failed
        self._touch(cal, {"kind": "calendar#event", "id": args[1], "status": "cancelled"})
        return 204, {}, None

    def _settings_get(self, email, scopes, args, query, headers, payload):
        if not scopes & {READ, SETTINGS}:
            return 403, {}, _error(403, "insufficientPermissions", "Insufficient Permission")
        if args[0] != "timezone":
            return 404, {}, _error(404, "notFound", "Not Found")
        return 200, {}, self._answer({"kind": "calendar#setting", "etag": '"1"', "id": "timezone",
                                      "value": self.users[email].zone}, "Setting")

    def _calendarList_get(self, email, scopes, args, query, headers, payload):
        if not scopes & {READ, WRITE}:
            return 403, {}, _error(403, "insufficientPermissions", "Insufficient Permission")
        cal_id = email if args[0] == "primary" else args[0]
        if self._cal(email, args[0]) is None:
            return 404, {}, _error(404, "notFound", "Not Found")
        return 200, {}, self._answer(self._entry(email, cal_id), "CalendarListEntry")

    def _calendarList_list(self, email, scopes, args, query, headers, payload):
        if not scopes & {READ, WRITE}:
            return 403, {}, _error(403, "insufficientPermissions", "Insufficient Permission")
        items = [self._entry(email, cid) for cid in self.users[email].calendars]
        return 200, {}, self._answer({"kind": "calendar#calendarList", "etag": '"1"', "items": items},
                                     "CalendarList")

    def _entry(self, email: str, cal_id: str) -> dict[str, Any]:
        return {"kind": "calendar#calendarListEntry", "etag": '"1"', "id": cal_id, "summary": cal_id,
                "timeZone": self.users[email].zone, "accessRole": "owner", "primary": cal_id == email}

    def _answer(self, value: Any, schema: str) -> Any:
        if self.validate:
            self.schema_errors += schema_problems(value, schema)
        return value

    def _check_body(self, payload: Any) -> None:
        self.schema_errors += schema_problems(payload, "Event")
        if payload.get("attendees"):
            self.schema_errors.append("an own block was written with attendees")


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in patch.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _instant(value: dict[str, str]) -> dt.datetime:
    if "dateTime" in value:
        return _parse(value["dateTime"])
    # all-day: Google compares dates in the calendar's zone; the fake uses UTC+7 (its users')
    return dt.datetime.combine(dt.date.fromisoformat(value["date"]), dt.time(),
                               tzinfo=dt.timezone(dt.timedelta(hours=7)))


def _route(method: str, path: str) -> tuple[str, list[str]]:
    parts = [urllib.parse.unquote(p) for p in path.split("/") if p]
    if parts[:2] != ["calendar", "v3"]:
        return "unknown", []
    parts = parts[2:]
    if len(parts) == 3 and parts[0] == "calendars" and parts[2] == "events":
        return {"GET": "events.list", "POST": "events.insert"}.get(method, "unknown"), [parts[1]]
    if len(parts) == 4 and parts[0] == "calendars" and parts[2] == "events":
        return {"GET": "events.get", "PATCH": "events.patch", "DELETE": "events.delete"}.get(
            method, "unknown"), [parts[1], parts[3]]
    if parts[:3] == ["users", "me", "settings"] and len(parts) == 4 and method == "GET":
        return "settings.get", [parts[3]]
    if parts[:3] == ["users", "me", "calendarList"] and method == "GET":
        return ("calendarList.get", [parts[3]]) if len(parts) == 4 else ("calendarList.list", [])
    return "unknown", []


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGoogle
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, headers: dict[str, str], payload: Any, content_type: str = "application/json") -> None:
        data = b"" if payload is None else payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if data or status != 204:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        fake = self.fake
        with fake._lock:
            fake.in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
        try:
            if fake.latency:
                time.sleep(fake.latency)
            self._serve()
        finally:
            with fake._lock:
                fake.in_flight -= 1

    def _serve(self) -> None:
        fake = self.fake
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        if parts.path == "/token":
            form = dict(urllib.parse.parse_qsl(body.decode()))
            with fake._lock:
                status, answer = fake.token(form)
                who = fake.access[answer["access_token"]][0] if status == 200 else None
                fake.seen.append(Seen("POST", "token", who, {"grant_type": form.get("grant_type", "")}))
            self._send(status, {}, answer)
        elif parts.path == "/auth":
            fake.seen.append(Seen("GET", "auth", None, query))
            self._send(302, {"Location": fake.consent(query, fake.signed_in)}, b"", "text/html")
        elif parts.path == "/batch/calendar/v3":
            fake.seen.append(Seen("POST", "batch", None, {}))
            self._batch(headers, body)
        else:
            status, extra, answer = fake.dispatch(self.command, parts.path, query, headers, body)
            self._send(status, extra, answer)

    def _batch(self, headers: dict[str, str], body: bytes) -> None:
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {headers['content-type']}\r\n\r\n".encode() + body)
        boundary = "batch_" + secrets.token_hex(8)
        out: list[bytes] = []
        for part in message.iter_parts():
            raw = part.get_payload(decode=True) or part.get_payload().encode()
            head, _, inner_body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
            lines = head.decode().split("\n")
            method, target, _ = lines[0].split(" ", 2)
            inner_headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
            split = urllib.parse.urlsplit(target)
            status, extra, answer = self.fake.dispatch(method, split.path, dict(urllib.parse.parse_qsl(split.query)),
                                                       inner_headers, inner_body.strip(), batched=True)
            data = json.dumps(answer).encode() if answer is not None else b""
            reply = (f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                     + "".join(f"{k}: {v}\r\n" for k, v in extra.items()) + "\r\n").encode() + data
            content_id = part.get("Content-ID", "").strip("<>")
            out.append(f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <response-{content_id}>"
                       f"\r\n\r\n".encode() + reply + b"\r\n")
        self._send(200, {}, b"".join(out) + f"--{boundary}--\r\n".encode(), f"multipart/mixed; boundary={boundary}")

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle
