"""First pages that a batched prefetch already fetched, waiting for their person's read.

Keyed by person, calendar and the sync token asked with; each page is taken once and only
within :data:`KEEP_SECONDS` (a read later than that asks for itself). A token Google
refused (410) is kept as :data:`EXPIRED`, so the read goes straight to a full read.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from connectors.google.client import SyncTokenExpired

KEEP_SECONDS = 600.0
EXPIRED = object()

_pages: dict[tuple[str, str, str], tuple[float, Any]] = {}
_lock = threading.Lock()


def put(email: str, calendar: str, token: str, page: Any) -> None:
    with _lock:
        _pages[(email, calendar, token)] = (time.monotonic(), page)


def take(email: str, calendar: str, token: str) -> dict[str, Any] | None:
    """The prefetched page for this read, or ``None``; raises :class:`SyncTokenExpired` when
    the batch learnt that the token expired."""
    with _lock:
        now = time.monotonic()
        for key in [k for k, (at, _) in _pages.items() if now - at > KEEP_SECONDS]:
            del _pages[key]
        found = _pages.pop((email, calendar, token), None)
    if found is None:
        return None
    if found[1] is EXPIRED:
        raise SyncTokenExpired()
    return found[1]
