"""``balanced-calendar plan`` and the daemon's plan job, on a real store and an in-memory calendar."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from balanced_calendar.cli import cli
from balanced_calendar.config import load_config
from balanced_calendar.runtime import open_runtime
from balanced_calendar.service import Service
from balanced_calendar.sync import sync_all
from balanced_calendar.vault import write_key
from connectors.memory import SERVERS, MemoryCalendar
from tests.planner_site import at, meeting

RINA, BUDI = "rina@agency.go.id", "budi@agency.go.id"
NOW = at("2026-12-13 20:00")


@pytest.fixture()
def site(tmp_path: Path):  # type: ignore[no-untyped-def]
    write_key(tmp_path / "vault-key")
    config = tmp_path / "config.toml"
    config.write_text(f'''
[service]
state_dir = "state"
vault_key_file = "vault-key"
policy = "asn-id"
timezone = "Asia/Jakarta"
sync_past_weeks = 1
sync_future_weeks = 4

[planner]
focus_target_minutes = 90

[[people]]
email = "{RINA}"
connector = "memory"
calendar = "plan-rina"
protect = true
language = "en"

[[people]]
email = "{BUDI}"
connector = "memory"
calendar = "plan-budi"
planner = {{ focus = false }}
''')
    SERVERS["plan-rina"] = MemoryCalendar([meeting("m1", "2026-12-14 07:30", "2026-12-14 09:00")])
    SERVERS["plan-budi"] = MemoryCalendar()
    runner = CliRunner()
    for who in (RINA, BUDI):
        result = runner.invoke(cli, ["enroll", "--config", str(config), "--provider", "memory", "--email", who,
                                     "--yes"] + (["--protect"] if who == RINA else []))
        assert result.exit_code == 0, result.output
    with open_runtime(load_config(config), clock=lambda: NOW) as rt:
        assert not sync_all(rt).failed
    yield config
    del SERVERS["plan-rina"], SERVERS["plan-budi"]


def run(config: Path, *args: str):  # type: ignore[no-untyped-def]
    """The command as an operator types it (today's clock: every day ahead is free but one meeting)."""
    return CliRunner().invoke(cli, ["plan", "--config", str(config), *args])


def test_plan_is_a_dry_run_unless_apply(site):
    result = run(site, "--format", "json")
    assert result.exit_code == 0, result.output
    [rina] = json.loads(result.output)  # only people with protect = true
    assert rina["applied"] is False and rina["counts"]["create"] == 10
    first = rina["changes"][0]
    assert first["op"] == "create" and first["title"] == "Focus time"
    assert dt.datetime.fromisoformat(first["end"]) - dt.datetime.fromisoformat(first["start"]) == dt.timedelta(
        minutes=90)  # [planner] focus_target_minutes = 90
    assert SERVERS["plan-rina"].write_count == 0
    applied = run(site, "--apply")
    assert applied.exit_code == 0 and "10 create" in applied.output
    assert SERVERS["plan-rina"].write_count == 10
    again = run(site, "--apply")
    assert "10 unchanged" in again.output and SERVERS["plan-rina"].write_count == 10


def test_apply_for_a_person_without_protect_is_refused(site):
    result = run(site, "--person", BUDI, "--apply")
    assert result.exit_code == 2 and "has not allowed writes" in result.output
    assert SERVERS["plan-budi"].write_count == 0


def test_the_daemon_plans_protected_people_daily_and_after_a_changed_sync(site):
    clock = [NOW]
    service = Service(environ={}, clock=lambda: clock[0])
    config = load_config(site)
    [tick] = service.jobs(config, threading.Event())
    tick.run(threading.Event())
    rina = SERVERS["plan-rina"]
    blocks = [e for e in rina.events.values() if e.kind.value == "own_block"]
    assert len(blocks) == 10 and SERVERS["plan-budi"].write_count == 0
    # a meeting lands on Tuesday's block; the next sync notices and the plan follows
    rina.put(meeting("m2", "2026-12-15 07:30", "2026-12-15 09:00"))
    clock[0] = NOW + dt.timedelta(minutes=20)
    tick.run(threading.Event())  # the sync notices the change and queues a plan
    clock[0] += dt.timedelta(seconds=30)
    tick.run(threading.Event())  # which the next tick runs
    tuesday = [e for e in rina.events.values() if e.kind.value == "own_block" and e.start.day == 15]
    assert [(e.start, e.end) for e in tuesday] == [(at("2026-12-15 09:10"), at("2026-12-15 10:40"))]
