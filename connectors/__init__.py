"""Calendar providers behind one abstract :class:`connectors.base.Connector`.

The registry maps a config ``type`` to a dotted path and imports it on first use, so a
deployment that only reads ICS files never loads the Google, Microsoft or Exchange SDKs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from balanced_calendar.model import UserError

if TYPE_CHECKING:
    from connectors.base import Connector

#: provider name -> "module:ClassName"
REGISTRY: dict[str, str] = {
    "ics": "connectors.ics:IcsConnector",
    "memory": "connectors.memory:MemoryConnector",
}

_loaded: dict[str, type[Connector]] = {}


def available() -> list[str]:
    """Names a config or ``--provider`` may use."""
    return sorted(REGISTRY)


def connector_class(name: str) -> type[Connector]:
    """Import and return the connector class registered as ``name``.

    Raises :class:`UserError` for an unknown name.
    """
    if name not in _loaded:
        try:
            target = REGISTRY[name]
        except KeyError:
            raise UserError(
                f"unknown connector {name!r}", hint=f"use one of: {', '.join(available())}"
            ) from None
        module_name, _, class_name = target.partition(":")
        _loaded[name] = getattr(importlib.import_module(module_name), class_name)
    return _loaded[name]
