"""A person's planned blocks as one iCalendar file (the embedded default writes these).

Any calendar app can import the file or subscribe to it: one ``VEVENT`` per block, busy
(``TRANSP:OPAQUE``), in UTC, with nobody else in it, tagged like a block the CalDAV connector
writes (``X-BALANCED-CALENDAR-ID`` holding the stable block id, the category
``balanced-calendar``). ``DTSTAMP`` is the given instant, so the same plan gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import icalendar

from balanced_calendar.planner.desired import Desired

TAG = "X-BALANCED-CALENDAR-ID"
CATEGORY = "balanced-calendar"


def blocks_ics(blocks: Sequence[Desired], title: Callable[[str], str], *, name: str, stamp: dt.datetime) -> bytes:
    """The iCalendar bytes of ``blocks``; ``title(kind)`` is the localised title of a kind,
    ``name`` the calendar's display name, ``stamp`` an aware ``DTSTAMP``."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//balanced-calendar//planner//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    utc = dt.timezone.utc
    for block in sorted(blocks, key=lambda b: (b.start, b.block_id)):
        event = icalendar.Event()
        event.add("uid", f"balanced-calendar-{block.block_id}")
        event.add("dtstamp", stamp.astimezone(utc))
        event.add("dtstart", dt.datetime.fromtimestamp(block.start, utc))
        event.add("dtend", dt.datetime.fromtimestamp(block.end, utc))
        event.add("summary", title(block.kind))
        event.add("categories", [CATEGORY])
        event.add("transp", "OPAQUE")
        event.add(TAG, block.block_id)
        calendar.add_component(event)
    return calendar.to_ical()
