"""Reads and writes one person's Microsoft 365 calendar through Microsoft Graph.

- :meth:`MicrosoftConnector.read_changes` follows ``calendarView/delta`` from its first page
  to the ``@odata.deltaLink``; that link is the sync state, so a later sync of an unchanged
  calendar costs exactly one Graph request. An expired or refused delta token means a full
  read, never an error.
- In app mode, :func:`prefetch` plans each person's first request of a sync (the delta poll
  or first delta page, and the mailbox settings when due) in JSON batches of 20
  (:mod:`connectors.microsoft.plan`): an unchanged calendar is then one sub-request of a
  batch, and a changed one follows its further pages itself.
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
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from balanced_calendar.model import BlockRef, ChangeSet, Conflict, Event, ProviderError, RateLimited, Window

from connectors._zones import to_zoneinfo
from connectors.base import Connector
from connectors.microsoft.auth import AppTokens, UserTokens, reenroll_hint
from connectors.microsoft import plan
from connectors.microsoft.http import NAME, RETRY_STATUSES, Answer, Call, GraphClient, build_session, retry_after
from connectors.microsoft.mapping import (BLOCK_PROPERTY, EXPAND, SELECT, block_body, block_patch, block_tag,
                                          etag_of, is_candidate_block, to_event)
from connectors.microsoft.settings import MicrosoftSettings
from connectors.plugin import Context, Credentials, PersonRef, PlannedRead, utc_now

log = logging.getLogger(__name__)

#: error codes (besides HTTP 410) meaning "this delta token is no longer usable"
EXPIRED_TOKEN_CODES = frozenset({"syncstatenotfound", "syncstateinvalid", "resyncrequired",
                                 "errorinvalidsyncstatedata", "invalidsynctoken"})
#: how often the person's mailbox settings (zone) are looked up again
ZONE_REFRESH = dt.timedelta(days=1)
STATE_VERSION = 1
#: what the zone lookup asks for
MAILBOX_SETTINGS = "/mailboxSettings?$select=timeZone,workingHours"


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


def _paths(settings: MicrosoftSettings, person: PersonRef) -> tuple[str, str]:
    """The person's user path (``/me`` or ``/users/<email>``) and calendar path under Graph's root."""
    user = "/me" if settings.mode == "user" else f"/users/{urllib.parse.quote(person.email)}"
    calendar = "" if person.calendar in ("primary", "") else f"/calendars/{urllib.parse.quote(person.calendar)}"
    return user, user + calendar


def _first_delta(calendar_path: str, window: Window) -> str:
    return f"{calendar_path}/calendarView/delta?{_window_query(window)}"


def _window_query(window: Window) -> str:
    return f"startDateTime={_iso_utc(window.start)}&endDateTime={_iso_utc(window.end)}"


def _prefer(settings: MicrosoftSettings) -> dict[str, str]:
    return {"Prefer": f'odata.maxpagesize={settings.page_size}, outlook.timezone="UTC"'}


def _load_state(state: str | None, graph_root: str) -> dict[str, Any] | None:
    """A stored sync state of this Graph (``None``: none, unreadable, or another Graph's)."""
    if not state:
        return None
    try:
        loaded = json.loads(state)
    except ValueError:
        return None
    if not isinstance(loaded, dict) or loaded.get("v") != STATE_VERSION:
        return None
    link = loaded.get("delta")
    if not isinstance(link, str) or not link.startswith(graph_root + "/"):
        return None  # another Graph (the config moved): start afresh
    return loaded


def _key(settings: MicrosoftSettings, email: str, what: str) -> plan.Key:
    return (settings.graph_root, email.lower(), what)


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
        self.user_path, self.calendar_path = _paths(settings, person)

    @property
    def requests_made(self) -> int:
        return self.graph.requests_made

    def _call(self, method: str, url: str, *, body: Any = None, headers: Mapping[str, str] | None = None,
              ok: Sequence[int] = (200,)) -> Answer:
        return self.graph.call(Call(method, url, self.person.email, body, dict(headers or {})), ok=ok)

    def _prefer(self) -> dict[str, str]:
        return _prefer(self.settings)

    # -- full read ---------------------------------------------------------------------------
    def read(self, window: Window, tz: dt.tzinfo) -> list[Event]:
        url = (f"{self.calendar_path}/calendarView?{_window_query(window)}"
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
        try:
            stored = _load_state(state, self.settings.graph_root)
            zone = self._zone_hint()
            if stored is not None:
                try:
                    return self._delta(window, tz, stored["delta"], stored.get("blocks", {}), full=False, zone=zone)
                except _DeltaExpired:
                    log.info("delta token of %s expired; reading the whole window", "a microsoft calendar")
            try:
                return self._delta(window, tz, _first_delta(self.calendar_path, window), {}, full=True, zone=zone)
            except _DeltaExpired:
                raise ProviderError(NAME, "Microsoft Graph refused a new change feed for this calendar") from None
        finally:
            plan.discard([_key(self.settings, self.person.email, what) for what in ("delta", "mailbox")])

    def _planned(self, what: str, url: str) -> Answer | None:
        """The answer :func:`prefetch` planned for ``url``, if it did (and it is usable)."""
        answer = plan.take(_key(self.settings, self.person.email, what), self.graph.absolute(url))
        if answer is None or answer.status == 401:
            return None  # not planned, or the batch's token was refused: ask directly
        if answer.status in RETRY_STATUSES:
            raise RateLimited(NAME, retry_after(answer), f"Microsoft Graph kept throttling this calendar in a "
                                                         f"batch (HTTP {answer.status})")
        return answer

    def _delta(self, window: Window, tz: dt.tzinfo, url: str, blocks: Mapping[str, str], *, full: bool,
               zone: str | None) -> ChangeSet:
        blocks = dict(blocks)
        changed: dict[str, Event | None] = {}  # graph id -> event (None: gone)
        link = ""
        answer: Answer | None = self._planned("delta", url)
        while True:
            if answer is None:
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
                answer = None
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
        url = self.user_path + MAILBOX_SETTINGS
        try:
            answer = self._planned("mailbox", url)
        except RateLimited:
            answer = None
        if answer is None or answer.status not in (200, 403):
            answer = self._call("GET", url, ok=(200, 403))
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


def prefetch(reads: Sequence[PlannedRead]) -> None:
    """App mode: plan each person's first request of this sync (their delta poll, or the first
    delta page, and their mailbox settings when a zone lookup is due) in JSON batches of 20,
    sent as the sync reaches them. (Delegated tokens are per person: in user mode each read
    asks for itself.)"""
    groups: dict[tuple[str, str, str], tuple[MicrosoftSettings, Any, list[plan.Planned]]] = {}
    for read in reads:
        ctx = read.context
        settings: MicrosoftSettings = ctx.settings
        if settings.mode != "app":
            continue
        root, email = settings.graph_root, ctx.person.email
        user_path, calendar_path = _paths(settings, ctx.person)
        _, _, planned = groups.setdefault((root, settings.authority_url, settings.client_id),
                                          (settings, ctx.http, []))
        if not ctx.person.zone_fixed and _zone_due(ctx.credentials.get(), ctx.clock()):
            planned.append(plan.Planned(_key(settings, email, "mailbox"),
                                        Call("GET", root + user_path + MAILBOX_SETTINGS, email)))
        stored = _load_state(read.state, root)
        url = stored["delta"] if stored is not None else root + _first_delta(calendar_path, read.window)
        planned.append(plan.Planned(_key(settings, email, "delta"),
                                    Call("GET", url, email, headers=_prefer(settings))))
    for settings, http, planned in groups.values():
        if len(planned) >= 2:  # a batch of one saves nothing
            plan.plan(settings, http, planned)


__all__ = ["BLOCK_PROPERTY", "MicrosoftConnector", "connector", "prefetch"]
