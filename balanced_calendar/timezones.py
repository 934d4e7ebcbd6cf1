"""The person's zone is an explicit input, never the host's."""

from __future__ import annotations

import zoneinfo

from balanced_calendar.model import InputError

#: Indonesian zone abbreviations users type.
ALIASES = {"WIB": "Asia/Jakarta", "WITA": "Asia/Makassar", "WIT": "Asia/Jayapura"}


def load_zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone ``name`` (or WIB/WITA/WIT). Raises :class:`InputError` if unknown."""
    name = ALIASES.get(name.upper(), name) if name else name
    try:
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"unknown time zone {name!r}",
            hint="use an IANA name such as Asia/Jakarta, Asia/Makassar, Asia/Jayapura (or WIB/WITA/WIT)",
        ) from None
