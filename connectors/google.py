"""Google Workspace: the ``[connectors.google]`` settings (its connector arrives with a later issue).

``user`` mode: each person consents through OAuth with the client in ``client_secrets_file``;
``domain`` mode: a service account with domain-wide delegation (``service_account_file``).
No Google SDK is imported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from connectors.plugin import Provider
from connectors.settings import ConnectorSettings, Endpoint, Problem, SecretFile, required_secret


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
        None, description="the API root, only for proxies and tests (default: the Google client's)")

    @classmethod
    def rules(cls, raw: Mapping[str, Any]) -> list[Problem]:
        mode = raw.get("mode", "user")
        if mode == "user" and "client_secrets_file" not in raw:
            return [("client_secrets_file", required_secret(' with mode = "user" (the OAuth client JSON)'))]
        if mode == "domain" and "service_account_file" not in raw:
            return [("service_account_file",
                     required_secret(' with mode = "domain" (the service account JSON key)'))]
        return []


PROVIDER = Provider(
    name="google", connector=None, factory=None, settings="connectors.google:GoogleSettings",
    needs_section=True, description="Google Workspace calendars (Google Calendar API)")
