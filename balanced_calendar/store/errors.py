"""The store's errors and the checks its records share (docs/privacy.md: no raw address in a message)."""

from __future__ import annotations

import datetime as dt

from balanced_calendar.model import UserError


class NotEnrolled(UserError):
    """The address is not enrolled (or was erased). ``email`` says which.

    The message shows the address masked (``s***@kemenkeu.go.id``), because messages end
    up in the journal and logs never carry raw addresses (docs/privacy.md).
    """

    def __init__(self, email: str) -> None:
        super().__init__(f"{mask_email(email)} is not enrolled",
                         hint="check the address, or enrol the person first")
        self.email = email


class StoreError(UserError):
    """The state database cannot do what was asked: busy, full, damaged or too new."""


class StoreUnavailable(StoreError):
    """The database server cannot be reached right now (down, restarting, connection lost).

    Transient: the same work succeeds once the server is back, so a job that failed with it
    is retried soon instead of waiting for its next slot (:mod:`balanced_calendar.due`).
    """


#: the texts a :class:`StoreUnavailable` shows (a job's failure reason is text)
UNAVAILABLE_TEXTS = ("StoreUnavailable", "is unreachable or restarting", "cannot connect to the store")


def is_unavailable(reason: str | None) -> bool:
    """Whether a job's failure ``reason`` says the store could not be reached (transient)."""
    return bool(reason) and any(text in reason for text in UNAVAILABLE_TEXTS)  # type: ignore[operator]


def mask_email(email: str) -> str:
    """``siti@kemenkeu.go.id`` -> ``s***@kemenkeu.go.id``: recognisable to an operator, not a log leak."""
    local, _, domain = email.strip().partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def require_aware(value: dt.datetime | None, name: str) -> None:
    """Raise :class:`ValueError` unless ``value`` is ``None`` or a timezone-aware datetime."""
    if value is not None and (not isinstance(value, dt.datetime) or value.tzinfo is None):
        raise ValueError(f"{name} must be a timezone-aware datetime")
