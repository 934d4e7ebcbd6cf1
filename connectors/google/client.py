"""The Calendar v3 client: built from the discovery document shipped with
google-api-python-client (nothing is downloaded), pointed at ``[connectors.google]
api_endpoint``, with TLS trust, retries and typed errors.

``api_endpoint`` is the API *root* (like the discovery document's ``rootUrl``,
``https://www.googleapis.com/``): requests go to ``<root>calendar/v3/…`` and batches to
``<root>batch/calendar/v3``. (The client's own ``api_endpoint`` option takes the whole base
URL and leaves batches at Google; both are derived here from the one root.)

Retries: 429 and 403 ``rateLimitExceeded``/``userRateLimitExceeded`` wait with exponential
backoff and jitter, at least as long as ``Retry-After`` says; 5xx answers are retried the
same way. The waits of one connector add up to at most ``max_wait`` seconds; after that the
call raises :class:`RateLimited` (or :class:`ProviderError` for a server that keeps failing).
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import random
import ssl
import time
from collections.abc import Callable, Mapping
from typing import Any

from balanced_calendar.model import Conflict, ProviderError, RateLimited, UserError

from connectors.google.auth import Account

log = logging.getLogger(__name__)

RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
#: first backoff step in seconds (doubled each retry, with jitter)
BACKOFF_SECONDS = 1.0
MAX_ATTEMPTS = 8

Sleep = Callable[[float], None]


class SyncTokenExpired(Exception):
    """HTTP 410 on a read with a sync token: the caller reads everything again."""


class Gone(Exception):
    """HTTP 404/410 on a single event: it is not (or no longer) there."""


def ca_bundle(settings: Any, environ: Mapping[str, str] = os.environ) -> str | None:
    """The CA bundle to trust: ``ca_file`` when set; else the bundles named by
    ``$SSL_CERT_FILE`` and ``$REQUESTS_CA_BUNDLE`` (both, when both are set); else ``None``
    (the bundle httplib2 ships)."""
    if getattr(settings, "ca_file", None):
        return str(settings.ca_file)
    named = list(dict.fromkeys(p for p in (environ.get("SSL_CERT_FILE"), environ.get("REQUESTS_CA_BUNDLE")) if p))
    if len(named) < 2:
        return named[0] if named else None
    return _combined(tuple(named))


_COMBINED: dict[tuple[str, ...], str] = {}


def _combined(paths: tuple[str, ...]) -> str:
    """One PEM file holding every bundle in ``paths`` (httplib2 takes a single file)."""
    if paths not in _COMBINED:
        import hashlib
        import tempfile

        data = b"\n".join(_read(path) for path in paths)
        target = os.path.join(tempfile.gettempdir(),
                              f"balanced-calendar-ca-{os.getuid()}-{hashlib.sha256(data).hexdigest()[:16]}.pem")
        with open(target, "wb") as handle:
            handle.write(data)
        _COMBINED[paths] = target
    return _COMBINED[paths]


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise UserError(f"cannot read the CA bundle {path}: {exc.strerror or exc}",
                        hint="fix SSL_CERT_FILE / REQUESTS_CA_BUNDLE or set [connectors.google] ca_file") from None


def base_http(settings: Any) -> Any:
    """A plain httplib2 connection pool with certificate checks on and our CA bundle."""
    import httplib2

    return httplib2.Http(timeout=settings.timeout, ca_certs=ca_bundle(settings))


_DOCUMENT: dict[str, Any] | None = None


def discovery_document() -> dict[str, Any]:
    """The Calendar v3 discovery document bundled with google-api-python-client."""
    global _DOCUMENT
    if _DOCUMENT is None:
        from googleapiclient.discovery_cache import get_static_doc

        text = get_static_doc("calendar", "v3")
        if text is None:
            raise UserError("google-api-python-client has no bundled calendar v3 discovery document",
                            hint="install google-api-python-client >= 2.100")
        _DOCUMENT = json.loads(text)
    return _DOCUMENT


def build_service(settings: Any, http: Any) -> Any:
    """A Calendar v3 ``Resource`` talking through ``http`` to ``settings.api_root``."""
    from googleapiclient.discovery import build_from_document

    document = discovery_document()
    return build_from_document(document, http=http,
                               client_options={"api_endpoint": settings.api_root + document["servicePath"]})


def batch_uri(settings: Any) -> str:
    return settings.api_root + discovery_document()["batchPath"]


def error_reason(content: bytes | str | None) -> tuple[str, str]:
    """``(reason, message)`` of a Google JSON error body (empty strings when there is none)."""
    try:
        error = json.loads(content or b"{}").get("error") or {}
    except (ValueError, AttributeError):
        return "", ""
    if isinstance(error, str):  # OAuth-style {"error": "invalid_grant"}
        return error, ""
    errors = error.get("errors") or [{}]
    return str(errors[0].get("reason") or error.get("status") or ""), str(error.get("message") or "")


def retry_after(headers: Mapping[str, str]) -> float:
    """Seconds from a ``Retry-After`` header (a number or an HTTP date); 0 when absent."""
    value = headers.get("retry-after")
    if not value:
        return 0.0
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time()) if when else 0.0


class Api:
    """One person's Calendar client: a service bound to their credentials, and the retry
    loop every call goes through (:meth:`call`)."""

    def __init__(self, settings: Any, account: Account, *, http: Any = None,
                 sleep: Sleep = time.sleep, rng: random.Random | None = None) -> None:
        import google_auth_httplib2

        self.settings = settings
        self.account = account
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.waited = 0.0
        self.http = http if http is not None else base_http(settings)
        self.authorized = google_auth_httplib2.AuthorizedHttp(account.credentials(), http=self.http)
        self.service = build_service(settings, self.authorized)

    def refresh_if_needed(self) -> None:
        """Get an access token now if the cached one is missing or expired (for batches)."""
        import google_auth_httplib2

        creds = self.account.credentials()
        if not creds.valid:
            self._guard(lambda: creds.refresh(google_auth_httplib2.Request(self.http)))

    def call(self, request: Any, *, sync_read: bool = False, single: bool = False) -> Any:
        """Execute ``request`` with retries; returns the decoded answer.

        ``sync_read``: a 410 raises :class:`SyncTokenExpired`; ``single``: a 404 or 410
        raises :class:`Gone`. Raises :class:`RateLimited`, :class:`Conflict` (412),
        :class:`AuthExpired` and :class:`ProviderError` as described in the module.
        """
        from googleapiclient.errors import HttpError

        attempt = 0
        while True:
            try:
                return self._guard(lambda: request.execute(num_retries=0))
            except HttpError as exc:
                status = int(exc.resp.status)
                reason, message = error_reason(exc.content)
                if status == 410 and sync_read:
                    raise SyncTokenExpired() from None
                if single and status in (404, 410):
                    raise Gone() from None
                if status == 412:
                    raise Conflict("google", "the block was changed in the calendar meanwhile (etag mismatch)") \
                        from None
                rate = status == 429 or (status == 403 and reason in RATE_REASONS)
                if not rate and status < 500:
                    raise self._refused(status, reason, message) from None
                wait = max(retry_after(exc.resp), BACKOFF_SECONDS * 2 ** attempt * (0.5 + self.rng.random()))
                attempt += 1
                if attempt >= MAX_ATTEMPTS or self.waited + wait > self.settings.max_wait:
                    if rate:
                        raise RateLimited("google", max(wait, 1.0),
                                          f"Google keeps refusing with {reason or status} after "
                                          f"{self.waited:g} s of waiting") from None
                    raise ProviderError("google", f"the Calendar API keeps failing (HTTP {status})",
                                        hint="try again later") from None
                log.info("google answered %s%s; waiting %.1f s", status, f" {reason}" if reason else "", wait)
                self.sleep(wait)
                self.waited += wait

    def _refused(self, status: int, reason: str, message: str) -> UserError:
        if status == 401:
            return self.account.expired("the API refused the access token")
        if status == 404:
            return ProviderError("google", "the calendar was not found (HTTP 404)",
                                 hint="check the person's calendar id, or that they share it with the account")
        if status == 403:
            return ProviderError("google", f"the Calendar API refused access (HTTP 403 {reason})",
                                 hint="check the scopes granted to the client or service account "
                                      "(see the README's Google section)")
        return ProviderError("google", f"the Calendar API refused the request (HTTP {status} {reason})".strip())

    def _guard(self, action: Callable[[], Any]) -> Any:
        """Run ``action``; token-endpoint and network failures become typed errors."""
        import httplib2
        from google.auth import exceptions as auth_errors

        try:
            return action()
        except auth_errors.RefreshError as exc:
            raise self._refresh_failed(exc) from None
        except auth_errors.TransportError as exc:
            raise _network_error(exc.__cause__ or exc, "the token endpoint") from None
        except (httplib2.HttpLib2Error, OSError) as exc:
            raise _network_error(exc, "the Calendar API") from None

    def _refresh_failed(self, exc: Exception) -> UserError:
        data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
        code = str(data.get("error") or (str(exc.args[0]).split(":")[0] if exc.args else ""))
        if code == "invalid_grant":
            return self.account.expired("invalid_grant")
        if code in ("unauthorized_client", "access_denied", "invalid_scope"):
            return UserError(f"google: the token endpoint refused the grant ({code})",
                             hint="grant the service account domain-wide delegation for exactly these scopes: "
                                  + ", ".join(self.account.credentials().scopes or ())
                             if self.account.domain else
                             "run: balanced-calendar enroll --provider google --email " + self.account.email)
        return ProviderError("google", f"the token endpoint refused the request ({code or 'no reason given'})",
                             hint="check the token_uri of the client or service account file")


def _network_error(exc: BaseException, what: str) -> ProviderError:
    if isinstance(exc, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return ProviderError("google", f"the TLS certificate of {what} is not trusted",
                             hint="set [connectors.google] ca_file (or SSL_CERT_FILE) to your CA's PEM bundle")
    if isinstance(exc, TimeoutError):
        return ProviderError("google", f"{what} did not answer in time",
                             hint="try again later or raise [connectors.google] timeout")
    return ProviderError("google", f"cannot reach {what} ({type(exc).__name__})", hint="check the network and "
                         "[connectors.google] api_endpoint")
