"""How a delivery attempt can fail: for now (retry later) or for good (recorded, never retried)."""

from __future__ import annotations


class DeliveryError(Exception):
    """A failed attempt. ``public`` is safe for logs and the store: no address, no message text."""

    permanent = False

    def __init__(self, public: str) -> None:
        super().__init__(public)
        self.public = public


class TemporaryFailure(DeliveryError):
    """The server is down, slow, or answered 4xx: try again later."""


class PermanentFailure(DeliveryError):
    """The server refused the message for good (5xx): record it and stop."""

    permanent = True
