"""One HTTP session for the authority and Graph, and the Graph client on top of it.

- TLS is always verified: ``ca_file`` adds a private CA; otherwise ``REQUESTS_CA_BUNDLE`` /
  ``CURL_CA_BUNDLE`` apply as in any requests session, and ``SSL_CERT_FILE`` is honoured too.
- At most :attr:`MicrosoftSettings.mailbox_concurrency` (never above 4) requests are in flight
  per mailbox in this process, whatever the sync's ``max_concurrency``.
- 429/503/504 wait as ``Retry-After`` says, for at most ``max_retry_wait`` seconds per client,
  then raise :class:`~balanced_calendar.model.RateLimited`.
- Every failure is a typed error whose public text holds no address, URL path or token.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from balanced_calendar.model import AuthExpired, ProviderError, RateLimited

from connectors.microsoft.settings import MicrosoftSettings

log = logging.getLogger(__name__)

NAME = "microsoft"
#: statuses Graph uses for "slow down" (throttling, service busy, gateway timeout)
RETRY_STATUSES = frozenset({429, 503, 504})
#: wait when a throttling answer names no Retry-After
DEFAULT_RETRY_AFTER = 2.0
#: sub-requests per JSON batch (Graph's limit)
BATCH_LIMIT = 20


class GraphSession(requests.Session):
    """A requests session that verifies TLS against ``ca_file`` when one is configured.

    A session's own ``verify`` loses against ``REQUESTS_CA_BUNDLE`` in requests, so the
    configured file is passed with each request instead; without one, the environment's
    bundle applies (``SSL_CERT_FILE`` when requests' own variables are not set).
    """

    def __init__(self, ca_file: str | None = None) -> None:
        super().__init__()
        self._ca_file = ca_file

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("verify") is None:
            if self._ca_file:
                kwargs["verify"] = self._ca_file
            elif not (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")) \
                    and os.environ.get("SSL_CERT_FILE"):
                kwargs["verify"] = os.environ["SSL_CERT_FILE"]
        return super().request(method, url, *args, **kwargs)


def build_session(settings: MicrosoftSettings, factory: Callable[[], Any] | None = None) -> requests.Session:
    """The session for one connector: the runtime's ``http`` factory when given, else ours."""
    if factory is not None:
        return factory()
    return GraphSession(str(settings.ca_file) if settings.ca_file else None)


# -- per-mailbox concurrency ------------------------------------------------------------
_SLOTS: dict[tuple[str, str], threading.BoundedSemaphore] = {}
_SLOTS_LOCK = threading.Lock()


def mailbox_slot(settings: MicrosoftSettings, mailbox: str) -> threading.BoundedSemaphore:
    """The process-wide semaphore of ``mailbox`` on this Graph (shared by all its clients)."""
    key = (settings.graph_root, mailbox.lower())
    with _SLOTS_LOCK:
        slot = _SLOTS.get(key)
        if slot is None:
            slot = _SLOTS[key] = threading.BoundedSemaphore(settings.mailbox_concurrency)
        return slot


@contextlib.contextmanager
def mailbox_slots(settings: MicrosoftSettings, mailboxes: Sequence[str]) -> Iterator[None]:
    """Hold one slot of each mailbox (in a fixed order, so two batches cannot deadlock)."""
    taken: list[threading.BoundedSemaphore] = []
    try:
        for mailbox in sorted({m.lower() for m in mailboxes}):
            slot = mailbox_slot(settings, mailbox)
            slot.acquire()
            taken.append(slot)
        yield
    finally:
        for slot in reversed(taken):
            slot.release()


# -- answers ----------------------------------------------------------------------------
@dataclass
class Answer:
    """One Graph answer (a plain one or a batch sub-response)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None

    @property
    def error_code(self) -> str:
        if isinstance(self.body, Mapping):
            error = self.body.get("error")
            if isinstance(error, Mapping):
                return str(error.get("code") or "")
        return ""

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((str(v) for k, v in self.headers.items() if k.lower() == wanted), None)


def retry_after(answer: Answer) -> float:
    value = answer.header("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else DEFAULT_RETRY_AFTER
    except ValueError:
        return DEFAULT_RETRY_AFTER


def _body(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


@dataclass(frozen=True)
class Call:
    """One request to make: ``url`` relative to the Graph root (``/users/…``) or absolute
    (a ``@odata.nextLink``); ``mailbox`` is whose concurrency slot it takes."""

    method: str
    url: str
    mailbox: str
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


class GraphClient:
    """Graph requests for one token source, with throttling, a per-mailbox cap and typed errors.

    ``token`` returns a bearer token (``force=True``: not from the cache, after a 401);
    ``reenroll`` is the command that fixes expired consent, quoted in :class:`AuthExpired`.
    ``requests_made`` counts HTTP requests sent to Graph (a batch is one).
    """

    def __init__(self, settings: MicrosoftSettings, session: requests.Session,
                 token: Callable[[bool], str], *, reenroll: str, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.session = session
        self._token = token
        self._reenroll = reenroll
        self._sleep = sleep
        self._waited = 0.0
        self.requests_made = 0

    def absolute(self, url: str) -> str:
        return url if url.startswith(("https://", "http://")) else self.settings.graph_root + url

    def relative(self, url: str) -> str:
        """``url`` relative to the Graph root (batch sub-requests need that form)."""
        root = self.settings.graph_root
        return url[len(root):] if url.startswith(root) else url

    # -- one request --------------------------------------------------------------------
    def call(self, call: Call, *, ok: Sequence[int] = (200,)) -> Answer:
        """Send ``call``; throttling answers are retried. Statuses in ``ok`` (and 404, 410,
        412, which callers interpret) are returned; anything else raises a typed error."""
        answer = self._retrying(lambda force_token: self._send(call, force_token=force_token))
        if answer.status in ok or answer.status in (404, 410, 412):
            return answer
        raise self.error(answer)

    def _retrying(self, send: Callable[[bool], Answer]) -> Answer:
        """``send(force_token)`` again while Graph throttles (waiting as it asks, within the
        budget) and once with a fresh token after a 401; the first other answer."""
        refreshed = False
        while True:
            answer = send(refreshed)
            if answer.status in RETRY_STATUSES:
                self._wait(answer)
                continue
            if answer.status == 401 and not refreshed:
                refreshed = True
                continue
            return answer

    def _send(self, call: Call, *, force_token: bool) -> Answer:
        headers = {"Authorization": f"Bearer {self._token(force_token)}", "Accept": "application/json",
                   **call.headers}
        kwargs: dict[str, Any] = {"headers": headers, "timeout": self.settings.timeout}
        if isinstance(call.body, bytes):
            kwargs["data"] = call.body
        elif call.body is not None:
            kwargs["json"] = call.body
        with mailbox_slots(self.settings, [call.mailbox]):
            self.requests_made += 1
            try:
                response = self.session.request(call.method, self.absolute(call.url), **kwargs)
            except requests.exceptions.SSLError:
                raise ProviderError(NAME, "the TLS certificate of Microsoft Graph is not trusted",
                                    hint="set [connectors.microsoft] ca_file to your CA bundle "
                                         "(or REQUESTS_CA_BUNDLE)") from None
            except requests.exceptions.Timeout:
                raise ProviderError(NAME, f"Microsoft Graph did not answer within {self.settings.timeout:g} s",
                                    hint="retry later, or raise [connectors.microsoft] timeout") from None
            except requests.exceptions.RequestException as exc:
                raise ProviderError(NAME, f"cannot reach Microsoft Graph ({type(exc).__name__})",
                                    hint="check [connectors.microsoft] graph_endpoint and the network") from None
        return Answer(response.status_code, dict(response.headers), _body(response))

    def _wait(self, answer: Answer) -> None:
        """Sleep as ``Retry-After`` asks, or raise :class:`RateLimited` past the budget."""
        wait = retry_after(answer)
        if self._waited + wait > self.settings.max_retry_wait:
            raise RateLimited(NAME, wait, f"Microsoft Graph keeps throttling (HTTP {answer.status}) "
                                          f"after {self._waited:g} s of waiting")
        log.info("Graph asked to wait %g s (HTTP %d)", wait, answer.status)
        self._waited += wait
        self._sleep(wait)

    # -- errors -------------------------------------------------------------------------
    def error(self, answer: Answer) -> ProviderError:
        code = answer.error_code
        label = f"HTTP {answer.status}" + (f" {code}" if code else "")
        if answer.status == 401:
            return AuthExpired(NAME, f"Microsoft Graph refused the token ({label})", hint=self._reenroll)
        if answer.status == 403:
            return ProviderError(NAME, f"access to this mailbox was denied ({label})",
                                 hint="check the app's Graph permissions and admin consent; in app mode the "
                                      "person must be in the group the application access policy allows")
        return ProviderError(NAME, f"Microsoft Graph answered {label}",
                             hint="retry later; if it persists, check the service health in the admin center")

    # -- JSON batch -----------------------------------------------------------------------
    def batch(self, calls: Sequence[Call]) -> list[Answer]:
        """Send ``calls`` as JSON batches of at most 20; throttled sub-requests (429/503/504)
        are retried in a later batch while ``max_retry_wait`` allows, then returned as they
        are, for each caller to report as a rate limit. Answers come in the order of ``calls``."""
        answers: dict[int, Answer] = {}
        todo = list(range(len(calls)))
        while todo:
            chunk, todo = todo[:BATCH_LIMIT], todo[BATCH_LIMIT:]
            payload = {"requests": [
                {"id": str(i), "method": calls[i].method, "url": self.relative(calls[i].url),
                 **({"headers": dict(calls[i].headers)} if calls[i].headers else {}),
                 **({"body": calls[i].body} if calls[i].body is not None else {})} for i in chunk]}
            mailboxes = [calls[i].mailbox for i in chunk]
            outer = self._batch_once(payload, mailboxes)
            again: list[int] = []
            throttled: list[Answer] = []
            for item in outer.body.get("responses", []) if isinstance(outer.body, Mapping) else []:
                index = int(item.get("id", -1))
                sub = Answer(int(item.get("status", 500)), item.get("headers") or {}, item.get("body"))
                if sub.status in RETRY_STATUSES:
                    again.append(index)
                    throttled.append(sub)
                else:
                    answers[index] = sub
            missing = [i for i in chunk if i not in answers and i not in again]
            if missing:
                raise ProviderError(NAME, "Microsoft Graph left requests of a batch unanswered")
            if again:
                worst = max(throttled, key=retry_after)
                if self._waited + retry_after(worst) > self.settings.max_retry_wait:
                    answers.update(zip(again, throttled))  # past the budget: the callers report them
                else:
                    self._wait(worst)
                    todo = again + todo
        return [answers[i] for i in range(len(calls))]

    def _batch_once(self, payload: Mapping[str, Any], mailboxes: Sequence[str]) -> Answer:
        def send(force_token: bool) -> Answer:
            headers = {"Authorization": f"Bearer {self._token(force_token)}", "Accept": "application/json",
                       "Content-Type": "application/json"}
            with mailbox_slots(self.settings, mailboxes):
                self.requests_made += 1
                try:
                    response = self.session.post(self.absolute("/$batch"), data=json.dumps(payload),
                                                 headers=headers, timeout=self.settings.timeout)
                except requests.exceptions.RequestException as exc:
                    raise ProviderError(NAME, f"cannot reach Microsoft Graph ({type(exc).__name__})") from None
            return Answer(response.status_code, dict(response.headers), _body(response))

        answer = self._retrying(send)
        if answer.status != 200:
            raise self.error(answer)
        return answer
