"""The store interface: one protocol per concern, and :class:`Store` combining them.

Callers (daemon, CLI, planner, digest, outbox, team report) talk to :class:`Store` — or,
better, to the one concern they need (:class:`PeopleStore`, :class:`EventStore`,
:class:`AuditStore`, :class:`BlockStore`, :class:`OutboxStore`, :class:`JobQueue`,
:class:`MaintenanceStore`) — so a server database can be added later as a second
implementation without touching them. The SQLite implementation lives in
:mod:`balanced_calendar.store.sqlite`; every backend passes ``tests/contract/store_suite.py``.

Promises every implementation keeps:

- **Data minimisation by construction**: events are stored without titles, descriptions,
  locations or addresses; provider uids are stored only as HMAC-SHA256 under a secret
  kept in the store, and :meth:`EventStore.load_events` returns those hashes as ``uid``.
  Job subjects and keys are pseudonyms or team ids, never addresses.
- **One transaction per change**: every method that writes more than one row either
  applies all of it or none of it (a crash in the middle leaves the previous state).
- **Typed errors**: failures raise :class:`~balanced_calendar.model.UserError`
  subclasses (:class:`NotEnrolled`, :class:`StoreError`, :class:`~balanced_calendar.model.InputError`);
  nothing returns ``None`` to signal failure. ``None`` only ever means "nothing stored".
- **The store never sees secrets in plaintext**: credentials arrive already encrypted by
  :class:`balanced_calendar.vault.Vault`.
- Every method is safe to call from several threads. Database failures (locked for too
  long, disk full, damaged file) raise :class:`StoreError`.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

from balanced_calendar.store.audit import AuditStore, PersonAudit
from balanced_calendar.store.blocks import BLOCK_KINDS, BLOCK_STATES, BlockKind, BlockState, BlockStore, OwnBlock
from balanced_calendar.store.errors import NotEnrolled, StoreError, mask_email
from balanced_calendar.store.events import EventStore, SyncState
from balanced_calendar.store.locking import file_lock, open_private
from balanced_calendar.store.maintenance import ErasureRecord, MaintenanceStore, RunRecord
from balanced_calendar.store.people import ConsentRecord, PeopleStore, PersonRecord
from balanced_calendar.store.queue import Job, JobQueue, OutboxMessage, OutboxStore

__all__ = [
    "BLOCK_KINDS", "BLOCK_STATES", "AuditStore", "BlockKind", "BlockState", "BlockStore", "ConsentRecord",
    "ErasureRecord", "EventStore", "Job", "JobQueue", "MaintenanceStore", "NotEnrolled", "OutboxMessage",
    "OutboxStore", "OwnBlock", "PeopleStore", "PersonAudit", "PersonRecord", "RunRecord", "Store",
    "StoreError", "SyncState", "file_lock", "mask_email", "open_private",
]


class Store(PeopleStore, EventStore, AuditStore, BlockStore, OutboxStore, JobQueue, MaintenanceStore,
            Protocol):
    """Persistent state of one balanced-calendar installation: every concern together.

    Usable as a context manager (closes on exit).
    """

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
