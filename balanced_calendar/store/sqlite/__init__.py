"""The SQLite store: one file under ``state_dir``, WAL, versioned schema.

:class:`SQLiteStore` is a façade composed from one part per concern (Radicale's storage
mixins): each part is a :class:`~balanced_calendar.store.sqlite.core.SQLiteCore` subclass
owning its tables, and they share one connection, one lock and one secret.

=====================  ==============================================  =============================
part                   tables                                          interface
=====================  ==============================================  =============================
:mod:`.people`         people, consents, credentials                   :class:`PeopleStore`
:mod:`.events`         events, sync_state                              :class:`EventStore`
:mod:`.audit`          audit_days, findings                            :class:`AuditStore`
:mod:`.blocks`         own_blocks, tombstones                          :class:`BlockStore`
:mod:`.outbox`         outbox                                          :class:`OutboxStore`
:mod:`.jobs`           jobs                                            :class:`JobQueue`
:mod:`.maintenance`    runs, meta, erasure_log (+ erasure of all)      :class:`MaintenanceStore`
=====================  ==============================================  =============================

:mod:`.core` holds the connection, transactions and migration; :mod:`.schema` the SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from balanced_calendar.store.base import Store
from balanced_calendar.store.sqlite.audit import SQLiteAudit
from balanced_calendar.store.sqlite.blocks import SQLiteBlocks
from balanced_calendar.store.sqlite.core import DB_NAME, SQLiteCore
from balanced_calendar.store.sqlite.events import SQLiteEvents
from balanced_calendar.store.sqlite.jobs import SQLiteJobs
from balanced_calendar.store.sqlite.maintenance import SQLiteMaintenance
from balanced_calendar.store.sqlite.outbox import SQLiteOutbox
from balanced_calendar.store.sqlite.people import SQLitePeople
from balanced_calendar.store.sqlite.schema import MIGRATIONS, SCHEMA_VERSION

__all__ = ["DB_NAME", "MIGRATIONS", "SCHEMA_VERSION", "SQLiteCore", "SQLiteStore", "open_store"]


class SQLiteStore(SQLitePeople, SQLiteEvents, SQLiteAudit, SQLiteBlocks, SQLiteOutbox, SQLiteJobs,
                  SQLiteMaintenance, Store):
    """:class:`~balanced_calendar.store.base.Store` on one SQLite file. Use :func:`open_store`.

    ``SQLiteStore(state_dir, busy_timeout=30.0, migrations=MIGRATIONS)`` opens (creating and
    migrating as needed) ``state_dir/state.sqlite3``; raises
    :class:`~balanced_calendar.store.errors.StoreError` when the directory or file cannot be
    used, the file is not a database, or its schema is newer than ``migrations``.
    """


def open_store(state_dir: Path, *, busy_timeout: float = 30.0, secret: bytes | None = None,
               verify: Callable[[Store], None] | None = None) -> Store:
    """Open the installation's store under ``state_dir`` (created 0700 if missing).

    ``secret`` is the key of pseudonyms and uid hashes (the runtime derives it from the vault
    key, :func:`balanced_calendar.vault.pseudonym_key`); it is never written to the file.
    ``verify(store)`` runs before the key is used or recorded and may refuse by raising.
    Without ``secret`` (tests, benchmarks) a new store keeps a random key in the file, and a
    store set up with a key can be read but not hash. See :class:`SQLiteCore`.
    Raises :class:`~balanced_calendar.store.errors.StoreError` when the directory or database
    cannot be used, was written by a newer version, or was set up with another key.
    """
    return SQLiteStore(Path(state_dir), busy_timeout=busy_timeout, secret=secret, verify=verify)
