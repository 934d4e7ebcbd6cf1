"""The planner through the real Google connector against the local Google Calendar fake:
focus blocks as native focus time with the person's auto-decline mode, no write request
when nothing changed, the owner deleting or moving blocks in Google Calendar, a meeting
landing on a block, an account that refuses focus time, and recovery blocks as plain
private busy events. The person's planner ``google_auto_decline`` reaches the connector
through the runtime (two people, two modes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from balanced_calendar.config import load_config
from balanced_calendar.enrollment import EnrollRequest, enroll
from balanced_calendar.model.blockid import parse_block_id
from balanced_calendar.planner.command import plan_one
from balanced_calendar.runtime import open_runtime
from balanced_calendar.vault import write_key
from connectors.plugin import MemoryCredentials
from tests.fakes.google_calendar import FakeGoogle
from tests.fakes.google_support import fake, sa_file  # noqa: F401 - module fixtures
from tests.fakes.google_support import connector, domain_settings, register_service_account
from tests.planner_site import EMAIL, Site, at, make_site

NOW = "2026-12-13 20:00"
WRITES = ("events.insert", "events.patch", "events.delete")
TAG = "balancedCalendarId"


@pytest.fixture()
def google(fake: FakeGoogle, sa_file: Path) -> Iterator[FakeGoogle]:
    fake.reset()
    fake.user(EMAIL)
    yield fake
    assert fake.schema_errors == []


def site_on(fake: FakeGoogle, sa_file: Path, tmp_path: Path, *, auto_decline: str = "off",
            secret: MemoryCredentials | None = None) -> Site:
    settings = domain_settings(fake, sa_file)
    conn = connector(settings, EMAIL, protect=True, secret=secret or MemoryCredentials(), auto_decline=auto_decline)
    return make_site(tmp_path, connector=conn, now=NOW)


def stamp(when: str) -> dict[str, str]:
    return {"dateTime": at(when).isoformat(), "timeZone": "Asia/Jakarta"}


def meeting(fake: FakeGoogle, start: str, end: str, email: str = EMAIL) -> str:
    """A meeting someone else booked with the owner and a colleague, accepted."""
    return fake.put(email, {"summary": "Rapat", "start": stamp(start), "end": stamp(end),
                            "organizer": {"email": "boss@agency.go.id"},
                            "attendees": [{"email": email, "self": True, "responseStatus": "accepted"},
                                          {"email": "boss@agency.go.id", "organizer": True,
                                           "responseStatus": "accepted"},
                                          {"email": "ani@agency.go.id", "responseStatus": "accepted"}]})


def when(value: dict[str, str]) -> dt.datetime:
    return dt.datetime.fromisoformat(value["dateTime"])


def blocks(fake: FakeGoogle, email: str = EMAIL) -> list[dict[str, Any]]:
    """Own blocks as Google holds them, by start."""
    items = [e for e in fake.calendar(email).events.values()
             if e.get("status") != "cancelled" and TAG in ((e.get("extendedProperties") or {}).get("private") or {})]
    return sorted(items, key=lambda e: when(e["start"]))


def kind(item: dict[str, Any]) -> str:
    key = parse_block_id(item["extendedProperties"]["private"][TAG])
    assert key is not None
    return key.kind


def on(fake: FakeGoogle, date: str) -> list[dict[str, Any]]:
    return [b for b in blocks(fake) if when(b["start"]).date() == dt.date.fromisoformat(date)]


def writes(fake: FakeGoogle) -> int:
    return sum(fake.count(op) for op in WRITES)


def test_focus_blocks_are_native_focus_time_and_a_second_run_writes_nothing(google, sa_file, tmp_path):
    site = site_on(google, sa_file, tmp_path, auto_decline="new")
    first = site.plan()
    found = blocks(google)
    assert first.applied.done["create"] == len(found) == 10
    assert {kind(b) for b in found} == {"focus"}
    for block in found:
        assert block["eventType"] == "focusTime"
        assert block["focusTimeProperties"] == {"autoDeclineMode": "declineOnlyNewConflictingInvitations"}
        assert (block["transparency"], block["visibility"], block["summary"]) == ("opaque", "private", "Fokus kerja")
        assert "attendees" not in block and block["reminders"] == {"useDefault": False}
    inserts = [s for s in google.seen if s.op == "events.insert"]
    assert {s.query["sendUpdates"] for s in inserts} == {"none"}
    assert (when(found[0]["start"]), when(found[0]["end"])) == (at("2026-12-14 07:30"), at("2026-12-14 09:30"))
    etags = {b["id"]: b["etag"] for b in found}
    before = writes(google)
    second = site.plan()
    assert second.diff.changes == () and second.diff.unchanged == 10
    assert writes(google) == before  # not one write request
    assert {b["id"]: b["etag"] for b in blocks(google)} == etags


def test_a_block_the_owner_deleted_in_google_is_not_recreated(google, sa_file, tmp_path):
    site = site_on(google, sa_file, tmp_path)
    site.plan()
    [gone] = on(google, "2026-12-16")
    google.remove(EMAIL, gone["id"])
    result = site.plan()
    assert [c.op for c in result.diff.changes] == ["tombstone"]
    before = writes(google)
    again = site.plan()
    assert again.diff.changes == () and writes(google) == before
    assert on(google, "2026-12-16") == [] and len(blocks(google)) == 9


def test_a_block_the_owner_moved_in_google_is_left_alone(google, sa_file, tmp_path):
    site = site_on(google, sa_file, tmp_path)
    site.plan()
    [block] = on(google, "2026-12-17")
    google.edit(EMAIL, block["id"], start=stamp("2026-12-17 14:00"), end=stamp("2026-12-17 15:30"))
    result = site.plan()
    assert [c.op for c in result.diff.changes] == ["edited"]
    meeting(google, "2026-12-17 14:30", "2026-12-17 15:00")  # even a meeting over it later
    before = writes(google)
    site.plan()
    assert writes(google) == before
    [kept] = on(google, "2026-12-17")
    assert kept["id"] == block["id"]
    assert (when(kept["start"]), when(kept["end"])) == (at("2026-12-17 14:00"), at("2026-12-17 15:30"))


def test_a_meeting_booked_over_a_block_moves_it(google, sa_file, tmp_path):
    site = site_on(google, sa_file, tmp_path)
    site.plan()
    [block] = on(google, "2026-12-15")
    meeting(google, "2026-12-15 08:00", "2026-12-15 09:00")
    result = site.plan()
    assert [c.op for c in result.diff.changes] == ["move"]
    [patch] = [s for s in google.seen if s.op == "events.patch"]
    assert patch.headers.get("if-match") == block["etag"] and patch.query["sendUpdates"] == "none"
    [moved] = on(google, "2026-12-15")
    assert moved["id"] == block["id"] and moved["eventType"] == "focusTime"
    assert (when(moved["start"]), when(moved["end"])) == (at("2026-12-15 09:10"), at("2026-12-15 11:10"))
    assert len(blocks(google)) == 10


def test_an_account_that_refuses_focus_time_gets_private_busy_blocks_and_it_is_remembered(google, sa_file,
                                                                                           tmp_path):
    google.user(EMAIL).focus_time = False
    secret = MemoryCredentials()
    site = site_on(google, sa_file, tmp_path, auto_decline="all", secret=secret)
    site.plan()
    found = blocks(google)
    assert len(found) == 10
    for block in found:
        assert (block["eventType"], block["visibility"], block["transparency"]) == ("default", "private", "opaque")
        assert "focusTimeProperties" not in block
    tried = [s for s in google.seen if s.op == "events.insert" and s.body.get("eventType") == "focusTime"]
    assert len(tried) == 1  # refused once, then never asked again
    assert google.count("events.insert") == 11
    # the next day a new connector (the next daemon run) plans one more workday: no focus-time attempt
    site.connector = connector(domain_settings(google, sa_file), EMAIL, protect=True, secret=secret,
                               auto_decline="all")
    site.now = at("2026-12-15 20:00")
    google.seen.clear()
    result = site.plan()
    assert result.applied.done["create"] == 1, result.diff.changes
    [insert] = [s for s in google.seen if s.op == "events.insert"]
    assert "eventType" not in insert.body and len(blocks(google)) == 11


def test_recovery_blocks_are_plain_private_busy_events_never_focus_time(google, sa_file, tmp_path):
    meeting(google, "2026-12-14 17:00", "2026-12-14 20:00")  # a late Monday earns Tuesday's recovery hour
    site = site_on(google, sa_file, tmp_path)
    site.plan()
    [recovery] = [b for b in blocks(google) if kind(b) == "recovery"]
    assert (when(recovery["start"]), when(recovery["end"])) == (at("2026-12-15 07:30"), at("2026-12-15 08:30"))
    assert recovery["summary"] == "Waktu pemulihan"
    assert (recovery["eventType"], recovery["visibility"], recovery["transparency"]) == (
        "default", "private", "opaque")
    assert "focusTimeProperties" not in recovery and "attendees" not in recovery
    assert {b["eventType"] for b in blocks(google) if kind(b) == "focus"} == {"focusTime"}
    # and still found as our own, unchanged, on the next run
    assert site.plan().diff.changes == ()


PEOPLE = {"rina@agency.go.id": "declineOnlyNewConflictingInvitations",  # [planner] for everyone: "new"
          "budi@agency.go.id": "declineAllConflictingInvitations"}  # his own planner table: "all"


def test_each_persons_auto_decline_mode_reaches_their_focus_blocks(fake, sa_file, tmp_path):
    fake.reset()
    for email in PEOPLE:
        fake.user(email)
    register_service_account(fake, tmp_path)
    write_key(tmp_path / "vault-key")
    (tmp_path / "config.toml").write_text(f'''
[service]
state_dir = "state"
vault_key_file = "vault-key"
timezone = "Asia/Jakarta"

[connectors.google]
mode = "domain"
service_account_file = "service-account.json"
api_endpoint = "{fake.url}"

[planner]
google_auto_decline = "new"

[[people]]
email = "rina@agency.go.id"
connector = "google"
protect = true
timezone = "Asia/Jakarta"

[[people]]
email = "budi@agency.go.id"
connector = "google"
protect = true
timezone = "Asia/Jakarta"
planner = {{ google_auto_decline = "all" }}
''')
    config = load_config(tmp_path / "config.toml")
    with open_runtime(config, environ={}, clock=lambda: at(NOW)) as rt:
        for email in PEOPLE:
            enroll(rt, EnrollRequest(email=email, provider="google", protect=True))
        for email, mode in PEOPLE.items():
            result = plan_one(rt, rt.store.get_person(email), apply=True, force=False)
            assert result.applied.done["create"] == 10
            found = blocks(fake, email)
            assert len(found) == 10
            assert {b["focusTimeProperties"]["autoDeclineMode"] for b in found} == {mode}
    assert fake.schema_errors == []
