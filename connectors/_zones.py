"""Time-zone names as calendar providers write them, mapped to IANA zones.

Outlook, Exchange and Microsoft Graph name zones the Windows way (``"SE Asia Standard
Time"``); Thunderbird and Evolution write "globally unique" ids such as
``/mozilla.org/20050126_1/Asia/Jakarta``. Connectors call :func:`to_zoneinfo` once per
name and get a real :class:`~zoneinfo.ZoneInfo` (with the full IANA history) or ``None``.
"""

from __future__ import annotations

import functools
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

#: names some providers use that are neither IANA nor in the CLDR Windows table
_EXTRA = {
    "z": "UTC",
    "gmt": "UTC",
    "utc": "UTC",
    "tzone://microsoft/utc": "UTC",  # Graph's name for UTC
}

_WINDOWS_LOWER = {name.lower(): iana for name, iana in WINDOWS_TO_OLSON.items()}


def _zone(key: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError: not a valid key (absolute path, ".."); OSError: a directory name
        return None


@functools.lru_cache(maxsize=512)
def to_zoneinfo(name: str) -> ZoneInfo | None:
    """Return the IANA zone meant by ``name``, or ``None`` when it is not recognised.

    Accepts, in this order: an IANA name (``Asia/Jakarta``), a Windows name as Outlook,
    Exchange and Graph write it (``SE Asia Standard Time``, case-insensitive, surrounding
    quotes ignored), a few aliases (``UTC``, ``Z``, ``tzone://Microsoft/Utc``), and a
    "globally unique" TZID that ends in an IANA name (``/mozilla.org/20050126_1/Asia/Jakarta``).
    Never raises.
    """
    cleaned = name.strip().strip('"').strip()
    if not cleaned:
        return None
    lowered = cleaned.lower()
    key = _EXTRA.get(lowered) or _WINDOWS_LOWER.get(lowered)
    if key is not None:
        return _zone(key)
    if not cleaned.startswith("/"):
        zone = _zone(cleaned)
        if zone is not None:
            return zone
    parts = [part for part in cleaned.split("/") if part]
    for first in range(1, len(parts)):
        zone = _zone("/".join(parts[first:]))
        if zone is not None:
            return zone
    return None
