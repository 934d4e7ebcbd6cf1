"""The audit engine: events -> columns (:mod:`.columns`) -> per-day figures (:mod:`.timeline`)
-> findings (:mod:`.audit`).

Entry points:

* :func:`audit_events` — :class:`~balanced_calendar.model.Event` objects in (connectors, CLI).
* :func:`audit_columns` — :class:`EventArrays` in: int64 epoch seconds and small-int codes
  (:data:`STATUS_CODE`, :data:`RESPONSE_CODE`, :data:`SHOW_AS_CODE`, :data:`KIND_CODE`,
  :data:`OTHER`), for callers that hold columns already (the store). Encoding in :mod:`.columns`.
* :func:`events_to_columns` — the conversion :func:`audit_events` uses.
"""

from balanced_calendar.engine.audit import audit_columns, audit_events, read_window
from balanced_calendar.engine.columns import (
    KIND_CODE,
    OTHER,
    RESPONSE_CODE,
    SHOW_AS_CODE,
    STATUS_CODE,
    EventArrays,
    events_to_columns,
)
from balanced_calendar.engine.timeline import Timeline

__all__ = [
    "KIND_CODE",
    "OTHER",
    "RESPONSE_CODE",
    "SHOW_AS_CODE",
    "STATUS_CODE",
    "EventArrays",
    "Timeline",
    "audit_columns",
    "audit_events",
    "events_to_columns",
    "read_window",
]
