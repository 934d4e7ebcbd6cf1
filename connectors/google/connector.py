"""The Google Calendar connector: full and incremental reads, the person's zone, own blocks.

Reads use ``events.list`` with ``singleEvents=true`` (recurrences expanded by Google) and a
partial response (:data:`~connectors.google.mapping.LIST_FIELDS`). The first read of a
window follows every page to the end and keeps the ``nextSyncToken``; later reads send only
that token and get only what changed (an unchanged calendar: one request). The opaque
state is JSON: the sync token and the ids of our own blocks (a deleted event comes back as
a bare id, which is how its block is recognised as gone).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterator
from typing import Any, ClassVar

from balanced_calendar.model import AuthExpired, BlockRef, ChangeSet, Event, Window
from balanced_calendar.model.blockid import parse_block_id

from connectors.base import Connector
from connectors.google import AUTO_DECLINE_MODES, mapping, prefetched
from connectors.google.auth import Account, reenroll_command
from connectors.google.client import Api, Gone, Sleep, SyncTokenExpired
from connectors.plugin import Clock, Context, utc_now

log = logging.getLogger(__name__)

PAGE_SIZE = 2500
#: the person's zone is looked up again after this long
ZONE_REFRESH = dt.timedelta(days=1)


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


class GoogleConnector(Connector):
    """One person's Google calendar (``primary`` or a calendar id they can read)."""

    name: ClassVar[str] = "google"
    supports_write: ClassVar[bool] = True
    supports_incremental: ClassVar[bool] = True

    def __init__(self, settings: Any, account: Account, *, calendar: str = "primary", zone_fixed: bool = False,
                 auto_decline: str = "off", http: Any = None, clock: Clock = utc_now,
                 sleep: Sleep = time.sleep) -> None:
        super().__init__(owner=account.email, calendar=calendar, allow_write=account.protect)
        self.settings = settings
        self.account = account
        self.zone_fixed = zone_fixed
        #: the person's planner ``google_auto_decline``: "off", "new" or "all"
        self.auto_decline = auto_decline
        self.clock = clock
        self._http = http
        self._sleep = sleep
        self._api: Api | None = None

    @classmethod
    def from_context(cls, ctx: Context, *, sleep: Sleep = time.sleep) -> GoogleConnector:
        account = Account(ctx.settings, ctx.person.email, ctx.person.protect, ctx.credentials)
        return cls(ctx.settings, account, calendar=ctx.person.calendar, zone_fixed=ctx.person.zone_fixed,
                   auto_decline=ctx.person.focus_auto_decline,
                   http=ctx.http() if ctx.http is not None else None, clock=ctx.clock, sleep=sleep)

    @property
    def api(self) -> Api:
        if self._api is None:
            self._api = Api(self.settings, self.account, http=self._http, sleep=self._sleep)
        return self._api

    @property
    def events(self) -> Any:
        return self.api.service.events()

    # -- reading ---------------------------------------------------------------------
    def _pages(self, **params: Any) -> Iterator[dict[str, Any]]:
        """Every page of one ``events.list``, following ``nextPageToken`` (pages may be empty)."""
        token: str | None = None
        page = None
        if "syncToken" in params:  # a batched prefetch may have asked already
            page = prefetched.take(self.settings.api_root, self.account.email, self.calendar, params["syncToken"])
        while True:
            if page is None:
                page = self.api.call(self.list_request(pageToken=token, **params), sync_read="syncToken" in params)
            yield page
            token = page.get("nextPageToken")
            if not token:
                return
            page = None

    def list_request(self, **params: Any) -> Any:
        """The ``events.list`` request every read sends (a prefetch batches the same one)."""
        return self.events.list(calendarId=self.calendar, singleEvents=True, maxResults=PAGE_SIZE,
                                fields=mapping.LIST_FIELDS, **params)

    def _full(self, window: Window, tz: dt.tzinfo) -> tuple[list[Event], str | None, dict[str, str]]:
        events: list[Event] = []
        own: dict[str, str] = {}
        sync_token = None
        for page in self._pages(timeMin=_rfc3339(window.start), timeMax=_rfc3339(window.end)):
            for item in page.get("items") or ():
                if item.get("status") == "cancelled":
                    continue
                event = mapping.to_event(item, tz, self.calendar)
                events.append(event)
                if event.ref is not None:
                    own[item["id"]] = event.uid
            sync_token = page.get("nextSyncToken") or sync_token
        return events, sync_token, own

    def read(self, window: Window, tz: dt.tzinfo) -> list[Event]:
        try:
            return self._full(window, tz)[0]
        finally:
            self.account.save_token()

    def read_changes(self, window: Window, tz: dt.tzinfo, state: str | None) -> ChangeSet:
        try:
            zone = self._zone()
            previous = _load_state(state)
            if previous is not None:
                try:
                    return self._remember(self._changes(window, tz, previous, zone))
                except SyncTokenExpired:
                    log.info("google sync token expired; reading the whole window")
            events, token, own = self._full(window, tz)
            return self._remember(ChangeSet(upserts=tuple(events), state=_dump_state(token, own), full=True,
                                            zone=zone))
        finally:
            self.account.save_token()

    def _remember(self, changes: ChangeSet) -> ChangeSet:
        """Keep the sync token in the vault too, so a prefetch can batch the next read."""
        token = (_load_state(changes.state) or {}).get("sync")
        mark = {"calendar": self.calendar, "token": token} if token else None
        if self.account.secret.get("sync") != mark:
            self.account.remember(sync=mark)
        return changes

    def _changes(self, window: Window, tz: dt.tzinfo, previous: dict[str, Any], zone: str | None) -> ChangeSet:
        own: dict[str, str] = dict(previous["own"])
        upserts: list[Event] = []
        removed: list[str] = []
        token = previous["sync"]
        for page in self._pages(syncToken=previous["sync"]):
            for item in page.get("items") or ():
                if item.get("status") == "cancelled":
                    removed.append(own.pop(item["id"], item["id"]))
                    continue
                event = mapping.to_event(item, tz, self.calendar)
                if event.ref is not None:
                    own[item["id"]] = event.uid
                if mapping.overlaps(event, window.start, window.end, tz):
                    upserts.append(event)
                else:  # moved out of the window: gone from this window's point of view
                    removed.append(event.uid)
            token = page.get("nextSyncToken") or token
        return ChangeSet(upserts=tuple(upserts), removed=tuple(removed), state=_dump_state(token, own),
                         full=False, zone=zone)

    def _zone(self) -> str | None:
        """The person's zone from their Google settings, looked up at most daily.

        ``None`` when the config fixes their zone or it was looked up less than a day ago
        (and already reported).
        """
        if self.zone_fixed:
            return None
        secret = self.account.secret
        if secret.get("zone_pending"):  # fetched by a batched prefetch for this read
            self.account.remember(zone_pending=None)
            return str(secret.get("zone") or "") or None
        checked = secret.get("zone_checked")
        now = self.clock()
        if checked and now - dt.datetime.fromisoformat(checked) < ZONE_REFRESH:
            return None
        answer = self.api.call(self.api.service.settings().get(setting="timezone"))
        zone = str(answer.get("value") or "") or None
        self.account.remember(zone=zone, zone_checked=now.isoformat())
        return zone

    # -- own blocks --------------------------------------------------------------------
    def _focus_allowed(self, block: Event) -> bool:
        """A native focus-time event: only for focus blocks (the block id carries the kind),
        on the primary calendar, of an account not known to refuse them."""
        key = parse_block_id(block.uid)
        if key is None or key.kind != "focus":
            return False
        primary = self.calendar in ("primary", self.account.email)
        return primary and self.account.secret.get("focus_time", True) is not False

    def _check_scope(self) -> None:
        if not self.account.can_write():
            raise AuthExpired("google", "this person allowed writes, but their Google consent is read-only",
                              hint="ask them to grant the calendar.events scope: run "
                                   + reenroll_command(self.account.email, protect=True, domain=False))

    def _lookup(self, provider_id: str) -> str | None:
        try:
            item = self.api.call(self.events.get(calendarId=self.calendar, eventId=provider_id,
                                                 fields=mapping.EVENT_FIELDS), single=True)
        except Gone:
            return None
        finally:
            self.account.save_token()
        return None if item.get("status") == "cancelled" else mapping.tag_of(item)

    def _create(self, block: Event) -> BlockRef:
        self._check_scope()
        try:
            if self._focus_allowed(block):
                try:
                    return self._insert(block, focus=True)
                except _FocusRefused:
                    log.info("this Google account refuses focus-time events; using private busy events")
                    self.account.remember(focus_time=False)
            return self._insert(block, focus=False)
        finally:
            self.account.save_token()

    def _insert(self, block: Event, *, focus: bool) -> BlockRef:
        from balanced_calendar.model import ProviderError

        mode = AUTO_DECLINE_MODES.get(self.auto_decline, AUTO_DECLINE_MODES["off"])
        body = mapping.block_body(block, focus=focus, decline_mode=mode)
        try:
            item = self.api.call(self.events.insert(calendarId=self.calendar, body=body, sendUpdates="none",
                                                    fields=mapping.EVENT_FIELDS))
        except ProviderError as exc:
            if focus and "HTTP 400" in exc.detail:
                raise _FocusRefused() from None
            raise
        return BlockRef(block.uid, item["id"], item.get("etag"))

    def _update(self, block: Event, ref: BlockRef) -> BlockRef:
        self._check_scope()
        request = self.events.patch(calendarId=self.calendar, eventId=ref.provider_id, body=mapping.move_body(block),
                                    sendUpdates="none", fields=mapping.EVENT_FIELDS)
        if ref.etag:
            request.headers["If-Match"] = ref.etag
        try:
            item = self.api.call(request)
        finally:
            self.account.save_token()
        return BlockRef(block.uid, item["id"], item.get("etag"))

    def _delete(self, ref: BlockRef) -> None:
        self._check_scope()
        request = self.events.delete(calendarId=self.calendar, eventId=ref.provider_id, sendUpdates="none")
        if ref.etag:
            request.headers["If-Match"] = ref.etag
        try:
            self.api.call(request, single=True)
        except Gone:
            pass
        finally:
            self.account.save_token()

    def close(self) -> None:
        if self._api is not None:
            self._api.authorized.close()
            self._api = None


class _FocusRefused(Exception):
    """The account refused a focus-time event (not Workspace, or not the primary calendar)."""


def _load_state(state: str | None) -> dict[str, Any] | None:
    if not state:
        return None
    try:
        data = json.loads(state)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("sync"), str) or not isinstance(data.get("own"), dict):
        return None
    return data


def _dump_state(token: str | None, own: dict[str, str]) -> str | None:
    return json.dumps({"sync": token, "own": own}, sort_keys=True) if token else None
