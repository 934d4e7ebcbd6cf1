"""PostgreSQL part of :class:`~balanced_calendar.store.blocks.BlockStore`: own blocks and tombstones."""

from __future__ import annotations

import datetime as dt

from balanced_calendar.store.blocks import OwnBlock
from balanced_calendar.store.postgres.core import PostgresCore
from balanced_calendar.store.sqlite.core import epoch, from_epoch


class PostgresBlocks(PostgresCore):
    """The ``own_blocks`` (with the provider's ``provider_id`` and ``etag``) and ``tombstones`` tables."""

    def upsert_own_block(self, block: OwnBlock) -> None:
        with self._tx() as tx:
            pid = self._person_id(tx, block.email)
            tx.execute(
                """INSERT INTO own_blocks(person_id, block_id, day, start_utc, end_utc, kind, title,
                                          provider_id, fingerprint, state, etag)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (person_id, block_id) DO UPDATE SET
                       day = excluded.day, start_utc = excluded.start_utc, end_utc = excluded.end_utc,
                       kind = excluded.kind, title = excluded.title, provider_id = excluded.provider_id,
                       fingerprint = excluded.fingerprint, state = excluded.state, etag = excluded.etag""",
                (pid, block.block_id, block.date.isoformat(), epoch(block.start), epoch(block.end),
                 block.kind, block.title, block.provider_id, block.fingerprint, block.state, block.etag))

    def remove_own_block(self, email: str, block_id: str) -> bool:
        with self._tx() as tx:
            pid = self._person_id(tx, email)
            return tx.execute("DELETE FROM own_blocks WHERE person_id = %s AND block_id = %s",
                              (pid, block_id)).rowcount > 0

    def own_blocks(self, email: str, start: dt.date | None = None,
                   end: dt.date | None = None) -> list[OwnBlock]:
        with self._read() as conn:
            pid = self._person_id(conn, email)
            person_email = self._person_email(conn, pid)
            rows = conn.execute(
                """SELECT block_id, day, start_utc, end_utc, kind, provider_id, fingerprint, state, title, etag
                   FROM own_blocks WHERE person_id = %s AND day >= %s AND day <= %s
                   ORDER BY day, start_utc, block_id""",
                (pid, start.isoformat() if start else "0000-00-00",
                 end.isoformat() if end else "9999-99-99")).fetchall()
        return [OwnBlock(email=person_email, block_id=block_id, date=dt.date.fromisoformat(day),
                         start=from_epoch(s), end=from_epoch(e), kind=kind, provider_id=provider_id,
                         fingerprint=fingerprint, state=state, title=title, etag=etag)
                for block_id, day, s, e, kind, provider_id, fingerprint, state, title, etag in rows]

    def add_tombstone(self, email: str, block_id: str, date: dt.date) -> None:
        with self._tx() as tx:
            pid = self._person_id(tx, email)
            tx.execute("INSERT INTO tombstones(person_id, block_id, day) VALUES (%s, %s, %s) "
                       "ON CONFLICT DO NOTHING", (pid, block_id, date.isoformat()))

    def tombstones(self, email: str) -> set[tuple[str, dt.date]]:
        with self._read() as conn:
            pid = self._person_id(conn, email)
            rows = conn.execute("SELECT block_id, day FROM tombstones WHERE person_id = %s", (pid,)).fetchall()
        return {(block_id, dt.date.fromisoformat(day)) for block_id, day in rows}
