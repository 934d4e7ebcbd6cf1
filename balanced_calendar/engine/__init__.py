"""The audit engine: events -> per-day figures (:mod:`.timeline`) -> findings (:mod:`.audit`)."""

from balanced_calendar.engine.audit import audit_events, read_window

__all__ = ["audit_events", "read_window"]
