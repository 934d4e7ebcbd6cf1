"""One EWS account per person: exchangelib set up for an on-premises server, and its errors
turned into ours.

The service account signs in (NTLM, basic, or an OAuth bearer token) and impersonates the
enrolled person (``ExchangeImpersonation``). The endpoint and the server version are given,
so exchangelib sends no autodiscover or version-guessing request. :meth:`EwsClient.call`
runs one operation: it waits once when Exchange asks to back off for at most
``max_wait`` seconds, and raises :mod:`balanced_calendar.model` errors otherwise, whatever
failed (exchangelib, requests, TLS, oauthlib). The server's certificate is verified against
``ca_file`` when one is configured; a bearer token is never sent over plain http.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable
from typing import Any, TypeVar

from balanced_calendar.model import AuthExpired, BalancedCalendarError, Conflict, ProviderError, RateLimited

from connectors.exchange import OAUTH_HTTPS, ExchangeSettings, insecure_oauth

import exchangelib
import requests
import requests.adapters
from oauthlib.oauth2 import InsecureTransportError, OAuth2Error
from exchangelib import errors as ews_errors
from exchangelib.ewsdatetime import EWSTimeZone
from exchangelib.protocol import FailFast, Protocol
from exchangelib.version import Build, Version

from connectors._zones import to_zoneinfo
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

T = TypeVar("T")
NAME = "exchange"
#: Exchange 2016 CU23 (schema ``Exchange2016``): what 2016, 2019 and Subscription Edition all accept
VERSION = Version(build=Build(15, 1, 2507, 6))
#: exchangelib logs whole SOAP requests and answers (titles, addresses) at debug level, and the
#: request XML of an unexpected failure at ERROR: none of it may reach our logs. Every failure
#: reaches the operator as one of our typed errors instead (see ``_mapped``).
logging.getLogger("exchangelib").setLevel(logging.CRITICAL + 1)

# Windows zone names exchangelib does not know but the CLDR table does (all-day dates use them)
for _name in WINDOWS_TO_OLSON:
    if _name not in EWSTimeZone.MS_TO_IANA_MAP and to_zoneinfo(_name) is not None:
        EWSTimeZone.MS_TO_IANA_MAP[_name] = WINDOWS_TO_OLSON[_name]

IMPERSONATION_HINT = ("grant the service account the ApplicationImpersonation role for this person "
                      "(New-ManagementRoleAssignment -Role ApplicationImpersonation -User <service account> "
                      "-CustomRecipientWriteScope <scope of enrolled people>) and enroll again")


TLS_HINT = ("set ca_file of [connectors.exchange] to the PEM file of the CA that signed the Exchange "
            "server's certificate (or REQUESTS_CA_BUNDLE=/path/ca.pem in the service's environment), or fix "
            "the certificate's name to match service_endpoint")


class _TrustingAdapter(requests.adapters.HTTPAdapter):
    """Verifies the EWS endpoint against ``ca_file`` on every request, the NTLM handshake's too
    (a session's own ``verify`` would lose against ``REQUESTS_CA_BUNDLE``)."""

    def __init__(self, ca_file: str) -> None:
        # as exchangelib's own adapter: one connection per session, no retries of its own
        super().__init__(pool_block=True, pool_connections=Protocol.CONNECTIONS_PER_SESSION,
                         pool_maxsize=Protocol.CONNECTIONS_PER_SESSION, max_retries=0)
        self.ca_file = ca_file

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["verify"] = self.ca_file
        return super().send(request, **kwargs)


def _trust(protocol: Any, ca_file: str | None) -> None:
    """Make every session ``protocol`` creates verify the server against ``ca_file``: exchangelib
    has no per-endpoint CA setting, only a process-wide adapter class."""
    if ca_file is None or getattr(protocol, "trusted_ca_file", None) == ca_file:
        return
    create = protocol.create_session

    def create_session() -> Any:
        session = create()
        session.mount(protocol.service_endpoint, _TrustingAdapter(ca_file))
        return session

    protocol.create_session = create_session
    protocol.trusted_ca_file = ca_file


def _tls_problem(exc: BaseException) -> str | None:
    """What went wrong in the TLS handshake, if ``exc`` is such a failure (exchangelib turns
    requests' SSLError into a TransportError carrying its text)."""
    text = str(exc)
    if isinstance(exc, ews_errors.TransportError) and not isinstance(exc, ews_errors.ResponseMessageError):
        if "CERTIFICATE_VERIFY_FAILED" not in text and "SSLError" not in text:
            return None
    elif not isinstance(exc, (requests.exceptions.SSLError, ssl.SSLError)):
        return None
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return ("the EWS endpoint's TLS certificate is not trusted (signed by an unknown CA, expired, "
                "or issued for another name)")
    return "the TLS handshake with the EWS endpoint failed"


def _secret(path: Any) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ProviderError(NAME, f"cannot read the secret file {path}: {exc.strerror or exc}",
                            hint="the service user must be able to read it (mode 0600)") from None


def credentials(settings: ExchangeSettings) -> Any:
    """The exchangelib credentials of the service account, read fresh from its secret files."""
    if settings.auth == "oauth":
        token = _secret(settings.token_file)
        return exchangelib.OAuth2AuthorizationCodeCredentials(
            access_token={"access_token": token, "token_type": "Bearer"})
    return exchangelib.Credentials(settings.username, _secret(settings.password_file))


def account(settings: ExchangeSettings, email: str) -> Any:
    """An exchangelib ``Account`` impersonating ``email`` (no request is sent yet)."""
    auth_type = {"ntlm": exchangelib.NTLM, "basic": exchangelib.BASIC, "oauth": exchangelib.OAUTH2}[settings.auth]
    if insecure_oauth(settings.auth, settings.service_endpoint):
        raise ProviderError(NAME, OAUTH_HTTPS, hint="set service_endpoint of [connectors.exchange] to "
                                                    "https://HOST/EWS/Exchange.asmx",
                            source=settings.service_endpoint)
    config = exchangelib.Configuration(
        service_endpoint=settings.service_endpoint, credentials=credentials(settings), auth_type=auth_type,
        version=VERSION, retry_policy=FailFast(), max_connections=settings.max_concurrency)
    ca_file = str(settings.ca_file) if settings.ca_file else None
    # exchangelib shares one protocol (sessions, auth) per endpoint and credentials, whatever the
    # auth type and CA: a changed auth type or CA must not reuse the sessions of the previous one
    try:
        cached, _ = Protocol[config]
    except KeyError:
        cached = None
    if cached is not None and (getattr(cached, "auth_type", auth_type) != auth_type
                               or getattr(cached, "trusted_ca_file", None) != ca_file):
        del Protocol[config]
    found = exchangelib.Account(primary_smtp_address=email, config=config, autodiscover=False,
                                access_type=exchangelib.IMPERSONATION, default_timezone=EWSTimeZone("UTC"),
                                locale="en_US")
    found.protocol.TIMEOUT = settings.timeout
    _trust(found.protocol, ca_file)
    return found


class EwsClient:
    """Runs EWS operations for one person and maps their failures to our typed errors."""

    def __init__(self, settings: ExchangeSettings, email: str,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.email = email
        self._sleep = sleep
        self._account: Any = None
        self._calendar: Any = None

    @property
    def account(self) -> Any:
        if self._account is None:
            self._account = account(self.settings, self.email)
        return self._account

    @property
    def calendar(self) -> Any:
        """The person's default calendar folder (two GetFolder requests the first time)."""
        if self._calendar is None:
            self._calendar = self.call(lambda: self.account.calendar)
        return self._calendar

    def close(self) -> None:
        """Forget the account (exchangelib keeps the HTTP sessions of its endpoint for reuse)."""
        self._account = None
        self._calendar = None

    def call(self, operation: Callable[[], T]) -> T:
        """``operation()``, retried once it waited out a back-off of at most ``max_wait`` s."""
        waited = 0.0
        while True:
            try:
                return operation()
            except ews_errors.ErrorServerBusy as exc:
                back_off = exc.back_off if exc.back_off is not None else 60.0
                if waited + back_off > self.settings.max_wait:
                    raise RateLimited(NAME, back_off, "Exchange is throttling the service account "
                                                      "(ErrorServerBusy)") from None
                self._sleep(back_off)
                waited += back_off
            except BalancedCalendarError:
                raise
            except Exception as exc:  # noqa: BLE001 (every failure reaches the operator typed, with its fix)
                raise self.translate(exc) from None

    def translate(self, exc: Exception) -> ProviderError:
        """Our error for a failed operation: what is wrong and how to fix it, no server text."""
        endpoint = self.settings.service_endpoint
        tls = _tls_problem(exc)
        if tls is not None:
            return ProviderError(NAME, tls, hint=TLS_HINT, source=endpoint)
        if isinstance(exc, InsecureTransportError):
            return ProviderError(NAME, OAUTH_HTTPS, hint="set service_endpoint of [connectors.exchange] to "
                                                         "https://HOST/EWS/Exchange.asmx", source=endpoint)
        if isinstance(exc, OAuth2Error):
            return AuthExpired(NAME, f"the OAuth token was refused ({type(exc).__name__})",
                               hint="put a current access token in token_file of [connectors.exchange]",
                               source=endpoint)
        if isinstance(exc, (requests.RequestException, OSError)):
            return ProviderError(NAME, f"cannot reach the EWS endpoint ({type(exc).__name__})",
                                 hint="check service_endpoint of [connectors.exchange], the server's name "
                                      "in DNS and the network path (proxy, firewall)", source=endpoint)
        if not isinstance(exc, ews_errors.EWSError):
            return ProviderError(NAME, f"the EWS request failed unexpectedly ({type(exc).__name__})",
                                 hint="check service_endpoint of [connectors.exchange]; run the sync again "
                                      "with the same settings to see whether it persists", source=endpoint)
        if isinstance(exc, ews_errors.UnauthorizedError):
            hint = ("put a current access token in token_file of [connectors.exchange]"
                    if self.settings.auth == "oauth" else
                    "check username and password_file of [connectors.exchange] (expired password or locked account?)")
            return AuthExpired(NAME, "the EWS endpoint refused the service account's sign-in (HTTP 401)",
                               hint=hint, source=endpoint)
        if isinstance(exc, (ews_errors.ErrorImpersonateUserDenied, ews_errors.ErrorImpersonationDenied)):
            return ProviderError(NAME, "the service account may not impersonate this person "
                                       "(ErrorImpersonateUserDenied)", hint=IMPERSONATION_HINT, source=endpoint)
        if isinstance(exc, ews_errors.ErrorNonExistentMailbox):
            return ProviderError(NAME, "this address has no mailbox on the Exchange server (ErrorNonExistentMailbox)",
                                 hint="enroll the person with their primary SMTP address", source=endpoint)
        if isinstance(exc, ews_errors.ErrorIrresolvableConflict):
            return Conflict(NAME, "the block was changed in the calendar meanwhile (change key mismatch)")
        if isinstance(exc, ews_errors.ErrorAccessDenied):
            return ProviderError(NAME, "Exchange denied access to this calendar (ErrorAccessDenied)",
                                 hint=IMPERSONATION_HINT, source=endpoint)
        if isinstance(exc, ews_errors.ErrorTimeoutExpired):
            return ProviderError(NAME, f"the EWS endpoint did not answer (connection failed or no answer within "
                                       f"{self.settings.timeout:g} s)",
                                 hint="check service_endpoint and the network; raise timeout in "
                                      "[connectors.exchange] for a slow server", source=endpoint)
        if isinstance(exc, ews_errors.RedirectError):
            return ProviderError(NAME, "the EWS endpoint redirects elsewhere",
                                 hint="set service_endpoint to the final https://HOST/EWS/Exchange.asmx",
                                 source=endpoint)
        if isinstance(exc, ews_errors.TransportError) and not isinstance(exc, ews_errors.ResponseMessageError):
            return ProviderError(NAME, f"the EWS endpoint gave an unusable answer ({type(exc).__name__})",
                                 hint="check that service_endpoint is https://HOST/EWS/Exchange.asmx",
                                 source=endpoint)
        return ProviderError(NAME, f"Exchange refused the request ({type(exc).__name__})", source=endpoint)
