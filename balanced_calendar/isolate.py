"""Run one piece of heavy work in a short-lived child process.

The daemon lives for months. Work that loads large libraries or builds many objects once a
week (rendering digests with matplotlib, team reports) would leave the daemon tens of
megabytes bigger for good: CPython rarely returns freed small-object memory to the system,
and an imported library never goes away. Run in a child that exits, that memory goes back
to the system the moment the work is done.

The child is started with ``spawn`` (clear of the parent's threads, locks and database
handles), logs through the same formatter to the same stream, and gets SIGKILL if the
daemon dies. The function and its arguments must be picklable: pass a config and plain
values, never a runtime or a store.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def _child_start(level: int) -> None:
    from balanced_calendar import logsetup

    logsetup.setup(level, stream=sys.stdout)
    if sys.platform.startswith("linux"):  # die with the daemon (kill -9 leaves no orphan)
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def run_in_child(fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` in a new process that exits afterwards; its result or its exception.

    An exception raised by ``fn`` is re-raised here (it must be picklable: the project's
    typed errors are); a child that dies (killed, out of memory) raises
    :class:`concurrent.futures.process.BrokenProcessPool`.
    """
    level = logging.getLogger().getEffectiveLevel()
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_child_start, initargs=(level,)) as pool:
        return pool.submit(fn, *args).result()
