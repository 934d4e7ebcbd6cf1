"""Persistent state behind one interface (DESIGN.md §9; README "Store").

Callers use :class:`Store` and :func:`open_store` only; the SQLite implementation is the
default, and a server database can be added as another :class:`Store` later.
"""

from __future__ import annotations

from balanced_calendar.store.base import (
    ConsentRecord,
    ErasureRecord,
    NotEnrolled,
    OutboxMessage,
    OwnBlock,
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
    "ConsentRecord",
    "ErasureRecord",
    "NotEnrolled",
    "OutboxMessage",
    "OwnBlock",
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
