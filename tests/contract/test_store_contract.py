"""Every store backend passes :class:`~tests.contract.store_suite.StoreContract`; today SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from balanced_calendar.store import SQLiteStore, Store
from tests.contract.store_suite import StoreContract, StoreFactory


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def store_factory(self, tmp_path: Path) -> Iterator[StoreFactory]:
        opened: list[Store] = []

        def open_one() -> Store:
            opened.append(SQLiteStore(tmp_path / "state"))
            return opened[-1]

        yield open_one
        for store in opened:
            store.close()
