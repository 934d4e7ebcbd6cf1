"""Reads and writes one person's Microsoft 365 calendar through Microsoft Graph.

- :meth:`MicrosoftConnector.read_changes` follows ``calendarView/delta`` from its first page
  to the ``@odata.deltaLink``; that link is the sync state, so a later sync of an unchanged
  calendar costs exactly one Graph request. An expired or refused delta token means a full
  read, never an error.
- The person's zone comes from their ``mailboxSettings`` (Windows names mapped to IANA),
  looked up at most daily and only when the config sets no ``timezone`` for them.
- Own blocks are busy, private events with our category and an extended property holding
  the block id; only events carrying that property are updated or deleted, with their
  etag as ``If-Match`` (412 is a :class:`Conflict`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from balanced_calendar.model import BlockRef, ChangeSet, Conflict, Event, ProviderError, Window

from connectors._zones import to_zoneinfo
from connectors.base import Connector
from connectors.microsoft.auth import AppTokens, UserTokens, reenroll_hint
from connectors.microsoft.http import NAME, Answer, Call, GraphClient, build_session
from connectors.microsoft.mapping import (BLOCK_PROPERTY, EXPAND, SELECT, block_body, block_patch, block_tag,
                                          etag_of, is_candidate_block, to_event)
from connectors.microsoft.settings import MicrosoftSettings
from connectors.plugin import Context, Credentials, PersonRef, utc_now

log = logging.getLogger(__name__)

#: error codes (besides HTTP 410) meaning "this delta token is no longer usable"
EXPIRED_TOKEN_CODES = frozenset({"syncstatenotfound", "syncstateinvalid", "resyncrequired",
                                 "errorinvalidsyncstatedata", "invalidsynctoken"})
#: how often the person's mailbox settings (zone) are looked up again
ZONE_REFRESH = dt.timedelta(days=1)
STATE_VERSION = 1

#: mailbox settings fetched by :func:`prefetch`, waiting for the person's read
_PREFETCHED: dict[tuple[str, str], Answer] = {}
_PREFETCHED_LOCK = threading.Lock()


def _iso_utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _overlaps(event: Event, window: Window, tz: dt.tzinfo) -> bool:
    def instant(value: dt.datetime | dt.date) -> dt.datetime:
        return value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time(), tzinfo=tz)
    return instant(event.start) < window.end and instant(event.end) > window.start


def _zone_due(secret: Mapping[str, Any], now: dt.datetime) -> bool:
    try:
        checked = dt.datetime.fromisoformat(str(secret.get("zone_checked")))
    except ValueError:
        return True
    return checked.tzinfo is None or now - checked >= ZONE_REFRESH


def _zone_of(answer: Answer) -> str | None:
    """The IANA zone of a ``mailboxSettings`` answer (its working-hours zone as a fallback)."""
    if answer.status != 200 or not isinstance(answer.body, Mapping):
        return None
    names = [answer.body.get("timeZone"), (answer.body.get("workingHours") or {}).get("timeZone", {}).get("name")]
    for name in names:
        zone = to_zoneinfo(str(name)) if name else None
        if zone is not None:
            return zone.key
    return None


class _DeltaExpired(Exception):
    """The stored delta link was refused: read from the start."""


class MicrosoftConnector(Connector):
    """One person's calendar (``primary`` or a calendar id) in Microsoft 365."""

    name: ClassVar[str] = NAME
    supports_write: ClassVar[bool] = True
    supports_incremental: ClassVar[bool] = True

    def __init__(self, settings: MicrosoftSettings, person: PersonRef, credentials: Credentials, *,
                 http: Callable[[], Any] | None = None, clock: Callable[[], dt.datetime] = utc_now,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(owner=person.email, calendar=person.calendar, allow_write=person.protect)
        self.settings = settings
        self.person = person
        self.credentials = credentials
        self.clock = clock
        self.session = build_session(settings, http)
        tokens: Callable[[bool], str]
        if settings.mode == "app":
            tokens = AppTokens(settings, self.session, person.email)
        else:
            tokens = UserTokens(settings, self.session, person.email, credentials, person.protect)
        self.graph = GraphClient(settings, self.session, tokens, reenroll=reenroll_hint(person.email, settings.mode),
                                 sleep=sleep)
        user = "/me" if settings.mode == "user" else f"/users/{urllib.parse.quote(person.email)}"
        calendar = "" if person.calendar in ("primary", "") else f"/calendars/{urllib.parse.quote(person.calendar)}"
        self.user_path = user
        self.calendar_path = user + calendar

    @property
    def requests_made(self) -> int:
        return self.graph.requests_made

    def _call(self, method: str, url: str, *, body: Any = None, headers: Mapping[str, str] | None = None,
              ok: Sequence[int] = (200,)) -> Answer:
        return self.graph.call(Call(method, url, self.person.email, body, dict(headers or {})), ok=ok)

    def _prefer(self) -> dict[str, str]:
        return {"Prefer": f'odata.maxpagesize={self.settings.page_size}, outlook.timezone="UTC"'}

    def _window_query(self, window: Window) -> str:
        return f"startDateTime={_iso_utc(window.start)}&endDateTime={_iso_utc(window.end)}"

    # -- full read ---------------------------------------------------------------------------
    def read(self, window: Window, tz: dt.tzinfo) -> list[Event]:
        url = (f"{self.calendar_path}/calendarView?{self._window_query(window)}"
               f"&$select={SELECT}&$expand={urllib.parse.quote(EXPAND)}")
        events: list[Event] = []
        while url:
            page = self._page(url)
            for item in page.get("value") or ():
                event = to_event(item, self.owner, self.calendar, tz, block_tag(item))
                if event is not None and _overlaps(event, window, tz):
                    events.append(event)
            url = page.get("@odata.nextLink") or ""
        return events

    def _page(self, url: str) -> Mapping[str, Any]:
        answer = self._call("GET", url, headers=self._prefer())
        if answer.status != 200 or not isinstance(answer.body, Mapping):
            raise self._page_error(answer)
        return answer.body

    def _page_error(self, answer: Answer) -> ProviderError:
        if answer.status == 404:
            return ProviderError(NAME, "the calendar was not found in this mailbox",
                                 hint="check the person's calendar id (or use primary)")
        return self.graph.error(answer)

    # -- change feed -------------------------------------------------------------------------
    def read_changes(self, window: Window, tz: dt.tzinfo, state: str | None) -> ChangeSet:
        stored = self._load_state(state)
        zone = self._zone_hint()
        if stored is not None:
            try:
                return self._delta(window, tz, stored["delta"], stored.get("blocks", {}), full=False, zone=zone)
            except _DeltaExpired:
                log.info("delta token of %s expired; reading the whole window", "a microsoft calendar")
        first = f"{self.calendar_path}/calendarView/delta?{self._window_query(window)}"
        try:
            return self._delta(window, tz, first, {}, full=True, zone=zone)
        except _DeltaExpired:
            raise ProviderError(NAME, "Microsoft Graph refused a new change feed for this calendar") from None

    def _load_state(self, state: str | None) -> dict[str, Any] | None:
        if not state:
            return None
        try:
            loaded = json.loads(state)
        except ValueError:
            return None
        if not isinstance(loaded, dict) or loaded.get("v") != STATE_VERSION:
            return None
        link = loaded.get("delta")
        if not isinstance(link, str) or not link.startswith(self.settings.graph_root + "/"):
            return None  # another Graph (the config moved): start afresh
        return loaded

    def _delta(self, window: Window, tz: dt.tzinfo, url: str, blocks: Mapping[str, str], *, full: bool,
               zone: str | None) -> ChangeSet:
        blocks = dict(blocks)
        changed: dict[str, Event | None] = {}  # graph id -> event (None: gone)
        link = ""
        while True:
            answer = self._call("GET", url, headers=self._prefer())
            if answer.status == 410 or (answer.status in (400, 404) and
                                        answer.error_code.lower() in EXPIRED_TOKEN_CODES):
                raise _DeltaExpired
            if answer.status != 200 or not isinstance(answer.body, Mapping):
                raise self._page_error(answer)
            for item in answer.body.get("value") or ():
                graph_id = str(item.get("id") or "")
                if not graph_id:
                    continue
                if "@removed" in item:
                    changed[graph_id] = None
                    continue
                tag = self._tag_of(item) if is_candidate_block(item) else ""
                event = to_event(item, self.owner, self.calendar, tz, tag)
                if event is not None and not _overlaps(event, window, tz):
                    event = None
                changed[graph_id] = event
                if tag:
                    blocks[graph_id] = tag
            if answer.body.get("@odata.nextLink"):
                url = str(answer.body["@odata.nextLink"])
                continue
            link = str(answer.body.get("@odata.deltaLink") or "")
            break
        if not link:
            raise ProviderError(NAME, "Microsoft Graph ended a change feed without a delta link")
        upserts = tuple(e for e in changed.values() if e is not None)
        removed = tuple(blocks.get(gid, gid) for gid, e in changed.items() if e is None) if not full else ()
        for gid, event in changed.items():
            if event is None or event.ref is None:
                blocks.pop(gid, None)
        state = json.dumps({"v": STATE_VERSION, "delta": link, "blocks": blocks}, sort_keys=True)
        return ChangeSet(upserts=upserts, removed=removed, state=state, full=full, zone=zone)

    def _tag_of(self, item: Mapping[str, Any]) -> str:
        """The block tag of an event with our category (change feeds do not carry it)."""
        found = self._lookup(str(item["id"]))
        return found or ""

    # -- time zone hint ----------------------------------------------------------------------
    def _zone_hint(self) -> str | None:
        """The mailbox's zone when a daily lookup is due and the config sets none."""
        if self.person.zone_fixed:
            return None
        now = self.clock()
        secret = self.credentials.get()
        if not _zone_due(secret, now):
            return None
        with _PREFETCHED_LOCK:
            answer = _PREFETCHED.pop((self.settings.graph_root, self.person.email.lower()), None)
        if answer is None:
            answer = self._call("GET", f"{self.user_path}/mailboxSettings?$select=timeZone,workingHours",
                                ok=(200, 403))
        zone = _zone_of(answer)
        self.credentials.put({**self.credentials.get(), "zone_checked": now.isoformat()})
        return zone

    # -- own blocks --------------------------------------------------------------------------
    def _event_url(self, provider_id: str) -> str:
        return f"{self.user_path}/events/{urllib.parse.quote(provider_id, safe='')}"

    def _lookup(self, provider_id: str) -> str | None:
        answer = self._call("GET", f"{self._event_url(provider_id)}?$select=id&$expand={urllib.parse.quote(EXPAND)}")
        if answer.status == 404:
            return None
        if answer.status != 200 or not isinstance(answer.body, Mapping):
            raise self.graph.error(answer)
        return block_tag(answer.body)

    def _create(self, block: Event) -> BlockRef:
        answer = self._call("POST", f"{self.calendar_path}/events", body=block_body(block), ok=(200, 201))
        if answer.status not in (200, 201) or not isinstance(answer.body, Mapping):
            raise self.graph.error(answer)
        return BlockRef(block.uid, str(answer.body["id"]), etag_of(answer.body))

    def _update(self, block: Event, ref: BlockRef) -> BlockRef:
        headers = {"If-Match": ref.etag} if ref.etag else {}
        answer = self._call("PATCH", self._event_url(ref.provider_id), body=block_patch(block), headers=headers)
        if answer.status in (404, 412):
            raise Conflict(NAME, "the block was changed or removed in the calendar meanwhile")
        if answer.status != 200 or not isinstance(answer.body, Mapping):
            raise self.graph.error(answer)
        return BlockRef(block.uid, ref.provider_id, etag_of(answer.body))

    def _delete(self, ref: BlockRef) -> None:
        headers = {"If-Match": ref.etag} if ref.etag else {}
        answer = self._call("DELETE", self._event_url(ref.provider_id), headers=headers, ok=(204, 200))
        if answer.status == 412:
            raise Conflict(NAME, "the block was changed in the calendar meanwhile")
        if answer.status not in (200, 204, 404):
            raise self.graph.error(answer)

    def close(self) -> None:
        self.session.close()


def connector(ctx: Context) -> MicrosoftConnector:
    return MicrosoftConnector(ctx.settings, ctx.person, ctx.credentials, http=ctx.http, clock=ctx.clock)


def prefetch(contexts: Sequence[Context]) -> None:
    """App mode: fetch the mailbox settings of everyone whose zone lookup is due, 20 people
    per JSON batch, for their reads to pick up. (Delegated tokens are per person: in user
    mode each read asks for itself.)"""
    due = [c for c in contexts if c.settings.mode == "app" and not c.person.zone_fixed
           and _zone_due(c.credentials.get(), c.clock())]
    if len(due) < 2:
        return
    first = due[0]
    session = build_session(first.settings, first.http)
    try:
        graph = GraphClient(first.settings, session, AppTokens(first.settings, session, first.person.email),
                            reenroll=reenroll_hint(first.person.email, "app"))
        calls = [Call("GET", f"/users/{urllib.parse.quote(c.person.email)}/mailboxSettings?$select=timeZone,workingHours",
                      c.person.email) for c in due]
        answers = graph.batch(calls)
    finally:
        session.close()
    with _PREFETCHED_LOCK:
        for ctx, answer in zip(due, answers):
            if answer.status == 200:
                _PREFETCHED[(ctx.settings.graph_root, ctx.person.email.lower())] = answer


__all__ = ["BLOCK_PROPERTY", "MicrosoftConnector", "connector", "prefetch"]
