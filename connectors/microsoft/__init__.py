"""Microsoft 365 (Microsoft Graph): the ``microsoft`` provider plug-in.

``settings`` holds the ``[connectors.microsoft]`` schema (imported by the config loader without
MSAL); the connector, its MSAL token handling and the opt-in flows load on first use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from connectors.microsoft.settings import MicrosoftSettings
from connectors.plugin import AuthStart, Context, Enrolled, EnrollInput, PlannedRead, Provider

if TYPE_CHECKING:
    from connectors.microsoft.connector import MicrosoftConnector


def _connector(ctx: Context) -> MicrosoftConnector:
    from connectors.microsoft.connector import connector

    return connector(ctx)


def _prefetch(reads: Sequence[PlannedRead]) -> None:
    from connectors.microsoft.connector import prefetch

    prefetch(reads)


class _LazyEnrollment:
    """Loads MSAL only when someone enrolls."""

    def _flow(self) -> Any:
        from connectors.microsoft.auth import MicrosoftEnrollment

        return MicrosoftEnrollment()

    def interactive(self, req: EnrollInput) -> Enrolled:
        return self._flow().interactive(req)

    def unattended(self, req: EnrollInput) -> Enrolled:
        return self._flow().unattended(req)

    def start(self, req: EnrollInput, redirect_uri: str) -> AuthStart:
        return self._flow().start(req, redirect_uri)

    def finish(self, req: EnrollInput, redirect_uri: str, params: Mapping[str, str],
               state: str, verifier: str) -> Enrolled:
        return self._flow().finish(req, redirect_uri, params, state, verifier)


PROVIDER = Provider(
    name="microsoft", connector="connectors.microsoft.connector:MicrosoftConnector", factory=_connector,
    settings="connectors.microsoft:MicrosoftSettings", needs_section=True, enrollment=_LazyEnrollment(),
    description="Microsoft 365 calendars (Microsoft Graph)", zone_hints=True, prefetch=_prefetch)

__all__ = ["PROVIDER", "MicrosoftSettings"]
