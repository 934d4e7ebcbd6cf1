"""Credentials and scopes: who the connector acts as, and the access token it keeps.

``user`` mode builds OAuth user credentials from the refresh token in the vault;
``domain`` mode builds service-account credentials acting as the person (``with_subject``).
Either way the token endpoint is the ``token_uri`` of the client-secrets or service-account
file, and the last access token is kept in the vault with its expiry, so a sync only asks
for a new one when it has expired.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from balanced_calendar.model import AuthExpired, UserError

from connectors.plugin import Credentials

_AUTH = "https://www.googleapis.com/auth/"
#: read-only: events and the person's settings (their time zone)
READ_SCOPES = (_AUTH + "calendar.readonly", _AUTH + "calendar.settings.readonly")
#: people who allowed writes (``protect = true``) also grant this one
WRITE_SCOPES = (_AUTH + "calendar.events",)


def scopes_for(protect: bool) -> tuple[str, ...]:
    return READ_SCOPES + (WRITE_SCOPES if protect else ())


def reenroll_command(email: str, *, protect: bool, domain: bool) -> str:
    """The exact command that signs ``email`` in again."""
    command = f"balanced-calendar enroll --provider google --email {email}"
    if protect:
        command += " --protect"
    if domain:
        command += " --yes"
    return command


def check_configured(settings: Any) -> None:
    """Raise :class:`UserError` when ``[connectors.google]`` names no key file for its mode
    (e.g. the section is missing and the defaults apply)."""
    needed = "service_account_file" if settings.mode == "domain" else "client_secrets_file"
    if getattr(settings, needed, None) is None:
        raise UserError(f"the google connector is not configured: [connectors.google] has no {needed}",
                        hint='add a [connectors.google] section with mode = "user" and client_secrets_file, or '
                             'mode = "domain" and service_account_file (see the README, "Connecting Google '
                             'Workspace")')


def client_config(path: Path) -> dict[str, Any]:
    """The ``installed`` (or ``web``) section of an OAuth client-secrets file.

    Raises :class:`UserError` when the file is not one.
    """
    data = _json_file(path, "the OAuth client JSON")
    section = data.get("installed") or data.get("web")
    if not isinstance(section, dict) or not {"client_id", "token_uri", "auth_uri"} <= set(section):
        raise UserError(f"{path} is not an OAuth client-secrets file (no installed/web client with "
                        "client_id, auth_uri and token_uri)",
                        hint="download the JSON of an OAuth client of type Desktop app from the Cloud console")
    return section


def _json_file(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except ValueError:
        raise UserError(f"{path} is not JSON; expected {what}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} is not {what}")
    return data


def _expiry(value: Any) -> dt.datetime | None:
    """google-auth keeps expiries as naive UTC datetimes."""
    if not value:
        return None
    moment = dt.datetime.fromisoformat(str(value))
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


class Account:
    """One person's Google credentials, backed by their vault entry.

    ``secret`` keys: ``refresh_token`` (user mode), ``token``/``expiry`` (the cached access
    token), ``scopes`` (granted at enrollment), and what the connector remembers of the
    account (``zone``, ``zone_checked``, ``zone_pending``, ``focus_time``).
    """

    def __init__(self, settings: Any, email: str, protect: bool, store: Credentials) -> None:
        self.settings = settings
        self.email = email
        self.protect = protect
        self.store = store
        self.secret = store.get()
        self.domain = settings.mode == "domain"
        self._credentials: Any = None
        self._saved_token = self.secret.get("token")

    @property
    def granted(self) -> tuple[str, ...]:
        return tuple(self.secret.get("scopes") or scopes_for(False))

    def can_write(self) -> bool:
        return self.domain or all(scope in self.granted for scope in WRITE_SCOPES)

    def expired(self, detail: str) -> AuthExpired:
        """The error for credentials that no longer work, naming the command that fixes them.

        The exact command (with the address) is in the hint; the public text, which ``sync``
        and ``status`` show, names it with ``<address>`` in place of the address.
        """
        shape = reenroll_command("<address>", protect=self.protect, domain=self.domain)
        if self.domain:
            return AuthExpired("google", f"the service account can no longer act as this person ({detail}); "
                                         f"fix the account or delegation, then run: {shape}",
                               hint="check that the account is active and that domain-wide delegation still "
                                    "grants the scopes, then run: "
                                    + reenroll_command(self.email, protect=self.protect, domain=True))
        return AuthExpired("google", f"this person's Google sign-in is no longer valid ({detail}); "
                                     f"re-enroll them: {shape}",
                           hint="run: " + reenroll_command(self.email, protect=self.protect, domain=False))

    def credentials(self) -> Any:
        """The google-auth credentials, with the cached access token when there is one."""
        if self._credentials is None:
            check_configured(self.settings)
            scopes = list(scopes_for(self.protect)) if self.domain else list(self.granted)
            if self.domain:
                from google.oauth2 import service_account

                path = self.settings.service_account_file
                info = _json_file(path, "a service account JSON key")
                try:
                    creds = service_account.Credentials.from_service_account_info(
                        info, scopes=scopes, subject=self.email)
                except (ValueError, KeyError) as exc:
                    raise UserError(f"{path} is not a usable service account key ({exc})",
                                    hint="create a JSON key for the service account in the Cloud console") from None
            else:
                from google.oauth2.credentials import Credentials as UserCredentials

                if not self.secret.get("refresh_token"):
                    raise self.expired("no refresh token is stored")
                client = client_config(self.settings.client_secrets_file)
                creds = UserCredentials(
                    token=None, refresh_token=self.secret["refresh_token"], token_uri=client["token_uri"],
                    client_id=client["client_id"], client_secret=client.get("client_secret"), scopes=scopes)
            if self.secret.get("token") and set(self.secret.get("token_scopes") or scopes) >= set(scopes):
                creds.token = self.secret["token"]
                creds.expiry = _expiry(self.secret.get("expiry"))
            self._credentials = creds
        return self._credentials

    def remember(self, **values: Any) -> None:
        """Keep ``values`` in the person's vault entry (``None`` removes a key)."""
        for key, value in values.items():
            if value is None:
                self.secret.pop(key, None)
            else:
                self.secret[key] = value
        self.store.put(self.secret)

    def save_token(self) -> None:
        """Store the access token if it changed since it was loaded (one vault write)."""
        creds = self._credentials
        token = getattr(creds, "token", None)
        if creds is None or not token or token == self._saved_token:
            return
        expiry = getattr(creds, "expiry", None)
        self._saved_token = token
        values: dict[str, Any] = {"token": token, "expiry": expiry.isoformat() + "+00:00" if expiry else None,
                                  "token_scopes": list(getattr(creds, "scopes", None) or ()) or None}
        refresh = getattr(creds, "refresh_token", None)
        if refresh and not self.domain:
            values["refresh_token"] = refresh
        self.remember(**values)
