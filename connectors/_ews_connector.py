"""The ``exchange`` connector: one person's Exchange Server calendar through EWS.

Reading is a ``CalendarView`` over the window (recurrences expanded by the server), asking
only for times, free/busy status, the person's response, the item type, the cancelled flag,
the organizer and the attendee lists (counted here, never kept) and our own extended
property. The subject is fetched for our own blocks only. ``read_changes`` asks
``SyncFolderItems`` whether anything changed in the calendar since the last read: nothing
changed answers "no changes" without reading; any change reads the window again in full.

Own blocks are written without invitations (``SEND_TO_NONE``), tagged with the extended
property ``BalancedCalendarBlockId``; updates send the change key with
``NeverOverwrite`` and deletes check it first, so a block its owner edited is a
:class:`~balanced_calendar.model.Conflict`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, ClassVar

from balanced_calendar.model import BlockRef, ChangeSet, Conflict, Event, Kind, Response, ShowAs, Window

from connectors._ews_client import NAME, EwsClient
from connectors.base import Connector
from connectors.exchange import ExchangeSettings

import exchangelib
from exchangelib import errors as ews_errors
from exchangelib.ewsdatetime import EWSDateTime
from exchangelib.extended_properties import ExtendedProperty
from exchangelib.items import CalendarItem

UTC = dt.timezone.utc
STATE_PREFIX = "ews-sync:"


class BlockTag(ExtendedProperty):
    """The named property balanced-calendar puts on its own blocks (value: the block id)."""

    distinguished_property_set_id = "PublicStrings"
    property_name = "BalancedCalendarBlockId"
    property_type = "String"


TAG_FIELD = "balanced_calendar_block_id"
if TAG_FIELD not in {f.name for f in CalendarItem.FIELDS}:
    CalendarItem.register(TAG_FIELD, BlockTag)

#: what a read asks for: no subject, body, location or attendee response texts
READ_FIELDS = ("uid", "recurrence_id", "start", "end", "is_all_day", "legacy_free_busy_status", "type",
               "is_cancelled", "my_response_type", "organizer", "required_attendees", "optional_attendees",
               "_start_timezone", "_end_timezone", TAG_FIELD)

_SHOW_AS = {"Free": ShowAs.FREE, "Tentative": ShowAs.TENTATIVE, "Busy": ShowAs.BUSY, "OOF": ShowAs.OOF,
            "WorkingElsewhere": ShowAs.WORKING_ELSEWHERE, "NoData": ShowAs.BUSY}
_RESPONSE = {"Organizer": Response.ORGANIZER, "Accept": Response.ACCEPTED, "Tentative": Response.TENTATIVE,
             "Decline": Response.DECLINED, "NoResponseReceived": Response.NEEDS_ACTION,
             "Unknown": Response.UNKNOWN}


#: Exchange refuses calendar views longer than two years: longer windows are read in spans
MAX_VIEW = dt.timedelta(days=366)


def _spans(window: Window) -> list[tuple[dt.datetime, dt.datetime]]:
    spans, start = [], window.start
    while start < window.end:
        end = min(start + MAX_VIEW, window.end)
        spans.append((start, end))
        start = end
    return spans


def _ews_instant(value: dt.datetime) -> EWSDateTime:
    return EWSDateTime.from_datetime(value.astimezone(UTC))


def _plain(value: Any, tz: dt.tzinfo) -> dt.datetime | dt.date:
    if isinstance(value, dt.datetime):
        return dt.datetime.fromtimestamp(value.timestamp(), tz)
    return dt.date(value.year, value.month, value.day)


def _address(mailbox: Any) -> str | None:
    address = getattr(mailbox, "email_address", None)
    return address.lower() if address else None


class ExchangeConnector(Connector):
    """Reads and writes one person's default calendar on an Exchange Server."""

    name: ClassVar[str] = NAME
    supports_write: ClassVar[bool] = True
    supports_incremental: ClassVar[bool] = True

    def __init__(self, settings: ExchangeSettings, *, owner: str, calendar: str = "primary",
                 allow_write: bool = False, sleep: Callable[[float], None] | None = None) -> None:
        super().__init__(owner=owner, calendar=calendar, allow_write=allow_write)
        self.client = EwsClient(settings, owner.lower(), **({"sleep": sleep} if sleep else {}))

    # -- reading -------------------------------------------------------------------------
    def read(self, window: Window, tz: dt.tzinfo) -> list[Event]:
        folder = self.client.calendar
        found: dict[str, Any] = {}
        for start, end in _spans(window):
            items = self.client.call(lambda: list(
                folder.view(start=_ews_instant(start), end=_ews_instant(end)).only(*READ_FIELDS)))
            for item in items:
                if isinstance(item, CalendarItem):
                    found.setdefault(item.id, item)  # an item crossing a span boundary comes twice
        titles = self._titles([i for i in found.values() if getattr(i, TAG_FIELD, None)])
        events = (self._event(item, tz, titles.get(item.id)) for item in found.values())
        return [e for e in events if e is not None]

    def _titles(self, own: list[Any]) -> dict[str, str | None]:
        """Subjects of our own blocks (and of nothing else)."""
        if not own:
            return {}
        fetched = self.client.call(lambda: list(self.client.account.fetch(
            ids=[(i.id, i.changekey) for i in own], only_fields=["subject"])))
        return {f.id: f.subject for f in fetched if isinstance(f, CalendarItem)}

    def _event(self, item: Any, tz: dt.tzinfo, title: str | None) -> Event | None:
        if item.is_cancelled:
            return None
        tag = getattr(item, TAG_FIELD, None)
        all_day = bool(item.is_all_day)
        start, end = _plain(item.start, tz), _plain(item.end, tz)
        if all_day and isinstance(end, dt.date) and not isinstance(end, dt.datetime):
            end = end + dt.timedelta(days=1)  # exchangelib gives the last day; ours is exclusive
        elif not all_day and isinstance(start, dt.datetime) is False:
            start = dt.datetime.combine(start, dt.time(), tz)  # type: ignore[arg-type]
            end = dt.datetime.combine(end, dt.time(), tz)  # type: ignore[arg-type]
        me = self.owner
        organizer = _address(item.organizer)
        organizer_is_self = item.my_response_type == "Organizer" or organizer is None or organizer == me
        people = {organizer} if organizer else set()
        people |= {_address(a.mailbox) for a in [*(item.required_attendees or ()), *(item.optional_attendees or ())]}
        others = len({p for p in people if p and p != me})
        show_as = _SHOW_AS.get(item.legacy_free_busy_status or "Busy", ShowAs.BUSY)
        kind = Kind.OWN_BLOCK if tag else Kind.OUT_OF_OFFICE if show_as is ShowAs.OOF else Kind.EVENT
        uid = tag or item.uid or item.id
        if not tag and item.type in ("Occurrence", "Exception"):
            instance = item.recurrence_id or item.start
            uid += "/" + _plain(instance, UTC).strftime("%Y%m%dT%H%M%SZ")
        return Event(
            uid=uid, start=start, end=max(end, start), all_day=all_day,  # type: ignore[type-var]
            response=Response.ORGANIZER if organizer_is_self else _RESPONSE.get(item.my_response_type or "",
                                                                                Response.UNKNOWN),
            show_as=show_as, kind=kind, others=others, organizer_is_self=organizer_is_self,
            calendar=self.calendar, title=(title or None) if tag else None,
            ref=BlockRef(tag, item.id, item.changekey) if tag else None)

    def read_changes(self, window: Window, tz: dt.tzinfo, state: str | None) -> ChangeSet:
        folder = self.client.calendar
        previous = state[len(STATE_PREFIX):] if state and state.startswith(STATE_PREFIX) else None
        changed, new_state = self._sync(folder, previous)
        if previous is not None and new_state is not None and not changed:
            return ChangeSet(state=STATE_PREFIX + new_state, full=False)
        if new_state is None:  # the old state was refused: start over
            _, new_state = self._sync(folder, None)
        events = self.read(window, tz)
        return ChangeSet(upserts=tuple(events), state=STATE_PREFIX + new_state if new_state else None, full=True)

    def _sync(self, folder: Any, previous: str | None) -> tuple[bool, str | None]:
        """(anything changed since ``previous``, the new sync state); ``None`` state: refused."""
        def run() -> tuple[bool, str | None]:
            folder.item_sync_state = None
            try:
                changes = list(folder.sync_items(sync_state=previous, only_fields=["changekey"]))
            except ews_errors.ErrorInvalidSyncStateData:
                return True, None
            return bool(changes), folder.item_sync_state
        return self.client.call(run)

    # -- own blocks ----------------------------------------------------------------------
    def _fetch_tagged(self, provider_id: str) -> Any | None:
        def run() -> Any:
            [found] = list(self.client.account.fetch(ids=[(provider_id, None)], only_fields=[TAG_FIELD]))
            return found
        found = self.client.call(run)
        return found if isinstance(found, CalendarItem) else None

    def _lookup(self, provider_id: str) -> str | None:
        found = self._fetch_tagged(provider_id)
        if found is None:
            return None
        return getattr(found, TAG_FIELD, None) or ""

    @staticmethod
    def _item(block: Event) -> dict[str, Any]:
        start: Any = block.start
        end: Any = block.end
        if isinstance(start, dt.datetime) and isinstance(end, dt.datetime):
            start, end = EWSDateTime.from_datetime(start), EWSDateTime.from_datetime(end)
        return dict(subject=block.title or "", start=start, end=end, is_all_day=block.all_day,
                    legacy_free_busy_status="Busy", **{TAG_FIELD: block.uid})

    def _create(self, block: Event) -> BlockRef:
        def run() -> BlockRef:
            item = CalendarItem(account=self.client.account, folder=self.client.calendar, **self._item(block))
            item.save(send_meeting_invitations=exchangelib.items.SEND_TO_NONE)
            return BlockRef(block.uid, item.id, item.changekey)
        return self.client.call(run)

    def _update(self, block: Event, ref: BlockRef) -> BlockRef:
        self._check_changekey(ref)
        def run() -> BlockRef:
            item = CalendarItem(account=self.client.account, folder=self.client.calendar, id=ref.provider_id,
                                changekey=ref.etag, **self._item(block))
            item.save(update_fields=["subject", "start", "end", "is_all_day", "legacy_free_busy_status", TAG_FIELD],
                      conflict_resolution=exchangelib.items.NEVER_OVERWRITE,
                      send_meeting_invitations=exchangelib.items.SEND_TO_NONE)
            return BlockRef(block.uid, item.id, item.changekey)
        return self.client.call(run)

    def _delete(self, ref: BlockRef) -> None:
        self._check_changekey(ref)
        def run() -> None:
            item = CalendarItem(account=self.client.account, folder=self.client.calendar, id=ref.provider_id,
                                changekey=ref.etag)
            try:
                item.delete(send_meeting_cancellations=exchangelib.items.SEND_TO_NONE)
            except ews_errors.ErrorItemNotFound:
                pass  # already gone
        self.client.call(run)

    def _check_changekey(self, ref: BlockRef) -> None:
        if ref.etag is None:
            return
        found = self._fetch_tagged(ref.provider_id)
        if found is not None and found.changekey != ref.etag:
            raise Conflict(NAME, "the block was changed in the calendar meanwhile (change key mismatch)")

    def close(self) -> None:
        self.client.close()

