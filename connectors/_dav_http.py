"""One person's HTTP session to a CalDAV server, through the ``caldav`` library's client.

:class:`DavSession` sends every request of the CalDAV connector and its enrollment, counts
them (:attr:`DavSession.requests`, for the benchmark) and turns every failure into the typed
errors of :mod:`balanced_calendar.model`: 401 is :class:`AuthExpired` with the fix, 429 and
503 are retried after their ``Retry-After`` within a bounded total wait, then
:class:`RateLimited`; an unreachable server or another HTTP error is a
:class:`ProviderError`. Messages name the server as ``scheme://host/…`` only: the path of a
calendar (it holds the person's address) and the password never appear in them.
"""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from balanced_calendar.model import AuthExpired, ProviderError, RateLimited

from connectors._http import redact

log = logging.getLogger(__name__)
# The library logs request and response bodies (event titles) at DEBUG: keep it quieter.
logging.getLogger("caldav").setLevel(logging.WARNING)

NAME = "caldav"
#: seconds to wait after a 429 without a usable Retry-After
DEFAULT_RETRY_AFTER = 1.0

#: what to tell the operator for HTTP errors of a CalDAV server
HINTS = {
    401: "the server refused the username or password: fix password_file (or username) in "
         "[connectors.caldav], or enroll the person again with their current password "
         "(balanced-calendar enroll --provider caldav --email ADDRESS)",
    403: "the account may not read this calendar: share it with the service account, or check "
         "the calendar address",
    404: "check the calendar address (Zimbra: https://HOST/dav/USER/Calendar/, Nextcloud: "
         "https://HOST/remote.php/dav/calendars/USER/personal/)",
    405: "the address is not a CalDAV calendar collection",
}


class DavSession:
    """HTTP to one CalDAV server with one account.

    ``max_wait`` bounds the total seconds spent waiting for ``Retry-After`` in one request;
    ``sleep`` is the seam for that wait.
    """

    def __init__(self, url: str, username: str | None, password: str | None, *, auth: str = "basic",
                 timeout: float = 30.0, max_wait: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        from caldav import DAVClient

        self.url = url
        self.label = redact(url)
        self.requests = 0
        self.max_wait = max_wait
        self._sleep = sleep
        self._client = DAVClient(url=url, username=username, password=password,
                                 auth_type=auth if username else None, timeout=timeout,
                                 enable_rfc6764=False, rate_limit_handle=False,
                                 headers={"User-Agent": "balanced-calendar (caldav connector)"})

    @property
    def client(self) -> Any:
        """The library's ``DAVClient`` (discovery uses its principal and calendar objects)."""
        return self._client

    def absolute(self, href: str) -> str:
        """``href`` (absolute or relative to the session URL) as a full URL."""
        return urllib.parse.urljoin(self.url, href)

    def request(self, method: str, url: str, body: str = "", headers: Mapping[str, str] | None = None,
                *, depth: int | None = None) -> Any:
        """Send one request and return the library's ``DAVResponse`` for any status below 500
        except 401 (and 403: :class:`ProviderError`, unless ``method`` is ``REPORT``, whose 403 may
        be an expired sync token: the caller looks at it). Raises as the module says."""
        from caldav.lib import error

        all_headers = dict(headers or {})
        if depth is not None:
            all_headers["Depth"] = str(depth)
        if body:
            all_headers.setdefault("Content-Type", "application/xml; charset=utf-8")
        waited = 0.0
        while True:
            self.requests += 1
            try:
                response = self._client.request(url, method, body, all_headers)
            except error.RateLimitError as exc:
                wait = exc.retry_after_seconds if exc.retry_after_seconds is not None else DEFAULT_RETRY_AFTER
                wait = max(0.0, wait)
                if waited + wait > self.max_wait:
                    raise RateLimited(NAME, wait, f"the server is busy (HTTP {exc.status or 429}) at "
                                      f"{self.label} and asks to wait longer than the "
                                      f"{self.max_wait:g} s allowed") from None
                log.info("caldav server %s busy (HTTP %s): retrying in %g s", self.label, exc.status, wait)
                self._sleep(wait)
                waited += wait
                continue
            except error.AuthorizationError as exc:
                if exc.status == 403 and method == "REPORT":
                    return _Refused(403, exc.preconditions)
                if (exc.status or 401) == 401:
                    raise AuthExpired(NAME, "the server answered HTTP 401 (wrong username or password); fix "
                                      "password_file in [connectors.caldav] or enroll the person again",
                                      hint=HINTS[401], source=self.label) from None
                raise ProviderError(NAME, f"the server answered HTTP {exc.status} (forbidden)", hint=HINTS[403],
                                    source=self.label) from None
            except error.DAVError as exc:
                raise ProviderError(NAME, f"the server's answer could not be read ({type(exc).__name__})",
                                    source=self.label) from None
            except (OSError, ValueError) as exc:  # niquests' connection errors derive from OSError
                raise ProviderError(NAME, f"cannot reach the server ({_reason(exc)})",
                                    hint="check [connectors.caldav] url and that the server is up",
                                    source=self.label) from None
            if response.status >= 500:
                raise ProviderError(NAME, f"the server answered HTTP {response.status}",
                                    hint="a server error; try again later", source=self.label)
            return response

    def fail(self, response: Any, what: str) -> ProviderError:
        """The error for an unexpected answer to ``what`` (e.g. "reading the calendar")."""
        status = response.status
        return ProviderError(NAME, f"{what}: the server answered HTTP {status}", hint=HINTS.get(status),
                             source=self.label)

    def close(self) -> None:
        try:
            self._client.close()
        except Exception:  # closing a session that never connected
            pass


class _Refused:
    """A 403 answer to a REPORT (``DAV:valid-sync-token`` means: the token expired)."""

    def __init__(self, status: int, preconditions: list[str]) -> None:
        self.status = status
        self.preconditions = preconditions
        self.tree = None


def _reason(exc: BaseException) -> str:
    """A short cause without URLs: the exception class (and errno text where there is one)."""
    text = getattr(exc, "strerror", None)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
