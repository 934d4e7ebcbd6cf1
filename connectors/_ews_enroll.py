"""Opt-in for Exchange Server: nobody signs in, the service account impersonates the person.

Enrollment (``--yes`` or not) checks, before anything is recorded, that the service account
can open the person's calendar: a refused impersonation, an unknown mailbox or a wrong
password is reported with its fix. Nothing is stored in the vault: the service account's
secrets stay in the files ``[connectors.exchange]`` names.
"""

from __future__ import annotations

from collections.abc import Mapping

from balanced_calendar.model import UserError

from connectors.plugin import AuthStart, Enrolled, EnrollInput

_READ = ("calendar.events.read",)
_WRITE = ("calendar.events.write.own_blocks",)


class ExchangeEnrollment:
    """The entry points of :class:`connectors.plugin.Enrollment` for EWS impersonation."""

    def unattended(self, req: EnrollInput) -> Enrolled:
        from connectors._ews_client import EwsClient

        calendar = req.calendar or "primary"
        if calendar != "primary":
            raise UserError("the exchange connector reads the person's default calendar only",
                            hint='leave calendar unset (or "primary")')
        client = EwsClient(req.settings, req.email)
        try:
            client.calendar  # GetFolder as the person: impersonation and mailbox checked
        finally:
            client.close()
        return Enrolled(calendar=calendar, secret={}, scopes=_READ + (_WRITE if req.protect else ()))

    def interactive(self, req: EnrollInput) -> Enrolled:
        return self.unattended(req)

    def start(self, req: EnrollInput, redirect_uri: str) -> AuthStart:
        raise UserError("Exchange Server people have no sign-in: an operator enrolls them "
                        "(the service account impersonates them)")

    def finish(self, req: EnrollInput, redirect_uri: str, params: Mapping[str, str],
               state: str, verifier: str) -> Enrolled:
        raise UserError("Exchange Server people have no sign-in: an operator enrolls them "
                        "(the service account impersonates them)")
