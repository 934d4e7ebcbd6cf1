"""Logging on stdout, journald-friendly (STYLE.md §10, as Radicale does).

Under systemd (``JOURNAL_STREAM`` set) each line starts with a syslog priority prefix
``<N>`` and no timestamp (journald adds its own). Log records never carry personal data:
callers log pseudonyms, counts and error classes only.
"""

from __future__ import annotations

import logging
import os
import sys

_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class JournalFormatter(logging.Formatter):
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
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
