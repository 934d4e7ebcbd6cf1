"""Downloading published calendars over HTTP(S) and webcal, for any connector.

:func:`http_url` tells a URL from a local path (``webcal://`` is fetched over https),
:func:`redact` makes a URL fit for messages and logs (published addresses embed secrets),
and :func:`fetch` downloads with a total deadline and a size limit, turning every failure
into a :class:`~balanced_calendar.model.ProviderError` with a hint where one helps.

The deadline counts from the start of the request (connect, headers and body), not only
silence: a server that sends one byte a second is cut off when it runs out. With the default
HTTP client a watchdog shuts the socket down at the deadline, so even a trickle of headers
cannot hold a read past it; redirects to anything but http(s) are refused.
"""

from __future__ import annotations

import http.client
import logging
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from balanced_calendar.model import ProviderError

log = logging.getLogger(__name__)

#: a published calendar larger than this is refused rather than read into memory
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024


def http_url(source: str) -> str | None:
    """The URL to fetch for an http(s)/webcal ``source``; ``None`` for a local path."""
    scheme, sep, rest = source.strip().partition("://")
    scheme = scheme.lower()
    if not sep:
        return None
    if scheme in ("webcal", "webcals"):
        return "https://" + rest
    if scheme in ("http", "https"):
        return source.strip()
    return None


def redact(url: str) -> str:
    """A URL fit for messages and logs: ``scheme://host[:port]/…``, nothing of the path.

    Published calendar addresses carry their secret anywhere in the path or the query
    (Nextcloud: ``/remote.php/dav/public-calendars/<token>?export``), so no part of them is
    kept; the user information is dropped with them.
    """
    parts = urllib.parse.urlsplit(url.strip())
    scheme = parts.scheme.lower() or "http"
    try:
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # a malformed port: show no host part at all
        host, port = "", None
    if port:
        host += f":{port}"
    return f"{scheme}://{host}/…"


#: what to tell the user for HTTP errors typical of published calendars
HTTP_HINTS = {
    401: "the calendar is private; use its secret address (\"Secret address in iCal format\")",
    403: "the calendar is private or its secret address was reset; copy the address again",
    404: "check the address; resetting a secret address makes the old one stop working",
    410: "the calendar is no longer published at this address",
}


class Deadline:
    """A monotonic deadline for one download; :meth:`watch`-ed sockets are shut down when it
    passes, which wakes a read blocked on a server that trickles bytes."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True

    def remaining(self) -> float:
        """Seconds left (never below a millisecond, so it can be a socket timeout)."""
        return max(0.001, self.at - time.monotonic())

    @property
    def passed(self) -> bool:
        return self.expired or time.monotonic() >= self.at

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shutdown(sock)

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    try:  # the plain socket's shutdown: an SSL socket's own would drop its state under a reader
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except (OSError, TypeError):
        pass


def _connection(base: type[http.client.HTTPConnection], deadline: Deadline) -> type:
    class DeadlineConnection(base):  # type: ignore[valid-type, misc]
        def connect(self) -> None:
            self.timeout = min(self.timeout, deadline.remaining()) if isinstance(self.timeout, (int, float)) \
                else deadline.remaining()
            super().connect()
            deadline.watch(self.sock)

    return DeadlineConnection


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_connection(http.client.HTTPConnection, self._deadline), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_connection(http.client.HTTPSConnection, self._deadline), req,
                            context=self._context)


class _RefusedRedirect(Exception):
    def __init__(self, scheme: str) -> None:
        super().__init__(scheme)
        self.scheme = scheme


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects only to http(s): a published calendar never moves to ftp:// or file://."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        scheme = urllib.parse.urlsplit(urllib.parse.urljoin(req.full_url, newurl)).scheme.lower()
        if scheme not in ("http", "https"):
            raise _RefusedRedirect(scheme or "?")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def default_opener(deadline: Deadline) -> urllib.request.OpenerDirector:
    """The standard opener (environment proxies apply) with the deadline on every socket and
    redirects limited to http(s)."""
    return urllib.request.build_opener(_HttpOnlyRedirects(), _HTTPHandler(deadline), _HTTPSHandler(deadline))


#: how much of the body one read asks for; the deadline is checked between reads
CHUNK_BYTES = 256 * 1024


def fetch(url: str, timeout: float, opener: urllib.request.OpenerDirector | None, *,
          provider: str = "ics") -> tuple[bytes, str | None]:
    """GET ``url`` within ``timeout`` seconds in total; returns (body, charset).

    ``timeout`` bounds the whole download (connect, headers, body), whatever the pace of the
    server. ``opener`` is the seam for the HTTP client (``None``: the standard client with a
    socket watchdog, see :func:`default_opener`; another opener gets the deadline checked
    between reads and as its socket timeout). ``provider`` names the connector in errors and
    the User-Agent. Raises :class:`ProviderError` on an HTTP error, the deadline ("no
    complete answer within N s"), an unreachable server, a redirect to a non-http(s) address
    or a body larger than :data:`MAX_DOWNLOAD_BYTES`; messages carry only the
    :func:`redact`-ed URL.
    """
    label = redact(url)
    request = urllib.request.Request(url, headers={
        "User-Agent": f"balanced-calendar ({provider} connector)",
        "Accept": "text/calendar, text/plain;q=0.5, */*;q=0.1",
    })

    def late() -> ProviderError:
        return ProviderError(provider, f"no complete answer within {timeout:g} s", source=label,
                             hint="the server is too slow or keeps the connection open; try again later "
                                  "or raise [connectors.ics] timeout")

    with Deadline(timeout) as deadline:
        open_url = (opener or default_opener(deadline)).open
        try:
            with open_url(request, timeout=deadline.remaining()) as response:
                charset = response.headers.get_content_charset()
                chunks: list[bytes] = []
                size = 0
                read = getattr(response, "read1", response.read)
                while True:
                    if deadline.passed:
                        raise late()
                    _set_timeout(response, deadline.remaining())
                    chunk = read(CHUNK_BYTES)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > MAX_DOWNLOAD_BYTES:
                        raise ProviderError(provider, f"larger than {MAX_DOWNLOAD_BYTES // 2**20} MiB",
                                            source=label)
                    chunks.append(chunk)
                if deadline.expired:  # the watchdog closed the socket: the body is cut short
                    raise late()
        except ProviderError:
            raise
        except _RefusedRedirect as exc:
            raise ProviderError(provider, f"the server redirected to a {exc.scheme}:// address; only "
                                "http(s) redirects are followed", source=label) from None
        except urllib.error.HTTPError as exc:
            exc.close()
            hint = HTTP_HINTS.get(exc.code, "try again later" if exc.code >= 500 else None)
            raise ProviderError(provider, f"the server answered HTTP {exc.code} {exc.reason}",
                                hint=hint, source=label) from None
        except (OSError, http.client.HTTPException) as exc:
            if deadline.passed or isinstance(exc, TimeoutError) or (
                    isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, TimeoutError)):
                raise late() from None
            if isinstance(exc, urllib.error.URLError):
                raise ProviderError(provider, f"cannot reach the server ({exc.reason})", source=label) from None
            raise ProviderError(provider, f"download failed ({exc.__class__.__name__})", source=label) from None
    body = b"".join(chunks)
    log.debug("fetched %d bytes from %s", len(body), label)
    return body, charset


def _set_timeout(response: object, seconds: float) -> None:
    """Make the next socket read of ``response`` wait no longer than the deadline."""
    raw = getattr(getattr(response, "fp", None), "raw", None)
    sock = getattr(raw, "_sock", None)
    if sock is not None:
        try:
            sock.settimeout(seconds)
        except OSError:
            pass
