from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

# A real PostgreSQL server per session, a fresh database per test (tests/pgserver.py).
from tests.pgserver import pg_database, pg_server  # noqa: E402,F401
