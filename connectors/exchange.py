"""Exchange Server on premises: the ``[connectors.exchange]`` settings (EWS; its connector
arrives with a later issue). No exchangelib import here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from connectors.plugin import Provider
from connectors.settings import ConnectorSettings, Endpoint, NonBlank, Problem, SecretFile, required_secret

#: authentication methods that sign in with ``username`` and ``password_file``
PASSWORD_AUTH = ("ntlm", "basic")


class ExchangeSettings(ConnectorSettings):
    """``[connectors.exchange]``."""

    auth: Literal["ntlm", "basic", "oauth"] = Field("ntlm", description="how the service signs in to EWS")
    username: NonBlank | None = Field(
        None, description='an account with impersonation rights (required with auth = "ntlm" or "basic")')
    service_endpoint: Endpoint = Field(
        description="the EWS URL, e.g. https://mail.example.org/EWS/Exchange.asmx")
    password_file: SecretFile | None = Field(
        None, description='the password of username (required with auth = "ntlm" or "basic")')

    @classmethod
    def rules(cls, raw: Mapping[str, Any]) -> list[Problem]:
        auth = raw.get("auth", "ntlm")
        if auth not in PASSWORD_AUTH:
            return []
        found: list[Problem] = []
        if "username" not in raw:
            found.append(("username", f'is required with auth = "{auth}"'))
        if "password_file" not in raw:
            found.append(("password_file", required_secret(f' with auth = "{auth}"')))
        return found


PROVIDER = Provider(
    name="exchange", connector=None, factory=None, settings="connectors.exchange:ExchangeSettings",
    needs_section=True, description="Exchange Server on premises (EWS)")
