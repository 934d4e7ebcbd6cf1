"""Tokens for Microsoft Graph through MSAL, and the opt-in flows (device code, auth code + PKCE).

- ``app`` mode: one confidential client per tenant and process acquires application tokens
  (client credentials, scope ``<graph origin>/.default``); they live in memory only.
- ``user`` mode: a public client with the person's MSAL token cache, which is serialised into
  the vault through :class:`~connectors.plugin.Credentials` (never written in plain text);
  ``invalid_grant`` / ``interaction_required`` raise :class:`AuthExpired` with the command
  that re-enrolls the person.

For an authority host that is not a public Microsoft cloud, MSAL's instance discovery (a
request to login.microsoftonline.com) is switched off: only the configured hosts are asked.
MSAL's discovery answers (the OpenID configuration) are cached per process.
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from collections.abc import Mapping
from typing import Any

import msal
import requests

from balanced_calendar.model import AuthExpired, ProviderError, UserError

from connectors.microsoft.http import NAME, Call, GraphClient, build_session
from connectors.microsoft.settings import MicrosoftSettings
from connectors.plugin import AuthStart, Credentials, Enrolled, EnrollInput

log = logging.getLogger(__name__)

#: consent scopes recorded for each mode (delegated ones are requested through MSAL;
#: MSAL adds offline_access, openid and profile itself)
READ_SCOPES = ("Calendars.Read", "MailboxSettings.Read")
WRITE_SCOPES = ("Calendars.ReadWrite", "MailboxSettings.Read")
#: answers of the token endpoint that only a new sign-in fixes
REAUTH_ERRORS = frozenset({"invalid_grant", "interaction_required", "consent_required", "login_required"})

#: MSAL's discovery answers, shared by every client application of this process
_HTTP_CACHE: dict[Any, Any] = {}
_APPS: dict[tuple[str, ...], msal.ConfidentialClientApplication] = {}
_APPS_LOCK = threading.Lock()


def reenroll_hint(email: str, mode: str) -> str:
    yes = " --yes" if mode == "app" else ""
    return f"run: balanced-calendar enroll --provider microsoft --email {email}{yes}"


def delegated_scopes(settings: MicrosoftSettings, protect: bool) -> list[str]:
    """The delegated scopes, qualified with this Graph's origin (national clouds need that)."""
    origin = settings.graph_scope.removesuffix(".default")
    return [origin + name for name in (WRITE_SCOPES if protect else READ_SCOPES)]


def _instance_discovery(settings: MicrosoftSettings) -> bool | None:
    """``None`` (MSAL's default) for a public Microsoft cloud, ``False`` for any other host."""
    host = urllib.parse.urlsplit(settings.authority).hostname or ""
    return None if host in msal.authority.WELL_KNOWN_AUTHORITY_HOSTS else False


def _build(factory: Any, settings: MicrosoftSettings, session: requests.Session, **kwargs: Any) -> Any:
    try:
        return factory(settings.client_id, authority=settings.authority_url, http_client=session,
                       instance_discovery=_instance_discovery(settings), http_cache=_HTTP_CACHE,
                       timeout=settings.timeout, **kwargs)
    except requests.exceptions.RequestException as exc:
        raise _unreachable(exc) from None
    except ValueError:
        raise ProviderError(NAME, "the sign-in authority has no usable OpenID configuration for this tenant",
                            hint="check [connectors.microsoft] authority and tenant_id") from None


def _unreachable(exc: requests.exceptions.RequestException) -> ProviderError:
    if isinstance(exc, requests.exceptions.SSLError):
        return ProviderError(NAME, "the TLS certificate of the sign-in authority is not trusted",
                             hint="set [connectors.microsoft] ca_file to your CA bundle (or REQUESTS_CA_BUNDLE)")
    return ProviderError(NAME, f"cannot reach the sign-in authority ({type(exc).__name__})",
                         hint="check [connectors.microsoft] authority and the network")


def _client_secret(settings: MicrosoftSettings) -> str:
    if settings.client_secret_file is None:
        raise UserError('[connectors.microsoft] mode = "app" needs client_secret_file')
    try:
        return settings.client_secret_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise UserError(f"cannot read the client secret file {settings.client_secret_file}: {exc.strerror}") from None


def confidential_app(settings: MicrosoftSettings, session: requests.Session, *,
                     fresh: bool = False) -> msal.ConfidentialClientApplication:
    """The process's confidential client for this tenant (``fresh``: drop its cached token)."""
    key = (settings.authority_url, settings.client_id, str(settings.client_secret_file))
    with _APPS_LOCK:
        if fresh or key not in _APPS:
            _APPS[key] = _build(msal.ConfidentialClientApplication, settings, session,
                                client_credential=_client_secret(settings))
        return _APPS[key]


def _check(result: Mapping[str, Any] | None, email: str, mode: str) -> str:
    """The access token of an MSAL result, or the typed error it stands for."""
    if result and "access_token" in result:
        return str(result["access_token"])
    error = str((result or {}).get("error") or "no_token")
    if error in REAUTH_ERRORS or result is None:
        raise AuthExpired(NAME, f"the Microsoft sign-in is no longer valid ({error})",
                          hint=reenroll_hint(email, mode))
    if error in ("invalid_client", "unauthorized_client"):
        raise ProviderError(NAME, f"the app registration refused the sign-in ({error})",
                            hint="check [connectors.microsoft] client_id and client_secret_file "
                                 "(an expired client secret must be renewed in Entra ID)")
    raise ProviderError(NAME, f"the sign-in authority refused the token request ({error})",
                        hint="check [connectors.microsoft] tenant_id, and that admin consent was granted")


class AppTokens:
    """Application tokens (client credentials) for ``app`` mode."""

    def __init__(self, settings: MicrosoftSettings, session: requests.Session, email: str) -> None:
        self.settings, self.session, self.email = settings, session, email

    def __call__(self, force: bool = False) -> str:
        app = confidential_app(self.settings, self.session, fresh=force)
        try:
            result = app.acquire_token_for_client(scopes=[self.settings.graph_scope])
        except requests.exceptions.RequestException as exc:
            raise _unreachable(exc) from None
        return _check(result, self.email, "app")


class UserTokens:
    """Delegated tokens from the person's MSAL cache (refreshed silently, saved back)."""

    def __init__(self, settings: MicrosoftSettings, session: requests.Session, email: str,
                 credentials: Credentials, protect: bool) -> None:
        self.settings, self.session, self.email = settings, session, email
        self.credentials = credentials
        self.scopes = delegated_scopes(settings, protect)
        self._lock = threading.Lock()
        self._app: msal.PublicClientApplication | None = None
        self._cache = msal.SerializableTokenCache()

    def _application(self) -> msal.PublicClientApplication:
        if self._app is None:
            secret = self.credentials.get()
            if not secret.get("msal_cache"):
                raise AuthExpired(NAME, "no Microsoft sign-in is stored for this person",
                                  hint=reenroll_hint(self.email, "user"))
            self._cache.deserialize(secret["msal_cache"])
            self._app = _build(msal.PublicClientApplication, self.settings, self.session,
                               token_cache=self._cache)
        return self._app

    def __call__(self, force: bool = False) -> str:
        with self._lock:
            app = self._application()
            home = self.credentials.get().get("account")
            accounts = [a for a in app.get_accounts() if a.get("home_account_id") == home] or app.get_accounts()
            if not accounts:
                raise AuthExpired(NAME, "the stored Microsoft sign-in holds no account",
                                  hint=reenroll_hint(self.email, "user"))
            try:
                result = app.acquire_token_silent_with_error(self.scopes, accounts[0], force_refresh=force)
            except requests.exceptions.RequestException as exc:
                raise _unreachable(exc) from None
            token = _check(result, self.email, "user")
            if self._cache.has_state_changed:
                self.credentials.put({**self.credentials.get(), "msal_cache": self._cache.serialize()})
                self._cache.has_state_changed = False
            return token


# -- opt-in ------------------------------------------------------------------------------
def _granted(protect: bool) -> tuple[str, ...]:
    return (WRITE_SCOPES if protect else READ_SCOPES) + ("offline_access",)


class MicrosoftEnrollment:
    """The three entry points of :class:`connectors.plugin.Enrollment` for Microsoft 365."""

    def unattended(self, req: EnrollInput) -> Enrolled:
        settings: MicrosoftSettings = req.settings
        if settings.mode != "app":
            raise UserError("Microsoft 365 in user mode needs the person to sign in",
                            hint='run enroll without --yes (device code), use the web opt-in page, or set '
                                 '[connectors.microsoft] mode = "app"')
        session = build_session(settings, req.http)
        tokens = AppTokens(settings, session, req.email)
        check_mailbox(settings, session, tokens, req.email, "app")
        scopes = ("Calendars.ReadWrite" if req.protect else "Calendars.Read", "MailboxSettings.Read")
        return Enrolled(calendar=req.calendar or "primary", secret={"mode": "app"}, scopes=scopes)

    def interactive(self, req: EnrollInput) -> Enrolled:
        settings: MicrosoftSettings = req.settings
        if settings.mode == "app":
            return self.unattended(req)
        session = build_session(settings, req.http)
        cache = msal.SerializableTokenCache()
        app = _build(msal.PublicClientApplication, settings, session, token_cache=cache)
        flow = app.initiate_device_flow(scopes=delegated_scopes(settings, req.protect))
        if "user_code" not in flow:
            raise ProviderError(NAME, f"the sign-in authority refused the device code ({flow.get('error')})",
                                hint="allow public client flows in the app registration (Authentication)")
        req.echo(f"To sign in as {req.email}, open {flow['verification_uri']} and enter the code "
                 f"{flow['user_code']}")
        result = app.acquire_token_by_device_flow(flow)
        return self._enrolled(settings, session, req, result, cache)

    def start(self, req: EnrollInput, redirect_uri: str) -> AuthStart:
        settings: MicrosoftSettings = req.settings
        if settings.mode == "app":
            raise UserError("in app mode nobody signs in: an operator enrolls people with --yes")
        app = _build(msal.PublicClientApplication, settings, build_session(settings, req.http))
        flow = app.initiate_auth_code_flow(delegated_scopes(settings, req.protect), redirect_uri=redirect_uri,
                                           login_hint=req.email)
        # the caller keeps ``verifier`` opaque in its session: it carries MSAL's nonce too
        return AuthStart(url=flow["auth_uri"], state=flow["state"], verifier=f"{flow['code_verifier']} {flow['nonce']}")

    def finish(self, req: EnrollInput, redirect_uri: str, params: Mapping[str, str],
               state: str, verifier: str) -> Enrolled:
        settings: MicrosoftSettings = req.settings
        if not state or params.get("state") != state:
            raise UserError("the sign-in answer does not belong to this opt-in (state mismatch)",
                            hint="start the opt-in again from its first page")
        if params.get("error"):
            raise UserError(f"the sign-in was not completed ({params['error']})",
                            hint="start the opt-in again and accept the permissions")
        session = build_session(settings, req.http)
        cache = msal.SerializableTokenCache()
        app = _build(msal.PublicClientApplication, settings, session, token_cache=cache)
        code_verifier, _, nonce = verifier.partition(" ")
        flow = {"state": state, "redirect_uri": redirect_uri, "code_verifier": code_verifier, "nonce": nonce,
                "scope": delegated_scopes(settings, req.protect)}
        result = app.acquire_token_by_auth_code_flow(flow, dict(params))
        return self._enrolled(settings, session, req, result, cache)

    def _enrolled(self, settings: MicrosoftSettings, session: requests.Session, req: EnrollInput,
                  result: Mapping[str, Any] | None, cache: msal.SerializableTokenCache) -> Enrolled:
        if not result or "access_token" not in result:
            error = (result or {}).get("error") or "no token"
            raise UserError(f"the Microsoft sign-in did not complete ({error})",
                            hint="run the enrollment again and finish the sign-in in time")
        claims = result.get("id_token_claims") or {}
        signed_in = str(claims.get("preferred_username") or claims.get("email") or "").lower()
        if signed_in and signed_in != req.email.lower():
            raise UserError("the account that signed in is not the person being enrolled",
                            hint=f"sign in as {req.email}")
        accounts = list(cache.search(msal.TokenCache.CredentialType.ACCOUNT))
        home = accounts[0]["home_account_id"] if accounts else None
        check_mailbox(settings, session, lambda force=False: str(result["access_token"]), req.email, "user")
        return Enrolled(calendar=req.calendar or "primary",
                        secret={"mode": "user", "account": home, "msal_cache": cache.serialize()},
                        scopes=_granted(req.protect))


def check_mailbox(settings: MicrosoftSettings, session: requests.Session, tokens: Any, email: str,
                  mode: str) -> None:
    """Read the person's mailbox settings once: proves the token reaches their calendar."""
    graph = GraphClient(settings, session, tokens, reenroll=reenroll_hint(email, mode))
    path = "/me/mailboxSettings" if mode == "user" else f"/users/{urllib.parse.quote(email)}/mailboxSettings"
    answer = graph.call(Call("GET", path + "?$select=timeZone", email))
    if answer.status == 404:
        raise UserError(f"Microsoft 365 has no mailbox for {email}",
                        hint="check the address (a mailbox, not a group or contact)")
    if answer.status != 200:
        raise graph.error(answer)
