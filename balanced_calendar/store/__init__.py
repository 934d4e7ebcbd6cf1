"""Persistent state behind one interface (docs/store.md, docs/privacy.md).

Callers use :class:`Store` (or the one concern they need: :class:`PeopleStore`,
:class:`EventStore`, :class:`AuditStore`, :class:`BlockStore`, :class:`OutboxStore`,
:class:`JobQueue`, :class:`MaintenanceStore`) and :func:`open_store` only; the SQLite
implementation is the default, and a server database can be added as another
:class:`Store` later (docs/store.md).
"""

from __future__ import annotations

from balanced_calendar.store.base import (
    AuditStore,
    BlockStore,
    ConsentRecord,
    ErasureRecord,
    EventStore,
    Job,
    JobQueue,
    MaintenanceStore,
    NotEnrolled,
    OutboxMessage,
    OutboxStore,
    OwnBlock,
    PeopleStore,
    PersonAudit,
    PersonRecord,
    RunRecord,
    Store,
    StoreError,
    SyncState,
    file_lock,
    mask_email,
)
from balanced_calendar.store.sqlite import SCHEMA_VERSION, SQLiteStore, open_store

__all__ = [
    "SCHEMA_VERSION",
    "AuditStore",
    "BlockStore",
    "ConsentRecord",
    "ErasureRecord",
    "EventStore",
    "Job",
    "JobQueue",
    "MaintenanceStore",
    "NotEnrolled",
    "OutboxMessage",
    "OutboxStore",
    "OwnBlock",
    "PeopleStore",
    "PersonAudit",
    "PersonRecord",
    "RunRecord",
    "SQLiteStore",
    "Store",
    "StoreError",
    "SyncState",
    "file_lock",
    "mask_email",
    "open_store",
]
