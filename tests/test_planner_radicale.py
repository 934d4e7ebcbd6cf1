"""The planner against a real Radicale server through the CalDAV connector: real writes and
re-reads, the owner deleting and moving blocks in another client, a meeting landing on a
block, and a planner process killed with SIGKILL between a write and the store update."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

from balanced_calendar.model import Event, Kind, Window
from connectors._dav_http import DavSession
from connectors._dav_quirks import quirks_for
from connectors.dav import CaldavConnector, block_name
from tests.planner_site import EMAIL, Site, at, make_site
from tests.radicale_server import Calendar, calendar, radicale  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-12-13 20:00"
MEETING = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
           "DTSTAMP:20261201T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\nSUMMARY:Rapat\r\n"
           "ORGANIZER:mailto:boss@agency.go.id\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:" + EMAIL + "\r\n"
           "ATTENDEE;PARTSTAT=ACCEPTED:mailto:ani@agency.go.id\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def connect(cal: Calendar) -> CaldavConnector:
    return CaldavConnector(DavSession(cal.url, cal.username, cal.password), cal.url,
                           quirks=quirks_for("radicale"), owner=EMAIL, allow_write=True)


def site_on(cal: Calendar, tmp_path: Path) -> Site:
    return make_site(tmp_path, connector=connect(cal), now=NOW)


def blocks(cal: Calendar) -> list[Event]:
    """Own blocks as a fresh client reads them from the server."""
    tz = at(NOW).tzinfo
    window = Window(at("2026-12-13 00:00"), at("2027-01-20 00:00"))
    return sorted((e for e in connect(cal).read(window, tz) if e.kind is Kind.OWN_BLOCK), key=lambda e: e.start)


def on(cal: Calendar, date: str) -> list[Event]:
    return [b for b in blocks(cal) if b.start.date() == dt.date.fromisoformat(date)]


def utc(when: str) -> str:
    return at(when).astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def test_blocks_are_written_read_back_and_a_second_run_changes_nothing(calendar, tmp_path):  # noqa: F811
    site = site_on(calendar, tmp_path)
    site.plan()
    found = blocks(calendar)
    assert len(found) == 10 and {b.title for b in found} == {"Fokus kerja"}
    assert (found[0].start, found[0].end) == (at("2026-12-14 07:30"), at("2026-12-14 09:30"))
    assert sorted(calendar.names()) == sorted(block_name(b.uid) for b in found)
    etags = {b.uid: b.ref.etag for b in found}
    again = site.plan()
    assert again.diff.changes == ()
    assert {b.uid: b.ref.etag for b in blocks(calendar)} == etags  # nothing rewritten


def test_a_block_the_owner_deleted_stays_deleted(calendar, tmp_path):  # noqa: F811
    site = site_on(calendar, tmp_path)
    site.plan()
    [gone] = on(calendar, "2026-12-16")
    calendar.delete(block_name(gone.uid))
    result = site.plan()
    assert [c.op for c in result.diff.changes] == ["tombstone"]
    site.plan()
    assert on(calendar, "2026-12-16") == [] and len(blocks(calendar)) == 9


def test_a_block_the_owner_moved_is_left_alone(calendar, tmp_path):  # noqa: F811
    site = site_on(calendar, tmp_path)
    site.plan()
    [block] = on(calendar, "2026-12-17")
    name = block_name(block.uid)
    text = calendar.get(name)
    assert text is not None
    text = re.sub(r"DTSTART[^\r\n]*", "DTSTART:" + utc("2026-12-17 14:00"), text)
    text = re.sub(r"DTEND[^\r\n]*", "DTEND:" + utc("2026-12-17 15:30"), text)
    calendar.put(name, text)
    calendar.put("m1.ics", MEETING.format(uid="m1", start=utc("2026-12-17 14:30"), end=utc("2026-12-17 15:00")))
    site.plan()
    site.plan()
    [kept] = on(calendar, "2026-12-17")
    assert (kept.start, kept.end) == (at("2026-12-17 14:00"), at("2026-12-17 15:30"))


def test_a_meeting_over_a_block_moves_the_block(calendar, tmp_path):  # noqa: F811
    site = site_on(calendar, tmp_path)
    site.plan()
    calendar.put("m2.ics", MEETING.format(uid="m2", start=utc("2026-12-15 08:00"), end=utc("2026-12-15 09:00")))
    result = site.plan()
    assert [c.op for c in result.diff.changes] == ["move"]
    [moved] = on(calendar, "2026-12-15")
    assert (moved.start, moved.end) == (at("2026-12-15 09:10"), at("2026-12-15 11:10"))
    assert len(calendar.names()) == 11  # ten blocks and the meeting: no second copy


def test_kill_9_between_the_write_and_the_store_update_then_rerun(calendar, tmp_path):  # noqa: F811
    child = subprocess.run([sys.executable, "-m", "tests.planner_kill_child", str(tmp_path), calendar.url,
                            calendar.username, calendar.password, NOW], cwd=ROOT, capture_output=True, text=True,
                           timeout=120)
    assert child.returncode == -9, child.stderr[-2000:]
    assert len(blocks(calendar)) == 1  # written, but never recorded
    site = site_on(calendar, tmp_path)
    assert site.store.own_blocks(EMAIL) == []
    result = site.plan()
    assert result.diff.counts()["adopt"] == 1 and result.diff.counts()["create"] == 9
    found = blocks(calendar)
    assert len(found) == len({b.uid for b in found}) == 10
    assert len(calendar.names()) == 10
