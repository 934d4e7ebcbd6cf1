"""Google Workspace: the ``google`` provider plug-in (Google Calendar API v3).

``user`` mode: each person consents through OAuth with the client in ``client_secrets_file``;
``domain`` mode: a service account with domain-wide delegation (``service_account_file``)
acts as each enrolled person. The Google client libraries are imported only when a
connector, an enrollment or a prefetch runs, never by importing this module.

Modules: :mod:`.client` (the API client, retries, errors), :mod:`.auth` (credentials and
scopes), :mod:`.mapping` (Google events to the normalised event), :mod:`.connector`,
:mod:`.enroll`, :mod:`.prefetch`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from connectors.plugin import Context, PlannedRead, Provider
from connectors.settings import ConnectorSettings, Endpoint, Problem, ReadableFile, SecretFile, required_secret

if TYPE_CHECKING:
    from connectors.google.connector import GoogleConnector

#: the API root the real service answers at (the discovery document's ``rootUrl``)
DEFAULT_API_ROOT = "https://www.googleapis.com/"
#: a person's planner ``google_auto_decline`` -> ``focusTimeProperties.autoDeclineMode``
AUTO_DECLINE_MODES = {"off": "declineNone", "new": "declineOnlyNewConflictingInvitations",
                      "all": "declineAllConflictingInvitations"}


class GoogleSettings(ConnectorSettings):
    """``[connectors.google]``."""

    mode: Literal["user", "domain"] = Field(
        "user", description='"user": each person consents (OAuth); "domain": a service account with '
                            'domain-wide delegation')
    client_secrets_file: SecretFile | None = Field(
        None, description='the OAuth client JSON from the Cloud console (required with mode = "user")')
    service_account_file: SecretFile | None = Field(
        None, description='the service account JSON key (required with mode = "domain")')
    api_endpoint: Endpoint | None = Field(
        None, description="the API root that the calendar/v3/ and batch/calendar/v3 paths hang off "
                          f"(default: {DEFAULT_API_ROOT}); for proxies, private clouds and tests")
    ca_file: ReadableFile | None = Field(
        None, description="a PEM bundle of the certificate authorities to trust (default: "
                          "$REQUESTS_CA_BUNDLE, $SSL_CERT_FILE, else the system's)")
    max_wait: float = Field(
        60.0, ge=0, description="seconds one read may spend waiting out rate limits and server "
                                "errors before it fails with a rate-limit error")

    @classmethod
    def rules(cls, raw: Mapping[str, Any]) -> list[Problem]:
        mode = raw.get("mode", "user")
        if mode == "user" and "client_secrets_file" not in raw:
            return [("client_secrets_file", required_secret(' with mode = "user" (the OAuth client JSON)'))]
        if mode == "domain" and "service_account_file" not in raw:
            return [("service_account_file",
                     required_secret(' with mode = "domain" (the service account JSON key)'))]
        return []

    @property
    def api_root(self) -> str:
        """The API root with a trailing slash."""
        root = self.api_endpoint or DEFAULT_API_ROOT
        return root if root.endswith("/") else root + "/"


def _factory(ctx: Context) -> GoogleConnector:
    from connectors.google.connector import GoogleConnector

    return GoogleConnector.from_context(ctx)


def _prefetch(reads: Sequence[PlannedRead]) -> None:
    from connectors.google.prefetch import prefetch

    prefetch([read.context for read in reads])


def _enrollment() -> Any:
    from connectors.google.enroll import GoogleEnrollment

    return GoogleEnrollment()


class _LazyEnrollment:
    """The enrollment flow, imported on first use (it loads google-auth-oauthlib)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_enrollment(), name)


PROVIDER = Provider(
    name="google", connector="connectors.google.connector:GoogleConnector", factory=_factory,
    settings="connectors.google:GoogleSettings", needs_section=True, enrollment=_LazyEnrollment(),
    description="Google Workspace calendars (Google Calendar API)", zone_hints=True, prefetch=_prefetch)
