"""Daemon RSS around a large sync: idle at READY vs. idle after the sync.

Sets up the demo agency (three people, two weeks), replaces one person's ICS file by a synthetic one of
``--events`` VEVENTs (bench_big_ics.py's generator), enrolls them, starts ``balanced-calendar
run`` with a notify socket, and reads the daemon's VmRSS at READY and a few seconds after the
first sync (run at start) has finished. ICS calendars are parsed in worker processes that
end with the sync, so the second figure should be within 30 MB of the first.

    .venv/bin/python bench/bench_daemon_rss.py [--events 30000]
"""

from __future__ import annotations

import argparse
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _rss_of(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=30_000)
    args = parser.parse_args()
    from bench_big_ics import write_calendar  # type: ignore[import-not-found]

    from balanced_calendar.demo.agency import generate_agency
    from balanced_calendar.demo.pipeline import write_config
    from balanced_calendar.vault import write_key

    exe = Path(sys.executable).with_name("balanced-calendar")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        agency = generate_agency(out, weeks=2, people=3)  # the fewest it makes
        config_path = write_config(agency, out, 2)
        # a window that holds the whole big calendar (2025-01 to 2028-01), so every event is stored
        text = config_path.read_text()
        config_path.write_text(text.replace("sync_past_weeks = 2", "sync_past_weeks = 100")
                               .replace("sync_future_weeks = 0", "sync_future_weeks = 60"))
        write_key(out / "vault-key")
        ics = sorted((out / "ics").glob("*.ics"))[0]  # one person's calendar becomes the big one
        count = write_calendar(ics, args.events * 556 / 1e6)  # ~556 bytes a VEVENT
        size = ics.stat().st_size / 1e6
        for person in agency.people:
            subprocess.run([str(exe), "enroll", "--config", str(config_path), "--provider", "ics",
                            "--email", person.email, "--yes"], check=True, capture_output=True)
        sock_path = out / "notify.sock"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(sock_path))
        sock.settimeout(600)
        proc = subprocess.Popen([str(exe), "run", "--config", str(config_path)],
                                env={**os.environ, "NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": "2000000"},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            t0 = time.perf_counter()
            while b"READY=1" not in sock.recv(4096):
                pass
            rss_ready = _rss_of(proc.pid)
            peak = rss_ready
            sock.settimeout(0.2)
            last = b""
            while b"last sync" not in last:
                try:
                    last = sock.recv(4096)
                except TimeoutError:
                    last = b""
                peak = max(peak, _rss_of(proc.pid))
                if proc.poll() is not None:
                    raise RuntimeError("daemon exited")
            sync_s = time.perf_counter() - t0
            time.sleep(5)
            rss_after = _rss_of(proc.pid)
            with sqlite3.connect(out / "state" / "state.sqlite3") as db:
                stored = db.execute("SELECT count(*) FROM events").fetchone()[0]
        finally:
            proc.terminate()
            proc.wait(60)
            sock.close()
    print(f"{count} VEVENTs ({size:.1f} MB, {stored} events in the sync window): daemon RSS {rss_ready:.0f} MB at READY, peak {peak:.0f} MB "
          f"during the sync ({sync_s:.0f} s), {rss_after:.0f} MB idle after it "
          f"(+{rss_after - rss_ready:.0f} MB), exit {proc.returncode}")


if __name__ == "__main__":
    main()
