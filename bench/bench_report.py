"""Team reports for a whole organisation from the store: wall time (median of R runs).

Usage: .venv/bin/python bench/bench_report.py [--teams 100] [--size 20] [--repeat 3]

Setup (not timed): a service config with ``teams`` teams of ``size`` people (WIB), everyone
enrolled with consent through the enrollment flow, nine ISO weeks (2026-W37 … W45) of events per
person (``tests/report_helpers.person_events``) stored and audited as a sync would.

Each run starts from a copy of that state and times ``report --all`` for 2026-W45 in-process
(:func:`balanced_calendar.report.command.write_all`: every team's report and the organisation page
as HTML in both languages, JSON and CSV):

- **cold**: no week reported before, so the week and its 7 trend weeks are planned (read from the
  store, aggregated, frozen) in one pass;
- **warm**: the week before was reported already (its plan and its trend weeks are frozen), so
  only 2026-W45 is planned: the steady state of a Monday.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from report_helpers import MONDAY_8, enroll_and_audit, write_site  # noqa: E402

from balanced_calendar.config import load_config  # noqa: E402
from balanced_calendar.report.command import write_all  # noqa: E402
from balanced_calendar.report.compose import compose_report  # noqa: E402
from balanced_calendar.runtime import open_runtime  # noqa: E402


def one_run(site: Path, scratch: Path, warm: bool) -> float:
    work = scratch / ("warm" if warm else "cold")
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(site, work)
    config = load_config(work / "config.toml")
    with open_runtime(config, environ={}, clock=lambda: MONDAY_8) as rt:
        if warm:  # last Monday's report: freezes 2026-W37 … W44
            compose_report(rt.store, config, rt.policy, "@org", 2026, 44, MONDAY_8)
        start = time.perf_counter()
        write_all(rt, 2026, 45, work / "reports", ("id", "en"))
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument("--size", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        t0 = time.perf_counter()
        config = write_site(site, {f"t{i:03d}": args.size for i in range(args.teams)})
        enroll_and_audit(config)
        print(f"setup: {args.teams} teams × {args.size} = {args.teams * args.size} people, 9 weeks audited "
              f"in {time.perf_counter() - t0:.1f} s", flush=True)
        for warm in (False, True):
            runs = [one_run(site, Path(tmp), warm) for _ in range(args.repeat)]
            label = "warm (only the week is planned)" if warm else "cold (the week and 7 trend weeks planned)"
            print(f"{label}: median {statistics.median(runs):.2f} s of {args.repeat} runs "
                  f"({', '.join(f'{r:.2f}' for r in runs)} s); {args.teams} team pages + organisation page, "
                  f"HTML id+en, JSON, CSV", flush=True)


if __name__ == "__main__":
    main()
