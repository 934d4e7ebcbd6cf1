"""Opt-in for Google: an OAuth sign-in (``mode = "user"``) or domain-wide delegation
(``mode = "domain"``).

User mode runs the installed-app flow with a loopback redirect (``enroll``), or its two
halves for the web opt-in page (:meth:`GoogleEnrollment.start`/:meth:`~GoogleEnrollment.finish`,
with ``state`` and PKCE). The refresh token goes to the vault only. Domain mode needs no
browser: the service account asks for a token as the person, which proves the delegation
covers the scopes. Either way the person's calendar is looked up once before anything is
recorded. ``calendar.events`` is asked for only for people who allow writes (``--protect``);
enrolling a read-only person again with ``--protect`` asks for it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from balanced_calendar.model import UserError

from connectors.google.auth import Account, check_configured, client_config, scopes_for
from connectors.google.client import Api, ca_bundle
from connectors.plugin import AuthStart, Enrolled, EnrollInput, MemoryCredentials

# requests-oauthlib logs the authorization code and the token answer at DEBUG level
logging.getLogger("requests_oauthlib").setLevel(logging.INFO)

PROMPT = "Open this address in a browser signed in as {email} and allow access:\n{{url}}"


class GoogleEnrollment:
    """The three entry points of :class:`connectors.plugin.Enrollment` for Google."""

    def unattended(self, req: EnrollInput) -> Enrolled:
        check_configured(req.settings)
        if req.settings.mode != "domain":
            raise UserError("Google user mode needs the person to sign in; --yes cannot do that",
                            hint="run enroll without --yes (add --no-browser on a server), or use "
                                 'mode = "domain" with a service account')
        return self._verified(req, {"scopes": list(scopes_for(req.protect))})

    def interactive(self, req: EnrollInput) -> Enrolled:
        check_configured(req.settings)
        if req.settings.mode == "domain":
            return self.unattended(req)
        flow = self._flow(req, None)
        try:
            creds = flow.run_local_server(
                host="localhost", port=0, open_browser=req.open_browser,
                authorization_prompt_message=PROMPT.format(email=req.email), timeout_seconds=600,
                login_hint=req.email, access_type="offline", prompt="consent", include_granted_scopes="true")
        except Exception as exc:  # the flow raises oauthlib, requests and WSGI errors alike
            raise UserError(f"the Google sign-in did not complete ({type(exc).__name__})",
                            hint="run enroll again and finish the sign-in in the browser") from None
        return self._from_credentials(req, creds)

    def start(self, req: EnrollInput, redirect_uri: str) -> AuthStart:
        check_configured(req.settings)
        if req.settings.mode == "domain":
            raise UserError('Google is configured with mode = "domain": nobody signs in',
                            hint="an operator enrolls people with: balanced-calendar enroll --provider google --yes")
        flow = self._flow(req, redirect_uri)
        url, state = flow.authorization_url(login_hint=req.email, access_type="offline", prompt="consent",
                                            include_granted_scopes="true")
        return AuthStart(url=url, state=state, verifier=flow.code_verifier)

    def finish(self, req: EnrollInput, redirect_uri: str, params: Mapping[str, str],
               state: str, verifier: str) -> Enrolled:
        check_configured(req.settings)
        if not state or params.get("state") != state:
            raise UserError("the sign-in answer does not belong to this opt-in (state mismatch)",
                            hint="start the opt-in again from its first page")
        if "error" in params or "code" not in params:
            raise UserError(f"Google sign-in refused ({params.get('error', 'no code')})",
                            hint="start again and allow access to the calendar")
        flow = self._flow(req, redirect_uri, state=state, code_verifier=verifier)
        try:
            flow.fetch_token(code=params["code"])
        except Exception as exc:
            raise UserError(f"Google refused the sign-in code ({type(exc).__name__})",
                            hint="start the opt-in again; a code can be used only once") from None
        return self._from_credentials(req, flow.credentials)

    # -- helpers -----------------------------------------------------------------------
    def _flow(self, req: EnrollInput, redirect_uri: str | None, **kwargs: Any) -> Any:
        from google_auth_oauthlib.flow import Flow, InstalledAppFlow

        class Trusting:
            """Exchanges the code with our CA bundle (a request-level ``verify`` wins over
            requests' environment, which knows nothing of ``ca_file`` or ``SSL_CERT_FILE``)."""

            bundle: str | None = None

            def fetch_token(self, **kw: Any) -> Any:
                if self.bundle:
                    kw.setdefault("verify", self.bundle)
                return super().fetch_token(**kw)  # type: ignore[misc]

        base = InstalledAppFlow if redirect_uri is None else Flow
        kind = type("TrustingFlow", (Trusting, base), {"bundle": ca_bundle(req.settings)})
        if redirect_uri is not None:
            kwargs["redirect_uri"] = redirect_uri
        config = {"installed": client_config(req.settings.client_secrets_file)}
        return kind.from_client_config(config, list(scopes_for(req.protect)), autogenerate_code_verifier=True,
                                       **kwargs)

    def _from_credentials(self, req: EnrollInput, creds: Any) -> Enrolled:
        wanted = scopes_for(req.protect)
        granted = tuple(getattr(creds, "granted_scopes", None) or creds.scopes or wanted)
        missing = [s.rsplit("/", 1)[-1] for s in wanted if s not in granted]
        if missing:
            raise UserError(f"the person did not allow {', '.join(missing)}",
                            hint="run enroll again and tick every requested permission")
        if not creds.refresh_token:
            raise UserError("Google returned no refresh token", hint="run enroll again (consent is asked anew)")
        expiry = creds.expiry.isoformat() + "+00:00" if creds.expiry else None
        return self._verified(req, {"refresh_token": creds.refresh_token, "token": creds.token, "expiry": expiry,
                                    "token_scopes": list(wanted), "scopes": list(wanted)})

    def _verified(self, req: EnrollInput, secret: dict[str, Any]) -> Enrolled:
        """Read the person's calendar entry once with ``secret``; the secret to store."""
        store = MemoryCredentials({k: v for k, v in secret.items() if v is not None})
        account = Account(req.settings, req.email, req.protect, store)
        api = Api(req.settings, account, http=req.http() if req.http is not None else None)
        calendar = req.calendar or "primary"
        try:
            entry = api.call(api.service.calendarList().get(calendarId="primary", fields="id,accessRole"))
            if calendar != "primary":
                api.call(api.service.calendarList().get(calendarId=calendar, fields="id,accessRole"))
        finally:
            account.save_token()
            api.authorized.close()
        # the primary calendar's id is the account's address: whoever signed in must be the
        # person being enrolled (a web opt-in trusts the address only after this check)
        signed_in = str((entry or {}).get("id", "")).lower()
        if signed_in and "@" in signed_in and signed_in != req.email.lower():
            raise UserError("the account that signed in is not the person being enrolled",
                            hint=f"sign in as {req.email}")
        return Enrolled(calendar=calendar, secret=account.secret, scopes=scopes_for(req.protect))
