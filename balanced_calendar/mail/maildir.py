"""The embedded default transport: drop each message into a Maildir folder (``[mail] maildir``).

Delivery is idempotent per outbox key: the file name is derived from the key, so a retry after a
crash between writing and recording finds the message already there instead of adding it twice.
"""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path

from balanced_calendar.mail.errors import TemporaryFailure


class MaildirTransport:
    """Writes ``tmp/<name>`` then renames it into ``new/`` (the Maildir protocol)."""

    name = "maildir"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _name(self, key: str) -> str:
        return f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.balanced-calendar.{socket.gethostname()}"

    def send(self, key: str, sender: str, recipient: str, message: bytes) -> None:
        try:
            for sub in ("tmp", "new", "cur"):
                (self.folder / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
            name = self._name(key)
            if (self.folder / "new" / name).exists() or any((self.folder / "cur").glob(name + ":*")):
                return
            tmp = self.folder / "tmp" / name
            with open(tmp, "wb") as f:
                f.write(message.replace(b"\r\n", b"\n"))  # the outbox holds SMTP line ends
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.folder / "new" / name)
        except OSError as exc:
            raise TemporaryFailure(f"maildir not writable ({type(exc).__name__})") from None

    def path_of(self, key: str) -> Path:
        """Where the message of ``key`` lands (in ``new/``)."""
        return self.folder / "new" / self._name(key)
