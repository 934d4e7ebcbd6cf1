"""The portal's guards: sessions and their cookie, CSRF tokens, pending sign-ins (``state``
and PKCE verifier, used once), the sign-in rate limit, security headers and the reverse
proxy's ``X-Forwarded-*`` headers (believed only from configured proxies).

Sessions live in the portal process's memory (a restart signs everyone out); the cookie
carries only a random id: no address, no token. Nothing here logs an address or a token.
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
import secrets
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

COOKIE = "__Host-bc-session"

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class Pending:
    """A sign-in sent to a provider and not yet answered."""

    provider: str
    email: str
    intent: str  # "optin" | "signin" | "upgrade"
    state: str
    verifier: str
    language: str
    started: dt.datetime


@dataclass
class Session:
    id: str
    csrf: str
    created: dt.datetime
    language: str = "id"
    email: str | None = None  # set once a provider proved who signed in
    pending: Pending | None = None
    flash: str | None = None


@dataclass
class Sessions:
    """Server-side sessions that expire ``lifetime`` after they were created (a sign-in
    starts a new one, so a signed-in session lasts ``lifetime`` from the sign-in)."""

    lifetime: dt.timedelta
    clock: Clock
    _items: dict[str, Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        with self._lock:
            session = self._items.get(sid)
            if session is None:
                return None
            if self.clock() - session.created >= self.lifetime:
                del self._items[sid]
                return None
            return session

    def new(self, language: str) -> Session:
        now = self.clock()
        session = Session(id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32), created=now,
                          language=language)
        with self._lock:
            for sid in [k for k, v in self._items.items() if now - v.created >= self.lifetime]:
                del self._items[sid]
            self._items[session.id] = session
        return session

    def rotate(self, old: Session) -> Session:
        """A new id and CSRF token for a session that changes privilege (sign-in): the old id
        stops working (session fixation)."""
        fresh = self.new(old.language)
        self.drop(old)
        return fresh

    def drop(self, session: Session) -> None:
        with self._lock:
            self._items.pop(session.id, None)

    def take_pending(self, session: Session, state: str) -> Pending | None:
        """The pending sign-in whose ``state`` equals ``state``, removed from the session: an
        answer is accepted once. ``None`` when there is none or the state differs."""
        with self._lock:
            pending = session.pending
            session.pending = None
        if pending is None or not state or not hmac.compare_digest(pending.state.encode(), state.encode()):
            return None
        return pending

    def __len__(self) -> int:
        return len(self._items)


def cookie_header(session: Session, lifetime: dt.timedelta) -> str:
    """``Set-Cookie`` value: ``__Host-`` prefix, Secure, HttpOnly, SameSite=Lax, expiring."""
    return (f"{COOKIE}={session.id}; Path=/; Max-Age={int(lifetime.total_seconds())}; Secure; HttpOnly; "
            f"SameSite=Lax")


def clear_cookie_header() -> str:
    return f"{COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax"


def csrf_ok(session: Session | None, sent: str | None) -> bool:
    return session is not None and bool(sent) and hmac.compare_digest(session.csrf.encode(), str(sent).encode())


class RateLimit:
    """At most ``per_minute`` hits per key in any 60-second window."""

    def __init__(self, per_minute: int, clock: Clock) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._hits: dict[str, deque[dt.datetime]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self.clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= dt.timedelta(minutes=1):
                hits.popleft()
            if len(hits) >= self.per_minute:
                return False
            hits.append(now)
            return True


def content_security_policy(form_targets: Iterable[str] = ()) -> str:
    """No script at all, styles from our own file, forms only to us (and the sign-in pages
    the providers' redirects lead to), never framed."""
    targets = " ".join(sorted(set(form_targets)))
    return ("default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
            f"form-action 'self'{' ' + targets if targets else ''}; frame-ancestors 'none'; base-uri 'none'")


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Cache-Control": "no-store",
}


class SecurityHeaders:
    """ASGI middleware: the headers above, the CSP (``csp()`` is asked per response, so the
    provider origins can be learnt lazily), and HSTS when the request came over https."""

    def __init__(self, app: Any, csp: Callable[[], str]) -> None:
        self.app = app
        self.csp = csp

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.lower().encode() not in present:
                        headers.append((name.encode(), value.encode()))
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", self.csp().encode()))
                if scope.get("scheme") == "https":
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class TrustedProxies:
    """ASGI middleware: the client address and scheme from ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` when, and only when, the connection comes from a configured proxy.

    ``X-Forwarded-For`` is read from the right: the first address that is not itself a
    trusted proxy is the client. ``X-Forwarded-Host`` is not used: the public address is
    ``[portal] base_url``.
    """

    def __init__(self, app: Any, networks: Iterable[str]) -> None:
        self.app = app
        self.networks = [ipaddress.ip_network(n, strict=False) for n in networks]

    def trusted(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in net for net in self.networks)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.networks:
            client = scope.get("client") or (None, 0)
            if self.trusted(client[0]):
                headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
                scope = dict(scope)
                chain = [h.strip() for h in headers.get("x-forwarded-for", "").split(",") if h.strip()]
                for hop in reversed(chain):
                    if not self.trusted(hop):
                        scope["client"] = (hop, 0)
                        break
                proto = headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
                if proto in ("http", "https"):
                    scope["scheme"] = proto
        await self.app(scope, receive, send)
