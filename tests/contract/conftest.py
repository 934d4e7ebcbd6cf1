"""Contract suites live in non-``test_`` modules; let pytest rewrite their asserts anyway."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("tests.contract.store_suite")
