"""``[connectors.microsoft]``: how balanced-calendar reaches Microsoft 365 (no MSAL import here).

``user`` mode: each person signs in and consents (device code on the CLI, authorization code
with PKCE on the web opt-in page); ``app`` mode: application permissions with a client secret
(client credentials), for agencies that grant them. ``authority`` and ``graph_endpoint``
select a national cloud, a proxy or a test server.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from connectors.settings import ConnectorSettings, Endpoint, NonBlank, Problem, ReadableFile, SecretFile, required_secret

#: Graph answers at most this many concurrent requests per mailbox; more are throttled (429)
MAILBOX_CONCURRENCY = 4


class MicrosoftSettings(ConnectorSettings):
    """``[connectors.microsoft]``."""

    mode: Literal["user", "app"] = Field(
        "user", description='"user": each person consents; "app": application permissions')
    tenant_id: NonBlank = Field(
        "organizations", description='the directory (tenant) id (required with mode = "app")')
    client_id: NonBlank = Field(description="the application (client) id of the app registration")
    client_secret_file: SecretFile | None = Field(
        None, description='the client secret (required with mode = "app")')
    authority: Endpoint = Field(
        "https://login.microsoftonline.com",
        description="the sign-in authority (national clouds: e.g. https://login.microsoftonline.us)")
    graph_endpoint: Endpoint = Field(
        "https://graph.microsoft.com/v1.0", description="the Microsoft Graph root")
    ca_file: ReadableFile | None = Field(
        None, description="a PEM file of CA certificates to trust for the authority and Graph (a private "
                          "CA or a TLS-inspecting proxy); REQUESTS_CA_BUNDLE / SSL_CERT_FILE otherwise")
    page_size: int = Field(200, gt=0, le=1000, description="events per Graph page (Prefer: odata.maxpagesize)")
    max_retry_wait: float = Field(
        120.0, ge=0, description="seconds one read may spend waiting on Retry-After answers (429/503/504) "
                                 "before it gives up with a rate-limit error")

    @classmethod
    def rules(cls, raw: Mapping[str, Any]) -> list[Problem]:
        if raw.get("mode", "user") != "app":
            return []
        found: list[Problem] = []
        if "tenant_id" not in raw:
            found.append(("tenant_id", 'is required with mode = "app" (the directory (tenant) id)'))
        if "client_secret_file" not in raw:
            found.append(("client_secret_file", required_secret(' with mode = "app"')))
        return found

    # -- derived -------------------------------------------------------------------------
    @property
    def authority_url(self) -> str:
        """The tenant's authority, e.g. ``https://login.microsoftonline.com/<tenant>``."""
        return f"{self.authority.rstrip('/')}/{self.tenant_id}"

    @property
    def graph_root(self) -> str:
        return self.graph_endpoint.rstrip("/")

    @property
    def graph_scope(self) -> str:
        """The application-permission scope of this Graph: ``<graph origin>/.default``."""
        parts = urllib.parse.urlsplit(self.graph_endpoint)
        return f"{parts.scheme}://{parts.netloc}/.default"

    @property
    def mailbox_concurrency(self) -> int:
        """Requests in flight per mailbox: ``max_concurrency``, never above Graph's limit of 4."""
        return min(MAILBOX_CONCURRENCY, self.max_concurrency)
