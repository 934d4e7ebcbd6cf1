"""Exchange Server on premises through EWS: the ``[connectors.exchange]`` settings and the
plug-in. No exchangelib import here: the connector (:mod:`connectors._ews_connector`) and the
enrollment (:mod:`connectors._ews_enroll`) load it when a person is read or enrolled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from connectors.plugin import AuthStart, Context, Enrolled, Enrollment, EnrollInput, Provider
from connectors.settings import (ConnectorSettings, Endpoint, NonBlank, Problem, ReadableFile,
                                 SecretFile, required_secret)

#: authentication methods that sign in with ``username`` and ``password_file``
PASSWORD_AUTH = ("ntlm", "basic")

#: why ``auth = "oauth"`` refuses an ``http://`` endpoint (oauthlib would refuse to send the token)
OAUTH_HTTPS = "OAuth tokens are only sent over https; use an https:// service_endpoint"


def insecure_oauth(auth: object, endpoint: object) -> bool:
    """``True`` when a bearer token would travel over plain http."""
    return auth == "oauth" and isinstance(endpoint, str) and endpoint.strip().lower().startswith("http://")


if TYPE_CHECKING:
    from connectors.base import Connector


class ExchangeSettings(ConnectorSettings):
    """``[connectors.exchange]``."""

    auth: Literal["ntlm", "basic", "oauth"] = Field("ntlm", description="how the service signs in to EWS")
    username: NonBlank | None = Field(
        None, description='an account with impersonation rights (required with auth = "ntlm" or "basic")')
    service_endpoint: Endpoint = Field(
        description="the EWS URL, e.g. https://mail.example.org/EWS/Exchange.asmx")
    password_file: SecretFile | None = Field(
        None, description='the password of username (required with auth = "ntlm" or "basic")')
    token_file: SecretFile | None = Field(
        None, description='a file holding a current OAuth access token for EWS, kept fresh by the '
                          'operator\'s token tool (required with auth = "oauth")')
    ca_file: ReadableFile | None = Field(
        None, description="a PEM file of CA certificates to trust for the EWS endpoint (the agency's own CA); "
                          "REQUESTS_CA_BUNDLE or the system's CAs otherwise")
    max_wait: float = Field(
        10.0, ge=0, description="seconds the connector may wait when Exchange asks it to back off "
                                "(ErrorServerBusy); a longer back-off is reported as rate limited")

    @classmethod
    def rules(cls, raw: Mapping[str, Any]) -> list[Problem]:
        auth = raw.get("auth", "ntlm")
        if auth == "oauth":
            found_oauth: list[Problem] = []
            if "token_file" not in raw:
                found_oauth.append(("token_file", required_secret(' with auth = "oauth"')))
            if insecure_oauth(auth, raw.get("service_endpoint")):
                found_oauth.append(("service_endpoint", OAUTH_HTTPS))
            return found_oauth
        if auth not in PASSWORD_AUTH:
            return []
        found: list[Problem] = []
        if "username" not in raw:
            found.append(("username", f'is required with auth = "{auth}"'))
        if "password_file" not in raw:
            found.append(("password_file", required_secret(f' with auth = "{auth}"')))
        return found


def _factory(ctx: Context) -> Connector:
    from connectors._ews_connector import ExchangeConnector

    return ExchangeConnector(ctx.settings, owner=ctx.person.email, calendar=ctx.person.calendar,
                             allow_write=ctx.person.protect)


def _enrollment() -> Enrollment:
    from connectors._ews_enroll import ExchangeEnrollment

    return ExchangeEnrollment()


class _LazyEnrollment:
    """Loads the EWS enrollment (and exchangelib) only when a person is enrolled."""

    def interactive(self, req: EnrollInput) -> Enrolled:
        return _enrollment().interactive(req)

    def unattended(self, req: EnrollInput) -> Enrolled:
        return _enrollment().unattended(req)

    def start(self, req: EnrollInput, redirect_uri: str) -> AuthStart:
        return _enrollment().start(req, redirect_uri)

    def finish(self, req: EnrollInput, redirect_uri: str, params: Mapping[str, str],
               state: str, verifier: str) -> Enrolled:
        return _enrollment().finish(req, redirect_uri, params, state, verifier)


PROVIDER = Provider(
    name="exchange", connector="connectors._ews_connector:ExchangeConnector", factory=_factory,
    settings="connectors.exchange:ExchangeSettings", needs_section=True, enrollment=_LazyEnrollment(),
    description="Exchange Server 2016/2019/SE on premises (EWS, impersonation)")
