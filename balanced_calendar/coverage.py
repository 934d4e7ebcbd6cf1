"""Which dates the store holds synced data for, so an audit never shows unknown days as zeros.

A successful sync records its window (``SyncState.window_start``/``window_end``) per person
and calendar; a failed sync keeps the previous window. Outside that window the store knows
nothing, and :func:`require_synced` refuses to audit there.
"""

from __future__ import annotations

import datetime as dt

from balanced_calendar.model import UserError
from balanced_calendar.store import PersonRecord, Store
from connectors import provider


class NoSyncedData(UserError):
    """The range asked for lies (partly) outside what was synced: its days are unknown, not zero.

    Exit status 3, so scripts can tell "no data" from bad input (2).
    """

    exit_code = 3


def synced_window(store: Store, person: PersonRecord) -> tuple[dt.datetime, dt.datetime] | None:
    """The half-open window ``[start, end)`` of the person's last successful sync, or ``None``
    when their calendar was never synced. Raises ``NotEnrolled``."""
    calendar = provider(person.connector).calendar_key(person.calendar)
    state = store.get_sync_state(person.email, calendar)
    if state.window_start is None or state.window_end is None:
        return None
    return state.window_start, state.window_end


def require_synced(store: Store, person: PersonRecord, first: dt.date, last: dt.date, tz: dt.tzinfo) -> None:
    """Return when every local date ``first``…``last`` (in ``tz``) lies inside the synced window.

    Raises :class:`NoSyncedData` naming the range asked for and the synced one (in the
    person's zone), with the commands that fix it; ``NotEnrolled`` for an unknown person.
    """
    window = synced_window(store, person)
    asked = f"{first}…{last}"
    retry = f"run `balanced-calendar sync --person {person.email}`"
    if window is None:
        raise NoSyncedData(f"no synced data for {asked}: this person's calendar has never been synced",
                           hint=f"{retry}, then audit again")
    start = dt.datetime.combine(first, dt.time(), tzinfo=tz)
    stop = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    if window[0] <= start and stop <= window[1]:
        return
    from balanced_calendar.timezones import load_zone

    zone = load_zone(person.timezone)
    synced_first = window[0].astimezone(zone).date()
    synced_last = (window[1].astimezone(zone) - dt.timedelta(microseconds=1)).date()
    raise NoSyncedData(
        f"no synced data for {asked}: this person's calendar was last synced for "
        f"{synced_first}…{synced_last}",
        hint=f"{retry} (it reads the configured sync window around today), or choose dates inside that range")
