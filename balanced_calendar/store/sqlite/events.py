"""SQLite part of :class:`~balanced_calendar.store.events.EventStore`: events and sync state.

The ``events`` table has no column that could hold a title, description, location or
address; uids are stored as HMAC-SHA256 (:meth:`SQLiteCore._uid_hash`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from balanced_calendar.model import Event, InputError, Kind, Response, ShowAs, Status
from balanced_calendar.store.events import SyncState
from balanced_calendar.store.sqlite.core import SQLiteCore, email_key, epoch, from_epoch, from_ts, ts

log = logging.getLogger(__name__)

_EPOCH_DATE = dt.date(1970, 1, 1)

# Events overlapping a window (see _date_bounds for all-day).
_OVERLAP = """(
    (all_day = 0 AND start_utc < :end_utc AND (end_utc > :start_utc OR (end_utc = start_utc AND start_utc >= :start_utc)))
 OR (all_day = 1 AND start_date < :stop_date AND (end_date > :first_date OR (end_date = start_date AND start_date >= :first_date)))
)"""
_VALUES = ("all_day, start_utc, end_utc, start_date, end_date, status, response, show_as, kind, others, "
           "organizer_is_self")
_EVENT_COLUMNS = f"person_id, calendar, uid_hash, {_VALUES}"
_Row = tuple[Any, ...]


def _date_bounds(start: dt.datetime, end: dt.datetime, zone: dt.tzinfo) -> tuple[str, str]:
    """Local dates ``(first, stop)``: an all-day ``[sd, ed)`` overlaps ``[start, end)`` iff
    ``sd < stop and ed > first`` (or it is empty and ``first <= sd < stop``)."""
    local_start = start.astimezone(zone)
    local_end = end.astimezone(zone)
    stop = local_end.date()
    if local_end.time() != dt.time(0):
        stop += dt.timedelta(days=1)
    return local_start.date().isoformat(), stop.isoformat()


def _check_window(start: dt.datetime, end: dt.datetime) -> None:
    for value in (start, end):
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise InputError("a window needs timezone-aware datetimes")
    if end < start:
        raise InputError(f"the window ends ({end.isoformat()}) before it starts ({start.isoformat()})")


def _check_state(email: str, calendar: str, state: SyncState) -> None:
    if email_key(state.email) != email_key(email) or state.calendar != calendar:
        raise InputError("the sync state belongs to a different person or calendar")


class SQLiteEvents(SQLiteCore):
    """The ``events`` and ``sync_state`` tables."""

    def get_sync_state(self, email: str, calendar: str) -> SyncState:
        with self._read() as conn:
            pid = self._person_id(conn, email)
            row = conn.execute(
                "SELECT token, window_start, window_end, last_sync, last_error FROM sync_state "
                "WHERE person_id = ? AND calendar = ?", (pid, calendar)).fetchone()
        if row is None:
            return SyncState(email=email, calendar=calendar)
        token, ws, we, last, error = row
        return SyncState(email=email, calendar=calendar, token=token, window_start=from_ts(ws),
                         window_end=from_ts(we), last_sync=from_ts(last), last_error=error)

    def _set_sync_state(self, conn: sqlite3.Connection, pid: int, calendar: str, state: SyncState) -> None:
        """Write the state; an identical stored state is left alone (no row change)."""
        conn.execute(
            """INSERT INTO sync_state(person_id, calendar, token, window_start, window_end, last_sync, last_error)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(person_id, calendar) DO UPDATE SET
                   token = excluded.token, window_start = excluded.window_start,
                   window_end = excluded.window_end, last_sync = excluded.last_sync,
                   last_error = excluded.last_error
               WHERE (token, window_start, window_end, last_sync, last_error) IS NOT
                     (excluded.token, excluded.window_start, excluded.window_end, excluded.last_sync,
                      excluded.last_error)""",
            (pid, calendar, state.token, ts(state.window_start), ts(state.window_end),
             ts(state.last_sync), state.last_error))
        if state.window_start is not None:
            # Prune what ended before the window: no sync refreshes it any more, so it would go stale.
            first, _ = _date_bounds(state.window_start, state.window_start, self._person_zone(conn, pid))
            conn.execute(
                "DELETE FROM events WHERE person_id = :pid AND calendar = :calendar AND ("
                "(all_day = 0 AND end_utc <= :start_utc AND start_utc < :start_utc) OR "
                "(all_day = 1 AND end_date <= :first_date AND start_date < :first_date))",
                {"pid": pid, "calendar": calendar, "start_utc": epoch(state.window_start), "first_date": first})

    def set_sync_state(self, state: SyncState) -> None:
        with self._tx() as tx:
            self._set_sync_state(tx, self._person_id(tx, state.email), state.calendar, state)

    def _event_rows(self, pid: int, calendar: str, events: Iterable[Event]) -> Iterator[_Row]:
        """Rows for ``events``; validation errors surface mid-insert, inside the transaction."""
        for event in events:
            if not isinstance(event, Event):
                raise InputError(f"expected an Event, got {type(event).__name__}")
            if event.others < 0:
                raise InputError("an event has a negative number of participants")
            if event.all_day:
                timed: _Row = (1, None, None, event.start.isoformat(), event.end.isoformat())
            else:
                timed = (0, epoch(event.start), epoch(event.end), None, None)  # type: ignore[arg-type]
            try:
                values = (Status(event.status).value, Response(event.response).value,
                          ShowAs(event.show_as).value, Kind(event.kind).value)
            except ValueError as exc:  # an unknown enum value
                raise InputError(f"an event could not be stored: {exc}") from None
            yield (pid, calendar, self._uid_hash(event.uid), *timed, *values,
                   int(event.others), int(bool(event.organizer_is_self)))

    def _insert_events(self, conn: sqlite3.Connection, rows: Iterable[_Row]) -> int:
        before = conn.total_changes
        try:
            conn.executemany(f"INSERT INTO events({_EVENT_COLUMNS}) VALUES ({', '.join('?' * 14)})", rows)
        except (ValueError, sqlite3.IntegrityError) as exc:
            raise InputError(f"an event could not be stored: {exc}") from None
        return conn.total_changes - before

    def replace_events(self, email: str, calendar: str, window_start: dt.datetime,
                       window_end: dt.datetime, events: Sequence[Event] | Iterator[Event],
                       state: SyncState) -> int:
        _check_window(window_start, window_end)
        _check_state(email, calendar, state)
        with self._tx() as tx:
            pid = self._person_id(tx, email)
            first, stop = _date_bounds(window_start, window_end, self._person_zone(tx, pid))
            tx.execute(f"DELETE FROM events WHERE person_id = :pid AND calendar = :calendar AND {_OVERLAP}",
                       {"pid": pid, "calendar": calendar, "start_utc": epoch(window_start),
                        "end_utc": epoch(window_end), "first_date": first, "stop_date": stop})
            count = self._insert_events(tx, self._event_rows(pid, calendar, events))
            self._set_sync_state(tx, pid, calendar, state)
        log.debug("replaced events of %s: %d stored", self.pseudonym(email), count)
        return count

    def apply_changes(self, email: str, calendar: str, upserts: Sequence[Event],
                      deleted_uids: Sequence[str], state: SyncState) -> None:
        _check_state(email, calendar, state)
        upserts = list(upserts)
        with self._tx() as tx:
            pid = self._person_id(tx, email)
            wanted: dict[str, list[_Row]] = {self._uid_hash(uid): [] for uid in deleted_uids}
            for row in self._event_rows(pid, calendar, upserts):
                wanted.setdefault(row[2], []).append(row)
            stored: dict[str, list[_Row]] = {}
            for row in tx.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE person_id = ? AND calendar = ? "
                                  "AND uid_hash IN (SELECT value FROM json_each(?))",
                                  (pid, calendar, json.dumps(list(wanted)))):
                stored.setdefault(row[2], []).append(tuple(row))
            changed = [uid for uid, rows in wanted.items() if sorted(rows, key=repr) != sorted(
                stored.get(uid, []), key=repr)]
            tx.executemany("DELETE FROM events WHERE person_id = ? AND calendar = ? AND uid_hash = ?",
                           [(pid, calendar, uid_hash) for uid_hash in changed if uid_hash in stored])
            count = self._insert_events(tx, [row for uid in changed for row in wanted[uid]])
            self._set_sync_state(tx, pid, calendar, state)
        log.debug("applied changes for %s: %d rows written, %d uids removed",
                  self.pseudonym(email), count, len(deleted_uids))

    def _overlapping(self, email: str, start: dt.datetime, end: dt.datetime) -> tuple[dt.tzinfo, list[_Row]]:
        """The person's zone and their event rows ``calendar, uid_hash, <_VALUES>`` overlapping
        ``[start, end)``, unordered."""
        _check_window(start, end)
        with self._read() as conn:
            pid = self._person_id(conn, email)
            zone = self._person_zone(conn, pid)
            first, stop = _date_bounds(start, end, zone)
            rows = conn.execute(
                f"SELECT calendar, uid_hash, {_VALUES} FROM events WHERE person_id = :pid AND {_OVERLAP}",
                {"pid": pid, "start_utc": epoch(start), "end_utc": epoch(end),
                 "first_date": first, "stop_date": stop}).fetchall()
        return zone, rows

    def load_events(self, email: str, start: dt.datetime, end: dt.datetime) -> list[Event]:
        zone, rows = self._overlapping(email, start, end)
        events: list[tuple[dt.datetime, str, Event]] = []
        for (calendar, uid_hash, all_day, s_utc, e_utc, s_date, e_date, status, response, show_as,
             kind, others, self_org) in rows:
            if all_day:
                s: dt.date = dt.date.fromisoformat(s_date)
                e: dt.date = dt.date.fromisoformat(e_date)
                order = dt.datetime.combine(s, dt.time(), zone)
            else:
                s, e = from_epoch(s_utc), from_epoch(e_utc)
                order = s  # type: ignore[assignment]
            events.append((order, uid_hash, Event(
                uid=uid_hash, start=s, end=e, all_day=bool(all_day), status=Status(status),
                response=Response(response), show_as=ShowAs(show_as), kind=Kind(kind), others=others,
                organizer_is_self=bool(self_org), calendar=calendar)))
        events.sort(key=lambda item: (item[0], item[1]))
        return [event for _, _, event in events]

    def load_event_columns(self, email: str, start: dt.datetime, end: dt.datetime) -> Any:
        """:meth:`load_events` as the engine's columns (``engine.columns.EventArrays``), in the
        same order, without building an ``Event`` per row: the sync's audit reads this."""
        from balanced_calendar.engine.columns import (KIND_CODE, OTHER, RESPONSE_CODE, SHOW_AS_CODE,
                                                      STATUS_CODE, EventArrays)

        zone, rows = self._overlapping(email, start, end)
        midnights: dict[str, tuple[int, int]] = {}

        def day(text: str) -> tuple[int, int]:
            """(UTC-midnight epoch, local-midnight epoch) of an ISO date."""
            if text not in midnights:
                date = dt.date.fromisoformat(text)
                midnights[text] = ((date - _EPOCH_DATE).days * 86400,
                                   int(dt.datetime.combine(date, dt.time(), zone).timestamp()))
            return midnights[text]

        keyed = []
        for _calendar, uid_hash, all_day, s_utc, e_utc, s_date, e_date, *rest in rows:
            if all_day:
                (s, order), (e, _) = day(s_date), day(e_date)
            else:
                s, e, order = s_utc, e_utc, s_utc
            keyed.append(((order, uid_hash), (s, e, all_day, *rest)))
        keyed.sort(key=lambda item: item[0])
        import numpy as np

        cols = list(zip(*(values for _, values in keyed))) or [()] * 9
        code = {name: {member.value: c for member, c in table.items()} for name, table in
                (("status", STATUS_CODE), ("response", RESPONSE_CODE), ("show_as", SHOW_AS_CODE),
                 ("kind", KIND_CODE))}
        return EventArrays(
            start=np.fromiter(cols[0], np.int64, len(keyed)), end=np.fromiter(cols[1], np.int64, len(keyed)),
            all_day=np.fromiter(cols[2], bool, len(keyed)),
            status=np.fromiter((code["status"].get(v, OTHER) for v in cols[3]), np.uint8, len(keyed)),
            response=np.fromiter((code["response"].get(v, OTHER) for v in cols[4]), np.uint8, len(keyed)),
            show_as=np.fromiter((code["show_as"].get(v, OTHER) for v in cols[5]), np.uint8, len(keyed)),
            kind=np.fromiter((code["kind"].get(v, OTHER) for v in cols[6]), np.uint8, len(keyed)),
            others=np.fromiter(cols[7], np.int64, len(keyed)),
            organizer_is_self=np.fromiter(cols[8], bool, len(keyed)))
