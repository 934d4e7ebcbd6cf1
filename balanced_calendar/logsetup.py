"""Logging on stdout, journald-friendly (as Radicale does).

Under systemd (``JOURNAL_STREAM`` set) each line starts with a syslog priority prefix
``<N>`` and no timestamp (journald adds its own). Log records never carry personal data:
callers log pseudonyms, counts and error classes only, and as a safety net every email
address that still reaches a formatter (say, quoted by a config error) is masked
(``siti@kemenkeu.go.id`` -> ``s***@kemenkeu.go.id``).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import traceback

_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}
_ADDRESS = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")


def mask_addresses(text: str) -> str:
    """Every email address in ``text`` masked to its first letter and domain."""
    return _ADDRESS.sub(r"\1***@\2", text)


def code_trace(exc: BaseException) -> str:
    """Where ``exc`` was raised (file, line, function per frame) and its class, without its
    message or source lines: exception messages may quote calendar data."""
    frames = traceback.extract_tb(exc.__traceback__)
    return " <- ".join(f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in reversed(frames)) \
        + f" ({type(exc).__name__})"


class RedactingFormatter(logging.Formatter):
    """A formatter that masks email addresses in the finished line (tracebacks included)."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_addresses(super().format(record))


class JournalFormatter(RedactingFormatter):
    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{_PRIORITY.get(record.levelno, 6)}>"
        return prefix + super().format(record).replace("\n", "\n" + prefix)


def setup(level: int | str = logging.INFO, *, stream=None) -> None:  # type: ignore[no-untyped-def]
    """Route all logs to ``stream`` (stdout) once; safe to call again to change the level."""
    stream = stream or sys.stdout
    handler = logging.StreamHandler(stream)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
