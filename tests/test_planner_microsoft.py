"""The planner through the real Microsoft 365 connector against the local Graph fake (HTTPS,
MSAL app tokens): blocks as busy, private, categorised events without attendees or
reminder, tagged with the block id; no write request when nothing changed; the owner
deleting, moving or renaming a block in Outlook; a meeting landing on a block."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from balanced_calendar.model.blockid import parse_block_id
from connectors.microsoft.mapping import BLOCK_PROPERTY, CATEGORY
from tests.fakes.graph import Running, graph_time
from tests.microsoft_helpers import connector, person, running_fake
from tests.planner_site import EMAIL, Site, at, make_site

NOW = "2026-12-13 20:00"


@pytest.fixture(scope="module")
def graph(tmp_path_factory) -> Iterator[Running]:
    yield from running_fake(tmp_path_factory.mktemp("graph"))


@pytest.fixture()
def run(graph: Running) -> Running:
    graph.fake.reset()
    graph.fake.mailbox(EMAIL)
    return graph


def site_on(run: Running, tmp_path: Path) -> Site:
    return make_site(tmp_path, connector=connector(run, tmp_path, who=person(EMAIL)), now=NOW)


def utc(value: dict[str, str]) -> dt.datetime:
    return dt.datetime.fromisoformat(value["dateTime"].split(".")[0]).replace(tzinfo=dt.timezone.utc)


def tag(item: dict[str, Any]) -> str:
    for prop in item.get("singleValueExtendedProperties") or ():
        if prop["id"] == BLOCK_PROPERTY:
            return str(prop["value"])
    return ""


def blocks(run: Running) -> list[dict[str, Any]]:
    """Own blocks as the mailbox holds them, by start."""
    return sorted((e for e in run.fake.mailbox(EMAIL).events.values() if tag(e)), key=lambda e: utc(e["start"]))


def on(run: Running, date: str) -> list[dict[str, Any]]:
    day = dt.date.fromisoformat(date)
    return [b for b in blocks(run) if utc(b["start"]).astimezone(at(NOW).tzinfo).date() == day]


def writes(run: Running) -> int:
    return sum(len(run.fake.graph_requests(m)) for m in ("POST", "PATCH", "DELETE"))


def meeting(run: Running, start: str, end: str) -> str:
    def party(address: str) -> dict[str, Any]:
        return {"emailAddress": {"address": address, "name": address.split("@")[0].title()}}
    return run.fake.put(EMAIL, {
        "subject": "Rapat", "type": "singleInstance", "start": graph_time(at(start)), "end": graph_time(at(end)),
        "isAllDay": False, "isCancelled": False, "showAs": "busy", "isOrganizer": False,
        "organizer": party("boss@agency.go.id"), "responseStatus": {"response": "accepted"}, "categories": [],
        "attendees": [{**party(EMAIL), "type": "required", "status": {"response": "accepted"}},
                      {**party("ani@agency.go.id"), "type": "required", "status": {"response": "accepted"}}]})


def test_blocks_are_private_busy_tagged_and_a_second_run_writes_nothing(run, tmp_path):
    site = site_on(run, tmp_path)
    first = site.plan()
    found = blocks(run)
    assert first.applied.done["create"] == len(found) == 10
    for block in found:
        assert (block["showAs"], block["sensitivity"], block["categories"]) == ("busy", "private", [CATEGORY])
        assert block["attendees"] == [] and block["isReminderOn"] is False and block["responseRequested"] is False
        assert block["subject"] == "Fokus kerja"
        key = parse_block_id(tag(block))
        assert key is not None and key.kind == "focus" and key.pseudonym == site.person.pseudonym
    assert (utc(found[0]["start"]), utc(found[0]["end"])) == (at("2026-12-14 07:30"), at("2026-12-14 09:30"))
    keys = {b["id"]: b["changeKey"] for b in found}
    before = writes(run)
    second = site.plan()
    assert second.diff.changes == () and second.diff.unchanged == 10
    assert writes(run) == before  # not one write request
    assert {b["id"]: b["changeKey"] for b in blocks(run)} == keys


def test_a_block_the_owner_deleted_in_outlook_is_not_recreated(run, tmp_path):
    site = site_on(run, tmp_path)
    site.plan()
    [gone] = on(run, "2026-12-16")
    run.fake.remove(EMAIL, gone["id"])
    result = site.plan()
    assert [c.op for c in result.diff.changes] == ["tombstone"]
    before = writes(run)
    assert site.plan().diff.changes == ()
    assert writes(run) == before
    assert on(run, "2026-12-16") == [] and len(blocks(run)) == 9


def test_a_block_the_owner_moved_in_outlook_is_left_alone(run, tmp_path):
    site = site_on(run, tmp_path)
    site.plan()
    [block] = on(run, "2026-12-17")
    run.fake.edit(EMAIL, block["id"], start=graph_time(at("2026-12-17 14:00")), end=graph_time(at("2026-12-17 15:30")))
    assert [c.op for c in site.plan().diff.changes] == ["edited"]
    meeting(run, "2026-12-17 14:30", "2026-12-17 15:00")  # even a meeting over it later
    before = writes(run)
    site.plan()
    assert writes(run) == before
    [kept] = on(run, "2026-12-17")
    assert kept["id"] == block["id"]
    assert (utc(kept["start"]), utc(kept["end"])) == (at("2026-12-17 14:00"), at("2026-12-17 15:30"))


def test_a_block_the_owner_renamed_in_outlook_is_theirs(run, tmp_path):
    site = site_on(run, tmp_path)
    site.plan()
    [block] = on(run, "2026-12-15")
    run.fake.edit(EMAIL, block["id"], subject="Menulis laporan")
    assert [c.op for c in site.plan().diff.changes] == ["edited"]
    meeting(run, "2026-12-15 08:00", "2026-12-15 09:00")  # would move it, were it still ours
    before = writes(run)
    site.plan()
    assert writes(run) == before
    [kept] = on(run, "2026-12-15")
    assert kept["subject"] == "Menulis laporan" and utc(kept["start"]) == at("2026-12-15 07:30")


def test_a_meeting_booked_over_a_block_moves_it(run, tmp_path):
    site = site_on(run, tmp_path)
    site.plan()
    [block] = on(run, "2026-12-15")
    meeting(run, "2026-12-15 08:00", "2026-12-15 09:00")
    run.fake.log.clear()
    result = site.plan()
    assert [c.op for c in result.diff.changes] == ["move"]
    assert [r.method for r in run.fake.graph_requests() if r.method != "GET"] == ["PATCH"]
    [moved] = on(run, "2026-12-15")
    assert moved["id"] == block["id"] and moved["subject"] == "Fokus kerja"
    assert (utc(moved["start"]), utc(moved["end"])) == (at("2026-12-15 09:10"), at("2026-12-15 11:10"))
    assert len(blocks(run)) == 10
