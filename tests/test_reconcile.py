"""The config file owns a person's settings: edits reach the next sync and audit."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.test_service_cli import RINA, cli, site  # noqa: F401 - the shared site fixture

BUDI = "budi@agency.go.id"


def _with(config: Path, old: str, new: str) -> None:
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new))


def test_edited_zone_reaches_the_next_sync_and_audit(site):  # noqa: F811
    config = site / "config.toml"
    assert cli("enroll", "--config", str(config), "--provider", "ics", "--email", RINA, "--yes").returncode == 0
    assert cli("sync", "--config", str(config)).returncode == 0
    args = ["audit", "--config", str(config), "--person", RINA, "--start", "2026-12-14", "--end", "2026-12-14",
            "--format", "json"]
    before = json.loads(cli(*args).stdout)
    assert before["timezone"] == "Asia/Jakarta"

    _with(config, 'team = "keuangan"\n', 'team = "keuangan"\ntimezone = "Asia/Jayapura"\n')
    synced = cli("sync", "--config", str(config))
    assert synced.returncode == 0, synced.stdout + synced.stderr
    after = json.loads(cli(*args).stdout)
    assert after["timezone"] == "Asia/Jayapura"
    # the 08:00 WIB start of the fixture's Monday is 10:00 WIT
    assert (before["days"][0]["first_start"], after["days"][0]["first_start"]) == ("08:00", "10:00")
    db = sqlite3.connect(site / "state" / "state.sqlite3")
    assert db.execute("SELECT timezone FROM people").fetchone()[0] == "Asia/Jayapura"
    start, = db.execute("SELECT window_start FROM sync_state").fetchone()
    assert start.endswith("+09:00") or "T15:00:00" in start  # the window was read in the new zone


def test_edited_protect_and_digest_reach_the_record_and_the_connector(site):  # noqa: F811
    config = site / "config.toml"
    config.write_text(config.read_text() + f'\n[[people]]\nemail = "{BUDI}"\nconnector = "memory"\n')
    assert cli("enroll", "--config", str(config), "--provider", "memory", "--email", BUDI, "--yes").returncode == 0
    people = cli("people", "--config", str(config), "--show-addresses").stdout
    assert [ln.split()[4] for ln in people.splitlines() if BUDI in ln] == ["no"]

    config.write_text(config.read_text() + "protect = true\ndigest = false\n")
    people = cli("people", "--config", str(config), "--show-addresses").stdout
    assert [ln.split()[4:6] for ln in people.splitlines() if BUDI in ln] == [["yes", "no"]]

    from balanced_calendar.config import load_config
    from balanced_calendar.runtime import open_runtime

    with open_runtime(load_config(config)) as rt:
        assert not rt.connector_for(rt.store.get_person(BUDI)).read_only


def test_a_person_removed_from_the_config_is_reported_not_erased(site):  # noqa: F811
    config = site / "config.toml"
    assert cli("enroll", "--config", str(config), "--provider", "ics", "--email", RINA, "--yes").returncode == 0
    text = config.read_text()
    config.write_text(text[:text.index("[[people]]")].replace(f'leaders = ["{RINA}"]', "leaders = []"))
    status = cli("status", "--config", str(config))
    assert status.returncode == 0, status.stderr
    assert "not in the config" in status.stdout and "unenroll" in status.stdout
    assert cli("people", "--config", str(config)).stdout.count("p-") == 1  # still enrolled


def _memory_site(site: Path, entry: str) -> Path:  # noqa: F811
    config = site / "config.toml"
    config.write_text(config.read_text() + f'\n[[people]]\nemail = "{BUDI}"\nconnector = "memory"\n'
                      f'calendar = "budi-zone"\n{entry}')
    return config


def _sync_budi(config: Path) -> str:
    """Sync in this process (the memory calendar lives here) and return Budi's stored zone."""
    from balanced_calendar.config import load_config
    from balanced_calendar.reconcile import reconcile
    from balanced_calendar.runtime import open_runtime
    from balanced_calendar.sync import sync_all

    with open_runtime(load_config(config)) as rt:
        reconcile(rt.config, rt.store)
        report = sync_all(rt, people=[rt.store.get_person(BUDI)])
        assert not report.failed, report.describe()
        return rt.store.get_person(BUDI).timezone


def test_a_providers_zone_replaces_the_service_default_and_survives_reloads(site):  # noqa: F811
    from connectors.memory import SERVERS, MemoryCalendar

    SERVERS["budi-zone"] = MemoryCalendar(zone="Asia/Makassar")
    try:
        config = _memory_site(site, "")
        assert cli("enroll", "--config", str(config), "--provider", "memory", "--email", BUDI,
                   "--yes").returncode == 0
        assert _sync_budi(config) == "Asia/Makassar"
        assert _sync_budi(config) == "Asia/Makassar"  # the config reload does not put WIB back
    finally:
        del SERVERS["budi-zone"]


def test_a_zone_set_in_the_config_wins_over_the_providers(site):  # noqa: F811
    from connectors.memory import SERVERS, MemoryCalendar

    SERVERS["budi-zone"] = MemoryCalendar(zone="Asia/Makassar")
    try:
        config = _memory_site(site, 'timezone = "Asia/Jayapura"\n')
        assert cli("enroll", "--config", str(config), "--provider", "memory", "--email", BUDI,
                   "--yes").returncode == 0
        assert _sync_budi(config) == "Asia/Jayapura"
    finally:
        del SERVERS["budi-zone"]
