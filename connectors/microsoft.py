"""Microsoft 365: the ``[connectors.microsoft]`` settings (its connector arrives with a later issue).

``user`` mode: delegated consent per person; ``app`` mode: application permissions with a
client secret. ``authority`` and ``graph_endpoint`` select national clouds. No MSAL import here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from connectors.plugin import Provider
from connectors.settings import ConnectorSettings, Endpoint, NonBlank, Problem, SecretFile, required_secret


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


PROVIDER = Provider(
    name="microsoft", connector=None, factory=None, settings="connectors.microsoft:MicrosoftSettings",
    needs_section=True, description="Microsoft 365 calendars (Microsoft Graph)")
