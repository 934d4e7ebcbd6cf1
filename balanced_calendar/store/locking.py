"""An inter-process lock and private-file opening any file-backed store can use."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

from balanced_calendar.model import UserError
from balanced_calendar.store.errors import StoreError

log = logging.getLogger(__name__)

_LOCK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")

#: below this much free space the disk of the state directory counts as full
LOW_SPACE_BYTES = 1024 * 1024


def disk_full_error(directory: Path) -> StoreError:
    """The one-line error for a full disk under ``directory`` (nothing was half-written)."""
    return StoreError(f"the disk holding {directory} is full: free space and retry",
                      hint="SQLite keeps every commit whole: nothing was half-written")


def disk_full(directory: Path) -> str | None:
    """A line for ``status`` when the disk holding ``directory`` is (nearly) full, else ``None``.

    Full means less than :data:`LOW_SPACE_BYTES` available to this user: syncs and
    erasures fail there. ``None`` also when the space cannot be measured.
    """
    try:
        info = os.statvfs(directory)
    except OSError:
        return None
    free = info.f_bavail * info.f_frsize
    if free >= LOW_SPACE_BYTES:
        return None
    return (f"the disk holding {directory} is full ({free // 1024} KiB free): syncs and erasures "
            f"fail until space is freed")


def open_private(path: Path, what: str = "") -> int:
    """Open (creating with mode 0600) a file of the state directory; returns the descriptor.

    Raises :class:`StoreError` with the usual ownership hint when it cannot be opened.
    """
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise disk_full_error(path.parent) from None
        from balanced_calendar.store.access import write_hint

        raise StoreError(f"cannot open {what}{path}: {exc.strerror}", hint=write_hint(path)) from None


@contextlib.contextmanager
def file_lock(directory: Path, name: str, wait: float | None = 0, *, poll: float = 0.05) -> Iterator[None]:
    """``fcntl.flock`` on ``directory/<name>.lock``, with our pid written into the file.

    The kernel drops the lock when the holder dies (even on ``kill -9``), so a stale lock
    file never blocks anyone. A second holder — another process, or another ``with`` in
    this process — waits up to ``wait`` seconds (``None``: forever), then gets a
    :class:`~balanced_calendar.model.UserError` naming the holder's pid.
    """
    if not _LOCK_NAME.match(name):
        raise ValueError(f"invalid lock name {name!r}")
    path = directory / f"{name}.lock"
    fd = open_private(path, "the lock file ")
    try:
        deadline = None if wait is None else time.monotonic() + max(wait, 0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise StoreError(f"cannot lock {path}: {exc.strerror}") from None
            if deadline is not None and time.monotonic() >= deadline:
                holder = _read_pid(fd)
                who = f"pid {holder}" if holder else "pid unknown"
                raise UserError(f"another {name} is running ({who}); wait for it to finish or stop it",
                                hint=f"lock file: {path}")
            time.sleep(poll if deadline is None else min(poll, max(deadline - time.monotonic(), 0)))
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as exc:
            fcntl.flock(fd, fcntl.LOCK_UN)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise disk_full_error(directory) from None
            raise StoreError(f"cannot write {path}: {exc.strerror}",
                             hint="check that the service user owns the state directory") from None
        log.debug("lock %s acquired", name)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            log.debug("lock %s released", name)
    finally:
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
