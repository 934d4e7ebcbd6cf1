"""Graph event resources to normalised events, and own blocks to Graph event bodies.

Titles, bodies, locations and attendee addresses are read only to be counted or dropped:
an :class:`Event` carries a title only for balanced-calendar's own blocks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from balanced_calendar.model import BlockRef, Event, Kind, Response, ShowAs, Status

from connectors._zones import to_zoneinfo

#: the category every own block carries (shown in Outlook; marks blocks in change feeds)
CATEGORY = "balanced-calendar"
#: the extended property holding an own block's id (a private GUID namespace of ours)
BLOCK_PROPERTY = "String {5c1b7f8e-3a47-4d5e-9b8a-6a0c2f1d9e42} Name BalancedCalendarBlockId"

SHOW_AS = {
    "free": ShowAs.FREE,
    "tentative": ShowAs.TENTATIVE,
    "busy": ShowAs.BUSY,
    "oof": ShowAs.OOF,
    "workingelsewhere": ShowAs.WORKING_ELSEWHERE,
    "unknown": ShowAs.BUSY,
}
RESPONSE = {
    "organizer": Response.ORGANIZER,
    "accepted": Response.ACCEPTED,
    "tentativelyaccepted": Response.TENTATIVE,
    "declined": Response.DECLINED,
    "notresponded": Response.NEEDS_ACTION,
    "none": Response.NEEDS_ACTION,
}
#: what a calendar view asks for (``subject`` only matters for own blocks)
SELECT = ("id,start,end,isAllDay,isCancelled,showAs,type,responseStatus,isOrganizer,attendees,organizer,"
          "categories,subject")
EXPAND = f"singleValueExtendedProperties($filter=id eq '{BLOCK_PROPERTY}')"


def parse_time(value: Mapping[str, Any]) -> dt.datetime:
    """A Graph ``dateTimeTimeZone`` as an aware datetime (7-digit fractions are cut to 6)."""
    text = str(value.get("dateTime") or "")
    head, _, fraction = text.partition(".")
    moment = dt.datetime.fromisoformat(head.removesuffix("Z"))
    if fraction:
        digits = "".join(ch for ch in fraction if ch.isdigit())[:6].ljust(6, "0")
        moment = moment.replace(microsecond=int(digits))
    zone = to_zoneinfo(str(value.get("timeZone") or "UTC")) or dt.timezone.utc
    return moment.replace(tzinfo=zone)


def _address(party: Any) -> str:
    if isinstance(party, Mapping):
        email = party.get("emailAddress")
        if isinstance(email, Mapping):
            return str(email.get("address") or "").strip().lower()
    return ""


def participants(item: Mapping[str, Any], owner: str | None) -> int:
    """People on the event besides the owner: attendees and organizer, each counted once."""
    people = {_address(a) for a in item.get("attendees") or ()}
    people.add(_address(item.get("organizer")))
    people.discard("")
    if owner:
        people.discard(owner.lower())
    return len(people)


def block_tag(item: Mapping[str, Any]) -> str:
    """The own-block id stored on ``item`` (``""`` when it has none)."""
    for prop in item.get("singleValueExtendedProperties") or ():
        if isinstance(prop, Mapping) and str(prop.get("id", "")).lower() == BLOCK_PROPERTY.lower():
            return str(prop.get("value") or "")
    return ""


def is_candidate_block(item: Mapping[str, Any]) -> bool:
    """Carries our category: its tag must be looked up (change feeds do not expand it)."""
    return CATEGORY in (item.get("categories") or ())


def to_event(item: Mapping[str, Any], owner: str | None, calendar: str, tz: dt.tzinfo,
             tag: str = "") -> Event | None:
    """The normalised event of one calendar-view item, timed ones in the person's zone ``tz``;
    ``None`` for cancelled instances and series masters (a view lists the instances)."""
    if item.get("isCancelled") or str(item.get("type") or "").lower() == "seriesmaster":
        return None
    all_day = bool(item.get("isAllDay"))
    start, end = parse_time(item["start"]), parse_time(item["end"])
    if not all_day:
        start, end = start.astimezone(tz), end.astimezone(tz)
    show_as = SHOW_AS.get(str(item.get("showAs") or "busy").lower(), ShowAs.BUSY)
    if tag:
        return Event(uid=tag, start=start, end=end, show_as=ShowAs.BUSY, kind=Kind.OWN_BLOCK, calendar=calendar,
                     title=str(item.get("subject") or ""), ref=BlockRef(tag, str(item["id"]), etag_of(item)))
    organizer = bool(item.get("isOrganizer"))
    answer = str((item.get("responseStatus") or {}).get("response") or "").lower()
    response = Response.ORGANIZER if organizer else RESPONSE.get(answer, Response.UNKNOWN)
    if response is Response.ORGANIZER and not organizer:
        response = Response.NEEDS_ACTION
    kind = Kind.OUT_OF_OFFICE if show_as is ShowAs.OOF else Kind.EVENT
    common = dict(uid=str(item["id"]), status=Status.CONFIRMED,
                  response=response, show_as=show_as, kind=kind, others=participants(item, owner),
                  organizer_is_self=organizer, calendar=calendar)
    if all_day:
        first, last = start.date(), end.date()
        if last <= first:
            last = first + dt.timedelta(days=1)
        return Event(start=first, end=last, all_day=True, **common)  # type: ignore[arg-type]
    return Event(start=start, end=end, **common)  # type: ignore[arg-type]


def etag_of(item: Mapping[str, Any]) -> str | None:
    etag = item.get("@odata.etag")
    if etag:
        return str(etag)
    change_key = item.get("changeKey")
    return f'W/"{change_key}"' if change_key else None


def _utc(moment: dt.datetime | dt.date) -> dict[str, str]:
    assert isinstance(moment, dt.datetime)
    return {"dateTime": moment.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(), "timeZone": "UTC"}


def block_body(block: Event) -> dict[str, Any]:
    """A private, busy event with our category and tag, no attendees and no reminder."""
    return {
        "subject": block.title or "balanced-calendar",
        "start": _utc(block.start),
        "end": _utc(block.end),
        "showAs": "busy",
        "sensitivity": "private",
        "categories": [CATEGORY],
        "attendees": [],
        "isReminderOn": False,
        "responseRequested": False,
        "singleValueExtendedProperties": [{"id": BLOCK_PROPERTY, "value": block.uid}],
    }


def block_patch(block: Event) -> dict[str, Any]:
    """The fields an update changes (times and title; the tag stays)."""
    return {"subject": block.title or "balanced-calendar", "start": _utc(block.start), "end": _utc(block.end)}
