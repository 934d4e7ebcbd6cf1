"""The CalDAV connector: reads one calendar collection, writes its own blocks there.

Reading asks the server for the resources overlapping the window (a ``calendar-query`` with
a ``time-range``, a day wider on each side) and expands recurrences here, with the ICS
connector's parser (:class:`connectors.ics.ParsedCalendar`), one resource at a time: moved and
cancelled instances, all-day and multi-day events, Windows and IANA zones are read exactly as
an ``.ics`` export of the same calendar. Incremental reads use RFC 6578 ``sync-collection``
where the server kind supports it (:mod:`connectors._dav_quirks`), etags otherwise; the
opaque state remembers each resource's etag and the instances it gave (by RECURRENCE-ID, never
the raw UID), so a changed resource removes exactly its old instances that are gone; a deleted
one makes the read a full one.

Own blocks live in resources named ``bc-<hash of the block id>.ics``, tagged
``X-BALANCED-CALENDAR-ID`` and the category ``balanced-calendar``. Every write carries a
precondition (``If-None-Match: *`` to create, ``If-Match: <etag>`` to update and delete); a
412 re-reads the block: if its times and title are still those balanced-calendar wrote
(``X-BALANCED-CALENDAR-SIG``), the write is retried once with the new etag, otherwise the
owner changed it and the answer is :class:`Conflict`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, ClassVar
from xml.sax.saxutils import escape

import icalendar

from balanced_calendar.model import (BlockRef, ChangeSet, Conflict, Event, InputError, Kind, NotOurs, ProviderError,
                                     Window)

from connectors._dav_http import DavSession
from connectors._dav_quirks import Quirks, quirks_for
from connectors.base import Connector
from connectors.ics import ParsedCalendar

log = logging.getLogger(__name__)

CATEGORY = "balanced-calendar"
TAG = "X-BALANCED-CALENDAR-ID"
SIG = "X-BALANCED-CALENDAR-SIG"
#: the query is this much wider than the window: the server compares floating times and
#: dates in its own zone, the exact cut is made here in the person's zone
_QUERY_MARGIN = dt.timedelta(days=1)
#: a resource name balanced-calendar wrote or may touch: no path, no query
_NAME = re.compile(r"^[A-Za-z0-9._@+~-]{1,200}$")
#: how many truncated sync-collection answers are followed before a full read instead
_MAX_SYNC_PAGES = 20
#: resources fetched in one calendar-multiget
_MULTIGET_BATCH = 200

_NS = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"'
_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n'


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _query_body(start: dt.datetime, end: dt.datetime, *, data: bool) -> str:
    prop = "<D:getetag/>" + ("<C:calendar-data/>" if data else "")
    return (f"{_HEAD}<C:calendar-query {_NS}><D:prop>{prop}</D:prop><C:filter>"
            '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
            f'<C:time-range start="{_utc(start)}" end="{_utc(end)}"/>'
            "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>")


def _multiget_body(hrefs: Iterable[str]) -> str:
    refs = "".join(f"<D:href>{escape(h)}</D:href>" for h in hrefs)
    return (f"{_HEAD}<C:calendar-multiget {_NS}><D:prop><D:getetag/><C:calendar-data/></D:prop>"
            f"{refs}</C:calendar-multiget>")


def _sync_body(token: str) -> str:
    return (f'{_HEAD}<D:sync-collection xmlns:D="DAV:"><D:sync-token>{escape(token)}</D:sync-token>'
            "<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>")


def _collection_body(token: bool, zone: bool) -> str:
    props = ("<D:sync-token/>" if token else "") + ("<C:calendar-timezone/>" if zone else "")
    return f"{_HEAD}<D:propfind {_NS}><D:prop>{props}</D:prop></D:propfind>"


_TZID = re.compile(r"^TZID:(.+?)\s*$", re.MULTILINE)


@dataclass
class _Resource:
    etag: str
    #: the instance uids it gave in the window, without the event's UID: ``""`` for a single
    #: event, ``"/<RECURRENCE-ID>"`` for each instance of a series (raw UIDs are not kept: the
    #: store keeps them only as keyed hashes); ``None`` when they could not be split so
    tails: list[str] | None


@dataclass
class _State:
    """What an incremental read needs from the last one (JSON in :attr:`ChangeSet.state`)."""

    window: str
    token: str | None
    resources: dict[str, _Resource]

    def dump(self) -> str:
        return json.dumps({"v": 2, "w": self.window, "t": self.token,
                           "r": {n: [r.etag, r.tails] for n, r in sorted(self.resources.items())}},
                          separators=(",", ":"))

    @classmethod
    def load(cls, text: str | None) -> _State | None:
        """The state in ``text``; ``None`` for no state or one this version cannot read."""
        if not text:
            return None
        try:
            raw = json.loads(text)
            if raw.get("v") != 2:
                return None
            resources = {str(n): _Resource(str(e), None if tails is None else [str(t) for t in tails])
                         for n, (e, tails) in raw["r"].items()}
            token = raw["t"]
            return cls(str(raw["w"]), None if token is None else str(token), resources)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


def _window_key(window: Window) -> str:
    return f"{window.start.isoformat()}|{window.end.isoformat()}"


def _name_of(href: str) -> str:
    return urllib.parse.unquote(href.rstrip("/").rsplit("/", 1)[-1])


class CaldavConnector(Connector):
    """One person's calendar collection at ``calendar_url``, through ``session``.

    ``calendar`` is the store's calendar key (``"caldav"``: the URL itself is kept in the
    vault, it names the person). Errors: see :mod:`connectors._dav_http`; a resource the
    parser cannot read is left out and listed in :attr:`skipped`.
    """

    name: ClassVar[str] = "caldav"
    supports_write: ClassVar[bool] = True
    supports_incremental: ClassVar[bool] = True

    def __init__(self, session: DavSession, calendar_url: str, *, quirks: Quirks | None = None,
                 owner: str | None = None, calendar: str = "caldav", allow_write: bool = False,
                 zone_hint: bool = False) -> None:
        super().__init__(owner=owner, calendar=calendar, allow_write=allow_write)
        #: full reads report the calendar's own zone (``calendar-timezone``) as ``ChangeSet.zone``
        self.zone_hint = zone_hint
        self.session = session
        self.url = calendar_url if calendar_url.endswith("/") else calendar_url + "/"
        self.quirks = quirks or quirks_for("generic")
        self._skipped: list[InputError] = []

    @property
    def skipped(self) -> list[InputError]:
        """Resources or series left out of the last read (unreadable or too dense to expand)."""
        return list(self._skipped)

    @property
    def requests(self) -> int:
        """HTTP requests sent so far (the benchmark reads it)."""
        return self.session.requests

    # -- reading ---------------------------------------------------------------------------
    def read(self, window: Window, tz: dt.tzinfo) -> list[Event]:
        self._skipped = []
        resources = self._query(window, data=True)
        events: list[Event] = []
        for name, (etag, data) in resources.items():
            events += self._expand(name, etag, data, window, tz)
        return sorted(events, key=_order(tz))

    def read_changes(self, window: Window, tz: dt.tzinfo, state: str | None) -> ChangeSet:
        self._skipped = []
        previous = _State.load(state)
        if previous is None or previous.window != _window_key(window):
            return self._full(window, tz)
        if self.quirks.sync_collection:
            if previous.token is None:
                return self._full(window, tz)
            answer = self._sync(previous.token)
            if answer is None:  # the token expired or was refused
                log.info("caldav sync token refused by %s: full read", self.session.label)
                return self._full(window, tz)
            token, changed, deleted = answer
        else:
            token = None
            listing = self._query(window, data=False)
            changed = {n: e for n, (e, _) in listing.items()}
            deleted = [n for n in previous.resources if n not in listing]
        return self._apply(previous, window, tz, token, changed, deleted)

    def _full(self, window: Window, tz: dt.tzinfo) -> ChangeSet:
        token, zone = None, None
        if self.quirks.sync_collection or self.zone_hint:
            token, zone = self._collection()
        resources = self._query(window, data=True)
        events: list[Event] = []
        kept: dict[str, _Resource] = {}
        for name, (etag, data) in resources.items():
            mine = self._expand(name, etag, data, window, tz)
            events += mine
            kept[name] = _Resource(etag, _tails(mine, _base(data)))
        state = _State(_window_key(window), token, kept)
        return ChangeSet(upserts=tuple(sorted(events, key=_order(tz))), state=state.dump(), full=True, zone=zone)

    def _apply(self, previous: _State, window: Window, tz: dt.tzinfo, token: str | None,
               changed: dict[str, str], deleted: list[str]) -> ChangeSet:
        resources = dict(previous.resources)
        removed: list[str] = []
        # a known resource reported deleted (or, comparing etags, no longer in the window) is
        # fetched too: it may only have moved away, and its data names the uids to remove
        wanted = [n for n, etag in changed.items() if n not in resources or resources[n].etag != etag]
        wanted += [n for n in deleted if n in resources and n not in wanted]
        upserts: list[Event] = []
        fetched = self._multiget(wanted)
        for name in wanted:
            old = resources.pop(name, None)
            if name not in fetched:  # deleted: which uids it gave, the state does not say
                if old is not None and old.tails != []:
                    log.debug("caldav: an event was deleted; full read")
                    return self._full(window, tz)
                continue
            etag, data = fetched[name]
            mine = self._expand(name, etag, data, window, tz)
            base = _base(data)
            if old is not None and old.tails:
                if base is None:
                    return self._full(window, tz)
                new_uids = {e.uid for e in mine}
                removed += [base + tail for tail in old.tails if base + tail not in new_uids]
            elif old is not None and old.tails is None:
                return self._full(window, tz)
            upserts += mine
            if mine or not self.quirks.sync_collection or old is not None:
                resources[name] = _Resource(etag, _tails(mine, base))
        state = _State(previous.window, token, resources)
        return ChangeSet(upserts=tuple(sorted(upserts, key=_order(tz))), removed=tuple(dict.fromkeys(removed)),
                         state=state.dump(), full=False)

    def _expand(self, name: str, etag: str, data: str, window: Window, tz: dt.tzinfo) -> list[Event]:
        """The instances of one resource in ``window``; own blocks get their reference."""
        try:
            parsed = ParsedCalendar.parse(data, source=f"{self.session.label} resource {name}")
            events = parsed.events(window, tz, owner=self.owner, calendar=self.calendar)
        except InputError as exc:
            log.warning("caldav resource left out: %s", exc.public)
            self._skipped.append(exc)
            return []
        self._skipped += parsed.skipped
        return [replace(e, ref=BlockRef(e.uid, name, etag)) if e.kind is Kind.OWN_BLOCK else e for e in events]

    def _query(self, window: Window, *, data: bool) -> dict[str, tuple[str, str]]:
        """``{name: (etag, calendar data or "")}`` of the resources overlapping ``window``."""
        body = _query_body(window.start - _QUERY_MARGIN, window.end + _QUERY_MARGIN, data=data)
        response = self.session.request("REPORT", self.url, body, depth=1)
        if response.status != 207:
            raise self.session.fail(response, "reading the calendar")
        return self._results(response.parse_calendar_query(), data=data)

    def _results(self, results: Iterable[Any], *, data: bool) -> dict[str, tuple[str, str]]:
        found: dict[str, tuple[str, str]] = {}
        for item in results:
            name = _name_of(item.href)
            if item.status != 200 or not name or self._is_collection(item.href):
                continue
            if item.etag is None or (data and item.calendar_data is None):
                raise ProviderError("caldav", "the server left out the etag or data of an event",
                                    hint="the server does not implement CalDAV reports fully",
                                    source=self.session.label)
            found[name] = (item.etag, item.calendar_data or "")
        return found

    def _is_collection(self, href: str) -> bool:
        """``href`` names the calendar collection itself, not one of its resources."""
        path = urllib.parse.urlsplit(self.session.absolute(href)).path
        return urllib.parse.unquote(path).rstrip("/") == urllib.parse.unquote(urllib.parse.urlsplit(self.url).path).rstrip("/")

    def _multiget(self, names: list[str]) -> dict[str, tuple[str, str]]:
        found: dict[str, tuple[str, str]] = {}
        base = urllib.parse.urlsplit(self.url).path
        for first in range(0, len(names), _MULTIGET_BATCH):
            hrefs = [base + urllib.parse.quote(n) for n in names[first:first + _MULTIGET_BATCH]]
            response = self.session.request("REPORT", self.url, _multiget_body(hrefs), depth=1)
            if response.status != 207:
                raise self.session.fail(response, "reading changed events")
            found.update(self._results(response.parse_calendar_query(), data=True))
        return found

    def _collection(self) -> tuple[str | None, str | None]:
        """``(sync token, IANA zone of calendar-timezone)`` of the collection, as asked for."""
        body = _collection_body(self.quirks.sync_collection, self.zone_hint)
        response = self.session.request("PROPFIND", self.url, body, depth=0)
        if response.status != 207:
            raise self.session.fail(response, "reading the calendar")
        token = zone = None
        for item in response.parse_propfind():
            for key, value in item.properties.items():
                if key.endswith("}sync-token") and value and self.quirks.sync_collection:
                    token = str(value)
                elif key.endswith("}calendar-timezone") and value and self.zone_hint:
                    zone = _zone_name(str(getattr(value, "text", value)))
        return token, zone

    def _sync(self, token: str) -> tuple[str | None, dict[str, str], list[str]] | None:
        """``(new token, {changed name: etag}, deleted names)``; ``None`` when refused."""
        changed: dict[str, str] = {}
        deleted: list[str] = []
        for _ in range(_MAX_SYNC_PAGES):
            response = self.session.request("REPORT", self.url, _sync_body(token), depth=0)
            if response.status != 207:  # 403 valid-sync-token, 409, 507 …: start again from a full read
                return None
            answer = response.parse_sync_collection()
            for item in answer.changed:
                name = _name_of(item.href)
                if name and not self._is_collection(item.href) and item.etag:
                    changed[name] = item.etag
                    if name in deleted:
                        deleted.remove(name)
            for href in answer.deleted:
                name = _name_of(href)
                changed.pop(name, None)
                deleted.append(name)
            if answer.sync_token is None:
                return None
            token = answer.sync_token
            if not answer.truncated:
                return token, changed, deleted
        return None

    # -- own blocks ------------------------------------------------------------------------
    def _get(self, name: str) -> tuple[str, str] | None:
        """``(etag, data)`` of resource ``name``; ``None`` when there is none."""
        response = self.session.request("GET", self.url + _quoted(name), headers={"Accept": "text/calendar"})
        if response.status in (404, 410):
            return None
        if response.status != 200:
            raise self.session.fail(response, "reading an event")
        raw = response.raw
        data = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        etag = response.headers.get("ETag") or self._etag(name) or ""
        return etag, data

    def _etag(self, name: str) -> str | None:
        response = self.session.request("PROPFIND", self.url + _quoted(name),
                                        f'{_HEAD}<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>',
                                        depth=0)
        if response.status != 207:
            return None
        for item in response.parse_propfind():
            for key, value in item.properties.items():
                if key.endswith("getetag") and value:
                    return str(value)
        return None

    def _lookup(self, provider_id: str) -> str | None:
        name = _checked(provider_id)
        found = self._get(name)
        if found is None:
            return None
        return _tag_and_sig(found[1])[0]

    def _create(self, block: Event) -> BlockRef:
        name = block_name(block.uid)
        if not self.quirks.if_none_match:
            existing = self._get(name)
            if existing is not None:
                return self._after_refusal(block, name, existing, lambda etag: self._put(block, name, etag))
        response = self._send_put(block, name, {"If-None-Match": "*"})
        if response.status == 412:
            existing = self._get(name)
            if existing is None:
                raise Conflict("caldav", "the server refused to create the block (HTTP 412)", source=self.session.label)
            return self._after_refusal(block, name, existing, lambda etag: self._put(block, name, etag))
        return self._written(response, name, block)

    def _update(self, block: Event, ref: BlockRef) -> BlockRef:
        name = _checked(ref.provider_id)
        response = self._send_put(block, name, {"If-Match": ref.etag} if ref.etag else {})
        if response.status == 412:
            return self._retry(block, name, lambda etag: self._put(block, name, etag))
        if response.status == 404:
            raise Conflict("caldav", "the block is no longer in the calendar (deleted by its owner?)")
        return self._written(response, name, block)

    def _delete(self, ref: BlockRef) -> None:
        name = _checked(ref.provider_id)
        response = self.session.request("DELETE", self.url + _quoted(name),
                                        headers={"If-Match": ref.etag} if ref.etag else {})
        if response.status == 412:
            self._retry(None, name, lambda etag: self._delete_at(name, etag))
            return
        if response.status not in (200, 204, 404, 410):
            raise self.session.fail(response, "deleting a block")

    def _retry(self, block: Event | None, name: str, write: Any) -> Any:
        """After a 412: re-read, and write once more if the block is still as we wrote it."""
        current = self._get(name)
        if current is None:
            if block is None:
                return None  # a delete whose block is gone meanwhile: done
            raise Conflict("caldav", "the block is no longer in the calendar (deleted by its owner?)")
        return self._after_refusal(block, name, current, write)

    def _after_refusal(self, block: Event | None, name: str, current: tuple[str, str], write: Any) -> Any:
        etag, data = current
        tag, signed, actual = _tag_and_sig(data)
        if block is not None and tag != block.uid:
            raise Conflict("caldav", "another event holds the block's place in the calendar; it is left untouched")
        if not signed or signed != actual:
            raise Conflict("caldav", "the block was changed in the calendar by its owner; their change stands")
        result = write(etag)
        if result is _REFUSED:
            raise Conflict("caldav", "the block keeps changing in the calendar (HTTP 412 twice)")
        return result

    def _put(self, block: Event, name: str, etag: str) -> Any:
        response = self._send_put(block, name, {"If-Match": etag})
        if response.status == 412:
            return _REFUSED
        return self._written(response, name, block)

    def _delete_at(self, name: str, etag: str) -> Any:
        response = self.session.request("DELETE", self.url + _quoted(name), headers={"If-Match": etag})
        if response.status == 412:
            return _REFUSED
        if response.status not in (200, 204, 404, 410):
            raise self.session.fail(response, "deleting a block")
        return None

    def _send_put(self, block: Event, name: str, headers: dict[str, str]) -> Any:
        return self.session.request("PUT", self.url + _quoted(name), render_block(block),
                                    headers={"Content-Type": "text/calendar; charset=utf-8", **headers})

    def _written(self, response: Any, name: str, block: Event) -> BlockRef:
        if response.status not in (200, 201, 204):
            raise self.session.fail(response, "writing a block")
        etag = response.headers.get("ETag") or self._etag(name) or ""
        return BlockRef(block.uid, name, etag)

    def close(self) -> None:
        self.session.close()


_REFUSED = object()


_FOLD = re.compile(r"\r?\n[ \t]")
_OWN_TAG = re.compile(r"^X-BALANCED-CALENDAR-ID(?:;[^:\r\n]*)?:(.*?)\r?$", re.MULTILINE)
_UID = re.compile(r"^UID(?:;[^:\r\n]*)?:(.*?)\r?$", re.MULTILINE)


def _base(data: str) -> str | None:
    """The uid every instance of a resource starts with: its own-block tag, else its UID."""
    text = _FOLD.sub("", data)
    found = _OWN_TAG.search(text)
    if found is None:
        start = text.find("BEGIN:VEVENT")
        found = _UID.search(text, start) if start >= 0 else None
    return found.group(1).strip() if found else None


def _tails(events: list[Event], base: str | None) -> list[str] | None:
    """The instance uids of ``events`` without ``base``; ``None`` if one does not start with it."""
    if not events:
        return []
    if base is None:
        return None
    tails = [e.uid[len(base):] for e in events]
    if any(not e.uid.startswith(base) or (t and not t.startswith("/")) for e, t in zip(events, tails)):
        return None
    return sorted(tails)


def _zone_name(vtimezone: str) -> str | None:
    """The IANA name of the zone a ``calendar-timezone`` VTIMEZONE names (Windows names too)."""
    from connectors._zones import to_zoneinfo

    found = _TZID.search(vtimezone.replace("\r\n", "\n"))
    zone = to_zoneinfo(found.group(1).strip('"')) if found else None
    return getattr(zone, "key", None)


def _order(tz: dt.tzinfo) -> Any:
    def key(event: Event) -> tuple[dt.datetime, str]:
        start = event.start if isinstance(event.start, dt.datetime) else dt.datetime.combine(event.start, dt.time(), tz)
        return start, event.uid
    return key


def _quoted(name: str) -> str:
    return urllib.parse.quote(name)


def _checked(provider_id: str) -> str:
    """A provider id is a plain resource name inside the calendar, never a path or URL."""
    if not _NAME.match(provider_id) or provider_id in (".", ".."):
        raise NotOurs("that id does not name an event of this calendar; nothing is touched")
    return provider_id


def block_name(block_uid: str) -> str:
    """The resource name of own block ``block_uid`` (the same for every retry of a creation)."""
    return "bc-" + hashlib.blake2b(block_uid.encode(), digest_size=12).hexdigest() + ".ics"


def _signature(start: dt.date, end: dt.date, title: str) -> str:
    def text(value: dt.date) -> str:
        if isinstance(value, dt.datetime):
            return _utc(value) if value.tzinfo else value.strftime("%Y%m%dT%H%M%S")
        return value.isoformat()
    return hashlib.blake2b(f"{text(start)}|{text(end)}|{title}".encode(), digest_size=8).hexdigest()


def render_block(block: Event) -> str:
    """The iCalendar text of an own block (no attendees: nobody is invited or notified)."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//balanced-calendar//caldav//EN")
    calendar.add("version", "2.0")
    event = icalendar.Event()
    event.add("uid", f"balanced-calendar-{block.uid}")
    event.add("dtstamp", dt.datetime.now(dt.timezone.utc))
    if block.all_day or not isinstance(block.start, dt.datetime):
        event.add("dtstart", block.start if not isinstance(block.start, dt.datetime) else block.start.date())
        event.add("dtend", block.end if not isinstance(block.end, dt.datetime) else block.end.date())
    else:
        event.add("dtstart", block.start.astimezone(dt.timezone.utc))
        event.add("dtend", block.end.astimezone(dt.timezone.utc))
    title = block.title or "balanced-calendar"
    event.add("summary", title)
    event.add("categories", [CATEGORY])
    event.add("transp", "OPAQUE")
    event.add(TAG, block.uid)
    event.add(SIG, _signature(event["DTSTART"].dt, event["DTEND"].dt, title))
    calendar.add_component(event)
    return calendar.to_ical().decode()


def _tag_and_sig(data: str) -> tuple[str, str, str]:
    """``(X-BALANCED-CALENDAR-ID, X-BALANCED-CALENDAR-SIG, signature of its current times and
    title)`` of the first VEVENT of ``data``; ``""`` for what is missing or unreadable."""
    try:
        calendar = icalendar.Calendar.from_ical(data)
        event = next(iter(calendar.walk("VEVENT")))
        tag = str(event.get(TAG, "")).strip()
        signed = str(event.get(SIG, "")).strip()
        start, end = event["DTSTART"].dt, event["DTEND"].dt
        actual = _signature(start, end, str(event.get("SUMMARY", "")))
        return tag, signed, actual
    except Exception:  # not a calendar we can read: certainly not one of our blocks
        return "", "", ""
