"""CalDAV servers (Zimbra, Nextcloud, Radicale, …): the plug-in, its ``[connectors.caldav]``
settings and where a person's calendar and credentials come from.

A person's calendar URL is, in this order: their ``[[people]] calendar`` (a full URL); the
URL found at enrollment and kept in the vault; found at enrollment from ``calendar_url``
(a template with ``{user}``, the local part of the address, or ``{email}``), else the server
kind's usual place (:mod:`connectors._dav_quirks`), else discovered from the principal
(``current-user-principal`` → ``calendar-home-set`` → the first calendar holding events).
Credentials: the person's own, stored in the vault at enrollment, else the service account
(``username`` + ``password_file``). The URL names the person, so the store keeps only
``caldav`` as the calendar key and the URL lives in the vault.

Nothing here imports the ``caldav`` library (the config loader imports this module).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from balanced_calendar.model import UserError
from connectors.plugin import Context, Provider
from connectors.settings import (ConnectorSettings, Endpoint, NonBlank, Problem, SecretFile,
                                 endpoint_problem)

if TYPE_CHECKING:
    from connectors.dav import CaldavConnector

#: the ``calendar`` the store keeps for every CalDAV person (the URL is in the vault)
VAULT_CALENDAR = "caldav"


class CaldavSettings(ConnectorSettings):
    """``[connectors.caldav]``."""

    username: NonBlank | None = Field(None, description="the service account (together with password_file)")
    password_file: SecretFile | None = Field(None, description="the password of username")
    url: Endpoint = Field(description="the server's CalDAV root, e.g. https://dav.example.org/dav/")
    server: Literal["generic", "radicale", "nextcloud", "zimbra"] = Field(
        "generic", description="the server kind, for its known quirks (sync tokens, preconditions, "
                               "where calendars live)")
    calendar_url: str | None = Field(
        None, description="where a person's calendar is, with {user} (local part of the address) or "
                          "{email}, e.g. https://mail.example.go.id/dav/{email}/Calendar/")
    max_retry_wait: float = Field(60.0, ge=0, description="seconds a request may wait in total for a busy "
                                                          "server's Retry-After before the sync gives up")

    @classmethod
    def rules(cls, raw: Mapping[str, Any]) -> list[Problem]:
        if "username" in raw and "password_file" not in raw:
            return [("password_file", "is required when username is set")]
        if "password_file" in raw and "username" not in raw:
            return [("username", "is required when password_file is set")]
        template = raw.get("calendar_url")
        if isinstance(template, str):
            try:
                example = template.format(user="rina", email="rina@example.go.id")
            except (KeyError, IndexError, ValueError):
                return [("calendar_url", "may only use the placeholders {user} and {email}")]
            problem = endpoint_problem(example)
            if problem:
                return [("calendar_url", problem)]
        return []

    def service_password(self) -> str | None:
        """The service account's password (``password_file``), ``None`` without an account."""
        if self.password_file is None:
            return None
        try:
            return self.password_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UserError(f"cannot read [connectors.caldav] password_file: {exc.strerror or exc}",
                            hint="the service user must be able to read it (mode 0600)") from None


def template_url(settings: CaldavSettings, email: str) -> str | None:
    """The calendar URL ``calendar_url`` or the server kind gives ``email``; ``None`` if neither."""
    from connectors._dav_quirks import quirks_for

    user = email.split("@", 1)[0]
    if settings.calendar_url:
        return settings.calendar_url.format(user=urllib.parse.quote(user), email=urllib.parse.quote(email, safe="@"))
    path = quirks_for(settings.server).calendar_path
    if path:
        return urllib.parse.urljoin(settings.url, path.format(user=urllib.parse.quote(user),
                                                             email=urllib.parse.quote(email, safe="@")))
    return None


def account(settings: CaldavSettings, secret: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(username, password)``: the person's own from the vault, else the service account."""
    if secret.get("username"):
        return str(secret["username"]), str(secret.get("password", ""))
    if settings.username:
        return settings.username, settings.service_password()
    return None, None


def _person_calendar(value: str | None, base_dir: Path) -> str:
    """A ``[[people]]`` ``calendar`` for ``caldav``: the full URL of the person's calendar
    collection; left out, the one found at enrollment (kept in the vault)."""
    if value is None:
        return VAULT_CALENDAR
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    problem = endpoint_problem(value)
    if problem:
        raise ValueError(problem + " (the calendar collection's URL, e.g. "
                         "https://mail.example.go.id/dav/rina@example.go.id/Calendar/)")
    return value if value.endswith("/") else value + "/"


def _connector(ctx: Context) -> CaldavConnector:
    from connectors._dav_http import DavSession
    from connectors._dav_quirks import quirks_for
    from connectors.dav import CaldavConnector

    settings: CaldavSettings = ctx.settings
    secret = ctx.credentials.get()
    configured = ctx.person.calendar
    url = configured if configured not in (VAULT_CALENDAR, "primary", "") else secret.get("calendar")
    if not url:
        raise UserError("no CalDAV calendar is known for this person",
                        hint='set calendar = "URL" in their [[people]] entry, or enroll them again')
    username, password = account(settings, secret)
    if username is None:
        raise UserError("no CalDAV account for this person",
                        hint="set username and password_file in [connectors.caldav], or enroll the person "
                             "with their own password")
    quirks = quirks_for(settings.server)
    session = DavSession(url, username, password, auth=quirks.auth, timeout=settings.timeout,
                         max_wait=settings.max_retry_wait)
    return CaldavConnector(session, url, quirks=quirks, owner=ctx.person.email, calendar=VAULT_CALENDAR,
                           allow_write=ctx.person.protect, zone_hint=not ctx.person.zone_fixed)


def _enrollment() -> Any:
    from connectors._dav_enroll import CaldavEnrollment

    return CaldavEnrollment()


class _LazyEnrollment:
    """The enrollment flow, imported on first use."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_enrollment(), name)


PROVIDER = Provider(
    name="caldav", connector="connectors.dav:CaldavConnector", factory=_connector,
    settings="connectors.caldav:CaldavSettings", needs_section=True, calendar=_person_calendar,
    secret_calendar=True, enrollment=_LazyEnrollment(), zone_hints=True,  # type: ignore[arg-type]
    description="CalDAV servers (Zimbra, Nextcloud, Radicale, …)")
