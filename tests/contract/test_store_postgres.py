"""The PostgreSQL store passes the same :class:`StoreContract` as SQLite, on a real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from balanced_calendar.store import Store
from balanced_calendar.store.postgres import PostgresStore
from tests.contract.store_suite import StoreContract, StoreFactory
from tests.pgserver import PgServer


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store_factory(self, pg_server: PgServer, pg_database: str) -> Iterator[StoreFactory]:
        opened: list[Store] = []

        def open_one() -> Store:
            opened.append(PostgresStore(pg_server.socket_url(pg_database), max_size=4))
            return opened[-1]

        yield open_one
        for store in opened:
            store.close()
