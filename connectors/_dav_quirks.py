"""What CalDAV servers do differently, as data: one row per server kind.

The connector never asks "is this Zimbra?"; it reads the row of the configured
``[connectors.caldav] server`` and follows it. A new server kind, or a new finding about one,
is a change to :data:`QUIRKS` only. Sources: the servers' documentation and the
compatibility notes of the python ``caldav`` library (``caldav/compatibility_hints.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ServerKind = Literal["generic", "radicale", "nextcloud", "zimbra"]


@dataclass(frozen=True)
class Quirks:
    """How to talk to one kind of CalDAV server."""

    #: RFC 6578 ``sync-collection`` works reliably: incremental reads ask for changes since a
    #: sync token; otherwise they compare the etags of the window's resources with the last read
    sync_collection: bool
    #: ``If-None-Match: *`` is honoured on PUT (a creation never overwrites). Where it is not,
    #: creations go to a fresh resource name and the tag is checked before any overwrite
    if_none_match: bool
    #: the path of the person's calendar on the server's host when neither the config nor enrollment
    #: names one (``{user}``: the local part of the address, ``{email}``: the whole address);
    #: ``None``: discover it from the principal (current-user-principal, calendar-home-set)
    calendar_path: str | None
    #: the HTTP authentication scheme, sent with the first request (saves a 401 round trip)
    auth: Literal["basic", "digest"] = "basic"
    #: the recurrence expansion is done here, from the series' own data (the shared ICS
    #: parser), never by the server: server-side ``expand`` is inconsistent across servers
    #: (moved and cancelled instances, infinite series), client-side it is the same everywhere
    server_expand: bool = False


QUIRKS: dict[str, Quirks] = {
    # RFC-conformant defaults: sync-collection and preconditions as the RFCs say
    "generic": Quirks(sync_collection=True, if_none_match=True, calendar_path=None),
    # Radicale 3: sync tokens and If-None-Match work; calendars live at /USER/NAME/
    "radicale": Quirks(sync_collection=True, if_none_match=True, calendar_path=None),
    # Nextcloud (SabreDAV): sync tokens work; the default calendar is "personal"
    "nextcloud": Quirks(sync_collection=True, if_none_match=True,
                        calendar_path="/remote.php/dav/calendars/{user}/personal/"),
    # Zimbra: sync tokens are unreliable and "If-None-Match: *" is compared as a literal etag
    # (it overwrites); the default calendar is /dav/ADDRESS/Calendar/
    "zimbra": Quirks(sync_collection=False, if_none_match=False, calendar_path="/dav/{email}/Calendar/"),
}


def quirks_for(kind: str) -> Quirks:
    """The row of ``kind`` (the settings schema only lets known kinds through)."""
    return QUIRKS[kind]
