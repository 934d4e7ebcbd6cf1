"""`balanced-calendar demo`: the embedded default a new user runs first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def demo(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("balanced-calendar")
    return subprocess.run([str(exe), "demo", "--out", str(out), *extra], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ))


def test_demo_runs_the_whole_pipeline_and_explains_where_its_files_are(tmp_path):
    proc = demo(tmp_path / "d")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "42 people in 7 teams (Asia/Jakarta, Asia/Jayapura, Asia/Makassar)" in out
    assert "synced 42/42 people" in out
    for rule in ("overtime_streak", "weekend_work", "holiday_work", "leave_work", "short_rest", "meeting_overload"):
        line = next(l for l in out.splitlines() if l.strip().startswith(rule))
        assert " 0 people" not in line, line  # the synthetic agency exercises every rule
    assert (tmp_path / "d" / "state" / "state.sqlite3").is_file()
    assert len(list((tmp_path / "d" / "ics").glob("*.ics"))) == 42
    summary = json.loads((tmp_path / "d" / "summary.json").read_text())
    assert summary["people"] == 42 and summary["sync_failures"] == 0
    # Aggregates only: no person's name appears in the team table.
    roster = json.loads((tmp_path / "d" / "roster.json").read_text())
    names = [p["name"] for p in roster["people"]]
    table = out.split("Teams (")[1].split("Files:")[0]
    assert not any(name in table for name in names)


def test_demo_is_deterministic_and_can_run_again_in_place(tmp_path):
    def findings(folder: str) -> dict[str, int]:
        return json.loads((tmp_path / folder / "summary.json").read_text())["findings"]

    assert demo(tmp_path / "a").returncode == 0
    first = findings("a")
    assert demo(tmp_path / "a").returncode == 0  # re-run on existing state: enroll updates, sync replaces
    assert demo(tmp_path / "b").returncode == 0
    assert findings("a") == first == findings("b")
    assert sum(first.values()) > 0
