"""Google Calendar v3 events to the normalised event, and own blocks to Google events.

Only the fields listed in :data:`EVENT_FIELDS` are asked for (a partial response): titles,
descriptions, locations and attendee addresses never reach this process. An own block keeps
its tag and title in ``extendedProperties.private``, which is all we read back of it.

How Google's event types count (see the README's Google section):

- ``default`` and ``fromGmail`` events: ordinary events; ``fromGmail`` ones (flights, hotel
  bookings Gmail found) are shown as free, since they are not work;
- ``focusTime``: a focus event (busy, counted);
- ``outOfOffice``: out of office (``show_as = oof``), which makes a leave day;
- ``workingLocation``: where the person works that day (``working_elsewhere``, never counted);
- ``birthday``: a contact's birthday (free, never counted).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from balanced_calendar.model import BlockRef, Event, Kind, Response, ShowAs, Status

#: the extendedProperties.private key holding an own block's stable id
TAG = "balancedCalendarId"
#: the extendedProperties.private key holding an own block's title (shown in the calendar too)
TITLE = "balancedCalendarTitle"

_ITEM = ("id,etag,status,eventType,transparency,start,end,attendeesOmitted,"
         "attendees(self,responseStatus,resource,organizer),organizer(self),extendedProperties(private)")
#: the partial response of events.list: paging, sync token and the fields we map, nothing else
LIST_FIELDS = f"nextPageToken,nextSyncToken,items({_ITEM})"
#: the partial response of events.get/insert/patch
EVENT_FIELDS = _ITEM

_RESPONSES = {"accepted": Response.ACCEPTED, "declined": Response.DECLINED,
              "tentative": Response.TENTATIVE, "needsAction": Response.NEEDS_ACTION}
_STATUSES = {"confirmed": Status.CONFIRMED, "tentative": Status.TENTATIVE, "cancelled": Status.CANCELLED}


def tag_of(item: Mapping[str, Any]) -> str:
    """The own-block id of a Google event, ``""`` for an event we did not write."""
    private = (item.get("extendedProperties") or {}).get("private") or {}
    return str(private.get(TAG) or "")


def _when(value: Mapping[str, Any], tz: dt.tzinfo) -> dt.datetime | dt.date:
    if "dateTime" in value:
        moment = dt.datetime.fromisoformat(value["dateTime"])
        if moment.tzinfo is None:  # Google always sends an offset; be kind to proxies that do not
            moment = moment.replace(tzinfo=_zone(value.get("timeZone")) or tz)
        return moment
    return dt.date.fromisoformat(value["date"])


def _zone(name: str | None) -> dt.tzinfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _response(item: Mapping[str, Any]) -> Response:
    if (item.get("organizer") or {}).get("self"):
        return Response.ORGANIZER
    for attendee in item.get("attendees") or ():
        if attendee.get("self"):
            return _RESPONSES.get(attendee.get("responseStatus", ""), Response.UNKNOWN)
    return Response.UNKNOWN


def _others(item: Mapping[str, Any]) -> int:
    """People other than the owner: guests that are not the owner and not a room, plus the
    organizer when someone else organised it and is not on the guest list (Google leaves the
    list out for events without guests, and trims it when ``attendeesOmitted``)."""
    attendees = item.get("attendees") or ()
    count = sum(1 for a in attendees if not a.get("self") and not a.get("resource"))
    organizer = item.get("organizer")
    if organizer is not None and not organizer.get("self") and not any(a.get("organizer") for a in attendees):
        count += 1
    return count


def to_event(item: Mapping[str, Any], tz: dt.tzinfo, calendar: str) -> Event:
    """One Google event instance (``singleEvents=true``) as a normalised :class:`Event`.

    Raises ``KeyError``/``ValueError`` for an item without usable times.
    """
    start, end = _when(item["start"], tz), _when(item["end"], tz)
    all_day = not isinstance(start, dt.datetime)
    status = _STATUSES.get(item.get("status", "confirmed"), Status.CONFIRMED)
    kind, show_as = Kind.EVENT, ShowAs.FREE if item.get("transparency") == "transparent" else ShowAs.BUSY
    event_type = item.get("eventType", "default")
    tag = tag_of(item)
    if tag:
        private = item["extendedProperties"]["private"]
        return Event(uid=tag, start=start, end=end, all_day=all_day, status=status, calendar=calendar,
                     kind=Kind.OWN_BLOCK, show_as=show_as, title=private.get(TITLE) or None,
                     ref=BlockRef(tag, item["id"], item.get("etag")))
    if event_type == "focusTime":
        kind = Kind.FOCUS
    elif event_type == "outOfOffice":
        kind, show_as = Kind.OUT_OF_OFFICE, ShowAs.OOF
    elif event_type == "workingLocation":
        kind, show_as = Kind.WORKING_LOCATION, ShowAs.WORKING_ELSEWHERE
    elif event_type in ("birthday", "fromGmail"):
        show_as = ShowAs.FREE
    return Event(uid=item["id"], start=start, end=end, all_day=all_day, status=status, response=_response(item),
                 show_as=show_as, kind=kind, others=_others(item),
                 organizer_is_self=_organizer_is_self(item), calendar=calendar)


def _organizer_is_self(item: Mapping[str, Any]) -> bool:
    organizer = item.get("organizer")
    return True if organizer is None else bool(organizer.get("self"))


def _stamp(value: dt.datetime | dt.date) -> dict[str, str]:
    if isinstance(value, dt.datetime):
        body = {"dateTime": value.isoformat()}
        key = getattr(value.tzinfo, "key", None)
        if key:
            body["timeZone"] = key
        return body
    return {"date": value.isoformat()}


def block_body(block: Event, *, focus: bool, decline_mode: str) -> dict[str, Any]:
    """The Google event for an own block: tagged, private, opaque, no attendees.

    ``focus``: a native focus-time event (``eventType=focusTime``, primary calendars of
    accounts that support it); otherwise a private opaque event.
    """
    body: dict[str, Any] = {
        "summary": block.title or "Focus",
        "start": _stamp(block.start), "end": _stamp(block.end),
        "transparency": "opaque", "visibility": "private",
        "extendedProperties": {"private": {TAG: block.uid, TITLE: block.title or ""}},
        "reminders": {"useDefault": False},
    }
    if focus:
        body["eventType"] = "focusTime"
        body["focusTimeProperties"] = {"autoDeclineMode": decline_mode}
    return body


def move_body(block: Event) -> dict[str, Any]:
    """The patch that moves or retitles an own block (its event type cannot change)."""
    return {"summary": block.title or "Focus", "start": _stamp(block.start), "end": _stamp(block.end),
            "extendedProperties": {"private": {TAG: block.uid, TITLE: block.title or ""}}}


def overlaps(event: Event, start: dt.datetime, end: dt.datetime, tz: dt.tzinfo) -> bool:
    """``event`` overlaps ``[start, end)``; all-day dates are read in ``tz``."""
    def instant(value: dt.datetime | dt.date) -> dt.datetime:
        return value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time(), tzinfo=tz)
    return instant(event.start) < end and instant(event.end) > start
