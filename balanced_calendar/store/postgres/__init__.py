"""The PostgreSQL store: one database shared by any number of instances (docs/scaling.md).

:class:`PostgresStore` is composed like :class:`~balanced_calendar.store.sqlite.SQLiteStore`,
one part per concern over one connection pool (:mod:`.core`), with the same tables, the
same migrations (:mod:`.schema`), the same hashing and the same promises: it passes
``tests/contract/store_suite.py``.
"""

from __future__ import annotations

from balanced_calendar.store.base import Store
from balanced_calendar.store.postgres.audit import PostgresAudit
from balanced_calendar.store.postgres.blocks import PostgresBlocks
from balanced_calendar.store.postgres.core import PostgresCore, describe
from balanced_calendar.store.postgres.events import PostgresEvents
from balanced_calendar.store.postgres.jobs import PostgresJobs
from balanced_calendar.store.postgres.maintenance import PostgresMaintenance
from balanced_calendar.store.postgres.outbox import PostgresOutbox
from balanced_calendar.store.postgres.people import PostgresPeople
from balanced_calendar.store.postgres.schema import MIGRATIONS, SCHEMA_VERSION, TABLES

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "TABLES", "PostgresCore", "PostgresStore", "describe"]


class PostgresStore(PostgresPeople, PostgresEvents, PostgresAudit, PostgresBlocks, PostgresOutbox, PostgresJobs,
                    PostgresMaintenance, Store):
    """:class:`~balanced_calendar.store.base.Store` on a PostgreSQL database.

    ``PostgresStore(url, password=None, min_size=1, max_size=8, timeout=30.0)`` connects,
    creating and migrating the schema as needed; raises
    :class:`~balanced_calendar.store.errors.StoreError` when the server cannot be reached,
    refuses the login or holds a newer schema.
    """
