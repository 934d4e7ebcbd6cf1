"""PostgreSQL part of :class:`~balanced_calendar.store.events.EventStore`: events and sync state.

The ``events`` table has no column that could hold a title, description, location or
address; uids are stored as HMAC-SHA256. Rows are built and read back by the same code as
the SQLite store's (:class:`~balanced_calendar.store.sqlite.events.SQLiteEvents`), so both
backends store and return identical values.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Sequence

import psycopg

from balanced_calendar.model import Event, InputError
from balanced_calendar.store.events import SyncState
from balanced_calendar.store.postgres.core import PostgresCore, Tx
from balanced_calendar.store.sqlite.core import epoch, from_ts, ts
from balanced_calendar.store.sqlite.events import (_EVENT_COLUMNS, _VALUES, SQLiteEvents, _check_state,
                                                   _check_window, _date_bounds, _Row)

log = logging.getLogger(__name__)

# Events overlapping a window (see _date_bounds for all-day).
_OVERLAP = """(
    (all_day = 0 AND start_utc < %(end_utc)s
     AND (end_utc > %(start_utc)s OR (end_utc = start_utc AND start_utc >= %(start_utc)s)))
 OR (all_day = 1 AND start_date < %(stop_date)s
     AND (end_date > %(first_date)s OR (end_date = start_date AND start_date >= %(first_date)s)))
)"""


class PostgresEvents(PostgresCore):
    """The ``events`` and ``sync_state`` tables."""

    # Row building and reading are backend-neutral: shared with the SQLite part.
    _event_rows = SQLiteEvents._event_rows
    load_events = SQLiteEvents.load_events
    load_event_columns = SQLiteEvents.load_event_columns

    def get_sync_state(self, email: str, calendar: str) -> SyncState:
        with self._read() as conn:
            pid = self._person_id(conn, email)
            row = conn.execute(
                "SELECT token, window_start, window_end, last_sync, last_error FROM sync_state "
                "WHERE person_id = %s AND calendar = %s", (pid, calendar)).fetchone()
        if row is None:
            return SyncState(email=email, calendar=calendar)
        token, ws, we, last, error = row
        return SyncState(email=email, calendar=calendar, token=token, window_start=from_ts(ws),
                         window_end=from_ts(we), last_sync=from_ts(last), last_error=error)

    def _set_sync_state(self, conn: Tx, pid: int, calendar: str, state: SyncState) -> None:
        """Write the state; an identical stored state is left alone (no row change)."""
        conn.execute(
            """INSERT INTO sync_state AS s(person_id, calendar, token, window_start, window_end, last_sync,
                                          last_error)
               VALUES (%s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (person_id, calendar) DO UPDATE SET
                   token = excluded.token, window_start = excluded.window_start,
                   window_end = excluded.window_end, last_sync = excluded.last_sync,
                   last_error = excluded.last_error
               WHERE (s.token, s.window_start, s.window_end, s.last_sync, s.last_error) IS DISTINCT FROM
                     (excluded.token, excluded.window_start, excluded.window_end, excluded.last_sync,
                      excluded.last_error)""",
            (pid, calendar, state.token, ts(state.window_start), ts(state.window_end),
             ts(state.last_sync), state.last_error))

    def set_sync_state(self, state: SyncState) -> None:
        with self._tx() as tx:
            self._set_sync_state(tx, self._person_id(tx, state.email), state.calendar, state)

    def _insert_events(self, conn: Tx, rows: Iterable[_Row]) -> int:
        try:
            return conn.executemany(
                f"INSERT INTO events({_EVENT_COLUMNS}) VALUES ({', '.join(['%s'] * 14)})", rows)
        except (ValueError, psycopg.errors.IntegrityError) as exc:
            raise InputError(f"an event could not be stored: {exc}") from None

    def replace_events(self, email: str, calendar: str, window_start: dt.datetime,
                       window_end: dt.datetime, events: Sequence[Event] | Iterator[Event],
                       state: SyncState) -> int:
        _check_window(window_start, window_end)
        _check_state(email, calendar, state)
        with self._tx() as tx:
            pid = self._person_id(tx, email)
            first, stop = _date_bounds(window_start, window_end, self._person_zone(tx, pid))
            tx.execute(f"DELETE FROM events WHERE person_id = %(pid)s AND calendar = %(calendar)s AND {_OVERLAP}",
                       {"pid": pid, "calendar": calendar, "start_utc": epoch(window_start),
                        "end_utc": epoch(window_end), "first_date": first, "stop_date": stop})
            count = self._insert_events(tx, list(self._event_rows(pid, calendar, events)))
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
            for row in tx.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE person_id = %s AND calendar = %s "
                                  "AND uid_hash = ANY(%s)", (pid, calendar, list(wanted))).fetchall():
                stored.setdefault(row[2], []).append(tuple(row))
            changed = [uid for uid, rows in wanted.items() if sorted(rows, key=repr) != sorted(
                stored.get(uid, []), key=repr)]
            tx.executemany("DELETE FROM events WHERE person_id = %s AND calendar = %s AND uid_hash = %s",
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
                f"SELECT calendar, uid_hash, {_VALUES} FROM events WHERE person_id = %(pid)s AND {_OVERLAP}",
                {"pid": pid, "start_utc": epoch(start), "end_utc": epoch(end),
                 "first_date": first, "stop_date": stop}).fetchall()
        return zone, rows
