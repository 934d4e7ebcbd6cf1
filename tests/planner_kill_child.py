"""Run by test_planner_radicale: plan one person on a CalDAV calendar and die by SIGKILL right
after the first provider write, before the store records it (``kill -9`` at the worst moment).

Arguments: state folder, calendar URL, username, password, now (ISO).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
from pathlib import Path

from connectors._dav_http import DavSession
from connectors._dav_quirks import quirks_for
from connectors.dav import CaldavConnector
from tests.planner_site import EMAIL, make_site


class KilledAfterWrite:
    """The real store; the process is killed when the first block record is about to be written."""

    def __init__(self, store) -> None:  # type: ignore[no-untyped-def]
        self._store = store

    def upsert_own_block(self, block) -> None:  # type: ignore[no-untyped-def]
        os.kill(os.getpid(), signal.SIGKILL)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._store, name)


def main() -> None:
    folder, url, user, password, now = sys.argv[1:6]
    connector = CaldavConnector(DavSession(url, user, password), url, quirks=quirks_for("radicale"),
                                owner=EMAIL, allow_write=True)
    site = make_site(Path(folder), connector=connector, now=now)
    site.plan(store=KilledAfterWrite(site.store))
    print("not killed", dt.datetime.now())


if __name__ == "__main__":
    main()
