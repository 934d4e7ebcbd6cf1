"""One service instance in its own process, its clock set to a chosen moment (tests only).

``python tests/cluster_instance.py CONFIG START_ISO STOP_FILE`` builds the daemon's jobs with
:class:`~balanced_calendar.service.Service` exactly as ``balanced-calendar run`` does (the
same tick: enqueue what is due, claim with leases, run, deliver the outbox), but with a clock
that starts at ``START_ISO`` and runs at real speed, so Monday-morning jobs (digest, report,
the daily plan) are due whatever day the test runs. It ticks every
``BALANCED_CALENDAR_TICK_SECONDS`` until ``STOP_FILE`` exists. Its worker name in the job
leases is ``hostname:pid``, as for the daemon.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from balanced_calendar.config import load_config  # noqa: E402
from balanced_calendar.service import Service, tick_seconds_from  # noqa: E402


def main() -> int:
    config_path, start_text, stop_file = sys.argv[1:4]
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(name)s %(levelname)s %(message)s")
    start = dt.datetime.fromisoformat(start_text)
    began = time.monotonic()

    def clock() -> dt.datetime:
        return start + dt.timedelta(seconds=time.monotonic() - began)

    service = Service(environ=os.environ, clock=clock)
    stop = threading.Event()
    [tick] = service.jobs(load_config(Path(config_path)), stop)
    every = tick_seconds_from(os.environ)
    while not Path(stop_file).exists():
        try:
            tick.run(stop)
        except Exception as exc:  # as the daemon: a failed tick is logged, the next one runs
            print(f"tick failed: {type(exc).__name__}: {exc}", flush=True)
        time.sleep(every)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
