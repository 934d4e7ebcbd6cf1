"""CalDAV servers (Zimbra, Nextcloud, Radicale, …): the ``[connectors.caldav]`` settings (its
connector arrives with a later issue). No caldav import here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from connectors.plugin import Provider
from connectors.settings import ConnectorSettings, Endpoint, NonBlank, Problem, SecretFile


class CaldavSettings(ConnectorSettings):
    """``[connectors.caldav]``."""

    username: NonBlank | None = Field(None, description="the service account (together with password_file)")
    password_file: SecretFile | None = Field(None, description="the password of username")
    url: Endpoint = Field(description="the server's CalDAV root, e.g. https://dav.example.org/dav/")

    @classmethod
    def rules(cls, raw: Mapping[str, Any]) -> list[Problem]:
        if "username" in raw and "password_file" not in raw:
            return [("password_file", "is required when username is set")]
        if "password_file" in raw and "username" not in raw:
            return [("username", "is required when password_file is set")]
        return []


PROVIDER = Provider(
    name="caldav", connector=None, factory=None, settings="connectors.caldav:CaldavSettings",
    needs_section=True, description="CalDAV servers (Zimbra, Nextcloud, Radicale, …)")
