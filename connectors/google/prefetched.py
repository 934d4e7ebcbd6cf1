"""First pages that a batched prefetch already fetched, waiting for their person's read.

Keyed by API root, person, calendar and the sync token asked with; each page is taken once
and only within :data:`KEEP_SECONDS` (a read later than that asks for itself); a new
prefetch first drops what an earlier one left for its people. A token Google
refused (410) is kept as :data:`EXPIRED`, so the read goes straight to a full read.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from connectors.google.client import SyncTokenExpired

KEEP_SECONDS = 600.0
EXPIRED = object()

_pages: dict[tuple[str, str, str, str], tuple[float, Any]] = {}
_lock = threading.Lock()


def put(root: str, email: str, calendar: str, token: str, page: Any) -> None:
    with _lock:
        _pages[(root, email, calendar, token)] = (time.monotonic(), page)


def drop(root: str, people: set[tuple[str, str]]) -> None:
    """Forget the pages left for these ``(email, calendar)`` pairs (their reads never came)."""
    with _lock:
        for key in [k for k in _pages if k[0] == root and (k[1], k[2]) in people]:
            del _pages[key]


def take(root: str, email: str, calendar: str, token: str) -> dict[str, Any] | None:
    """The prefetched page for this read, or ``None``; raises :class:`SyncTokenExpired` when
    the batch learnt that the token expired."""
    with _lock:
        now = time.monotonic()
        for key in [k for k, (at, _) in _pages.items() if now - at > KEEP_SECONDS]:
            del _pages[key]
        found = _pages.pop((root, email, calendar, token), None)
    if found is None:
        return None
    if found[1] is EXPIRED:
        raise SyncTokenExpired()
    return found[1]
