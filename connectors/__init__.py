"""Calendar providers behind one abstract :class:`connectors.base.Connector`.

Each provider is one plug-in (:class:`connectors.plugin.Provider`) in its own module. The
registry maps a config name to ``"module:PROVIDER"`` and imports it on first use, so a
deployment that only reads ICS files never loads the Google, Microsoft or Exchange SDKs.
Adding a provider is one module plus one line here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from balanced_calendar.model import UserError

if TYPE_CHECKING:
    from connectors.base import Connector
    from connectors.plugin import Provider

#: provider name -> "module:attribute" of its :class:`~connectors.plugin.Provider`
REGISTRY: dict[str, str] = {
    "caldav": "connectors.caldav:PROVIDER",
    "exchange": "connectors.exchange:PROVIDER",
    "google": "connectors.google:PROVIDER",
    "ics": "connectors.ics:PROVIDER",
    "memory": "connectors.memory:PROVIDER",
    "microsoft": "connectors.microsoft:PROVIDER",
}

_providers: dict[str, Provider] = {}
_classes: dict[str, type[Connector]] = {}


def _load(target: str) -> object:
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def known() -> list[str]:
    """Every provider name a config may mention (some may not be available yet)."""
    return sorted(REGISTRY)


def provider(name: str) -> Provider:
    """The plug-in registered as ``name``. Raises :class:`UserError` for an unknown name."""
    if name not in _providers:
        try:
            target = REGISTRY[name]
        except KeyError:
            raise UserError(f"unknown connector {name!r}", hint=f"use one of: {', '.join(known())}") from None
        _providers[name] = _load(target)  # type: ignore[assignment]
    return _providers[name]


def available() -> list[str]:
    """Names people can be enrolled with in this version."""
    return [name for name in known() if provider(name).available]


def connector_class(name: str) -> type[Connector]:
    """Import and return the connector class of provider ``name``.

    Raises :class:`UserError` for an unknown name or a provider without a connector yet.
    """
    if name not in _classes:
        plugin = provider(name)
        if plugin.connector is None:
            raise UserError(f"connector {name!r} is not available in this version",
                            hint="enroll the person with one of: " + ", ".join(available()))
        _classes[name] = _load(plugin.connector)  # type: ignore[assignment]
    return _classes[name]
