"""Opt-in for CalDAV: find the person's calendar, check it can be read, keep it in the vault.

``--yes`` (unattended) works with the service account of ``[connectors.caldav]``, or with
the person's own password in ``BALANCED_CALENDAR_CALDAV_PASSWORD`` (user name in
``BALANCED_CALENDAR_CALDAV_USERNAME``, default: the address) for scripted enrollments.
Interactive enrollment without a service account asks for the person's user name and
password. The calendar is the one given (``--calendar`` or ``[[people]] calendar``), else
the ``calendar_url`` template or the server kind's usual place, else the first calendar
holding events found from the account's principal.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from typing import Any

from balanced_calendar.model import InputError, UserError

from connectors._dav_http import DavSession
from connectors._dav_quirks import quirks_for
from connectors.caldav import VAULT_CALENDAR, CaldavSettings, _person_calendar, account, template_url
from connectors.plugin import AuthStart, Enrolled, EnrollInput

PASSWORD_ENV = "BALANCED_CALENDAR_CALDAV_PASSWORD"
USERNAME_ENV = "BALANCED_CALENDAR_CALDAV_USERNAME"
_READ = ("calendar.events.read",)
_WRITE = ("calendar.events.write.own_blocks",)

_PROPFIND = ('<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" '
             'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>{}</D:prop></D:propfind>')


class CaldavEnrollment:
    """The three entry points of :class:`connectors.plugin.Enrollment` for CalDAV."""

    def unattended(self, req: EnrollInput) -> Enrolled:
        settings: CaldavSettings = req.settings
        own: dict[str, str] = {}
        if os.environ.get(PASSWORD_ENV):
            own = {"username": os.environ.get(USERNAME_ENV) or req.email, "password": os.environ[PASSWORD_ENV]}
        elif not settings.username:
            raise UserError("a CalDAV person needs a password to enroll without questions",
                            hint=f"set username and password_file in [connectors.caldav] (a service account), "
                                 f"put the person's password in {PASSWORD_ENV}, or enroll without --yes")
        return self._enroll(req, own)

    def interactive(self, req: EnrollInput) -> Enrolled:
        settings: CaldavSettings = req.settings
        if settings.username or os.environ.get(PASSWORD_ENV):
            return self.unattended(req)
        username = input(f"CalDAV user name [{req.email}]: ").strip() or req.email
        password = getpass.getpass("CalDAV password (stored encrypted): ")
        if not password:
            raise UserError("not enrolled: no password given")
        return self._enroll(req, {"username": username, "password": password})

    def start(self, req: EnrollInput, redirect_uri: str) -> AuthStart:
        raise UserError("CalDAV has no web sign-in: an operator enrolls people with the CLI")

    def finish(self, req: EnrollInput, redirect_uri: str, params: Mapping[str, str],
               state: str, verifier: str) -> Enrolled:
        raise UserError("CalDAV has no web sign-in: an operator enrolls people with the CLI")

    # -- the checks ------------------------------------------------------------------------
    def _enroll(self, req: EnrollInput, own: dict[str, str]) -> Enrolled:
        settings: CaldavSettings = req.settings
        username, password = account(settings, own)
        given = req.calendar if req.calendar not in (None, "", "primary", VAULT_CALENDAR) else None
        if given is not None:
            try:
                given = _person_calendar(given, None)  # type: ignore[arg-type]
            except ValueError as exc:
                raise InputError(f"--calendar {exc}") from None
        url = given or template_url(settings, req.email)
        quirks = quirks_for(settings.server)
        session = DavSession(url or settings.url, username, password, auth=quirks.auth,
                             timeout=settings.timeout, max_wait=settings.max_retry_wait)
        try:
            if url is None:
                url = discover(session)
                req.echo("found the person's calendar on the server")
            check_calendar(session, url)
        finally:
            session.close()
        scopes = _READ + (_WRITE if req.protect else ())
        return Enrolled(calendar=url, secret={"calendar": url, **own}, scopes=scopes)


def _props(session: DavSession, url: str, props: str, depth: int) -> list[Any]:
    response = session.request("PROPFIND", url, _PROPFIND.format(props), depth=depth)
    if response.status != 207:
        raise session.fail(response, "looking for the calendar")
    return list(response.parse_propfind())


def _href(value: Any) -> str | None:
    """The first href in a property value as the library parses it."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, (list, tuple)):
        return next((v for v in value if isinstance(v, str)), None)
    text = getattr(value, "text", None)
    if text:
        return text
    for child in getattr(value, "iter", lambda: [])():
        if str(child.tag).endswith("href") and child.text:
            return str(child.text)
    return None


def _prop(item: Any, name: str) -> Any:
    return next((v for k, v in item.properties.items() if str(k).endswith("}" + name)), None)


def discover(session: DavSession) -> str:
    """The URL of the account's first calendar holding events, from the principal."""
    principal = session.url
    [root] = _props(session, session.url, "<D:current-user-principal/>", 0)[:1] or [None]
    found = _href(_prop(root, "current-user-principal")) if root is not None else None
    if found:
        principal = session.absolute(found)
    [me] = _props(session, principal, "<C:calendar-home-set/>", 0)[:1] or [None]
    home = _href(_prop(me, "calendar-home-set")) if me is not None else None
    if not home:
        raise UserError("the CalDAV server names no calendar home for this account",
                        hint="give the calendar's URL with --calendar, or set calendar_url in [connectors.caldav]")
    home = session.absolute(home)
    listing = _props(session, home, "<D:resourcetype/><C:supported-calendar-component-set/>", 1)
    for item in listing:
        kinds = _prop(item, "resourcetype")
        text = _xml_text(kinds)
        if "calendar" not in text or session.absolute(item.href).rstrip("/") == home.rstrip("/"):
            continue
        components = _xml_text(_prop(item, "supported-calendar-component-set"))
        if components and "VEVENT" not in components:
            continue
        return session.absolute(item.href)
    raise UserError("the account has no calendar holding events on this CalDAV server",
                    hint="give the calendar's URL with --calendar")


def _xml_text(value: Any) -> str:
    """Everything in a parsed property (tags and attributes), for containment tests."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return " ".join(_xml_text(v) for v in value)
    if hasattr(value, "iter"):
        return " ".join(f"{el.tag} {' '.join(el.attrib.values())} {el.text or ''}" for el in value.iter())
    return str(value)


def check_calendar(session: DavSession, url: str) -> None:
    """Raise :class:`UserError` unless ``url`` is a calendar collection the account can read."""
    items = _props(session, url, "<D:resourcetype/>", 0)
    if not items or "calendar" not in _xml_text(_prop(items[0], "resourcetype")):
        raise InputError(f"{session.label} is not a CalDAV calendar collection",
                         hint="Zimbra: https://HOST/dav/USER/Calendar/, Nextcloud: "
                              "https://HOST/remote.php/dav/calendars/USER/personal/")
