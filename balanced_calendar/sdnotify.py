"""sd_notify(3) without libsystemd: READY, STATUS, WATCHDOG, STOPPING, RELOADING.

Quiet no-op when the service is not started by systemd (no ``NOTIFY_SOCKET``).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Sends state lines to systemd's notification socket."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        address = environ.get("NOTIFY_SOCKET", "")
        self._address: str | bytes | None = None
        if address:
            self._address = "\0" + address[1:] if address.startswith("@") else address
        usec = environ.get("WATCHDOG_USEC", "")
        pid = environ.get("WATCHDOG_PID", "")
        self.watchdog_seconds: float | None = None
        if usec.isdigit() and (not pid or pid == str(os.getpid())):
            self.watchdog_seconds = int(usec) / 1_000_000

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def notify(self, **state: str | int) -> None:
        """``notify(READY=1, STATUS="syncing")`` sends ``READY=1\\nSTATUS=syncing``."""
        if self._address is None:
            return
        payload = "\n".join(f"{k}={v}" for k, v in state.items()).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(self._address)
                sock.sendall(payload)
        except OSError as exc:  # systemd gone or socket unreachable: never fatal
            log.warning("sd_notify failed: %s", exc)
