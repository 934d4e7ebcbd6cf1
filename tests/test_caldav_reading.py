"""Reading real CalDAV data from Radicale: recurring series with moved and cancelled
instances, all-day and multi-day events, Windows and IANA zones, own blocks. Each fixture
file is stored the way CalDAV clients store it (one resource per UID, its VTIMEZONEs copied
in) and must read exactly as the ICS connector reads the original file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from balanced_calendar.model import Kind, Response, Window
from connectors._dav_http import DavSession
from connectors._dav_quirks import quirks_for
from connectors.dav import CaldavConnector
from connectors.ics import IcsConnector
from tests.radicale_server import Calendar, calendar, radicale  # noqa: F401

FIXTURES = Path(__file__).parent / "fixtures" / "ics"
MAKASSAR = ZoneInfo("Asia/Makassar")
JAKARTA = ZoneInfo("Asia/Jakarta")
DECEMBER = Window(dt.datetime(2026, 10, 19, tzinfo=JAKARTA), dt.datetime(2027, 1, 11, tzinfo=JAKARTA))


def upload_split(cal: Calendar, path: Path) -> int:
    """Store ``path`` as one resource per UID (with every VTIMEZONE); returns the count."""
    source = icalendar.Calendar.from_ical(path.read_text())
    zones = [c for c in source.subcomponents if c.name == "VTIMEZONE"]
    groups: dict[str, list[icalendar.Component]] = {}
    for event in source.walk("VEVENT"):
        groups.setdefault(str(event["UID"]), []).append(event)
    for number, (uid, events) in enumerate(groups.items()):
        resource = icalendar.Calendar()
        for key, value in source.property_items(recursive=False):
            if key not in ("BEGIN", "END"):
                resource.add(key, value)
        for component in zones + events:
            resource.add_component(component)
        cal.put(f"event-{number}.ics", resource.to_ical().decode())
    return len(groups)


def caldav_reader(cal: Calendar, owner: str) -> CaldavConnector:
    session = DavSession(cal.url, cal.username, cal.password)
    return CaldavConnector(session, cal.url, quirks=quirks_for("radicale"), owner=owner)


CASES = [
    ("series_with_moved_and_cancelled_instance.ics", "komang.ayu@pemprov-bali.go.id", MAKASSAR),
    ("all_day_and_multi_day.ics", "rina.kusuma@kemenkeu.go.id", JAKARTA),
    ("outlook_windows_tzid_se_asia.ics", "agus.salim@bappenas.go.id", JAKARTA),
    ("outlook_customized_time_zone_plus8.ics", "rina.kusuma@kemenkeu.go.id", MAKASSAR),
    ("weekly_standup_rrule_exdate_jakarta.ics", "rina.kusuma@kemenkeu.go.id", JAKARTA),
    ("dst_zone_new_york.ics", "rina.kusuma@kemenkeu.go.id", JAKARTA),
    ("event_crossing_midnight_wita.ics", "rina.kusuma@kemenkeu.go.id", MAKASSAR),
    ("partstat_declined_tentative_needs_action.ics", "rina.kusuma@kemenkeu.go.id", JAKARTA),
    ("transparent_and_busystatus_oof.ics", "rina.kusuma@kemenkeu.go.id", JAKARTA),
    ("utc_and_floating_times.ics", "rina.kusuma@kemenkeu.go.id", JAKARTA),
    ("own_block_x_balanced_calendar_id.ics", "rina.kusuma@kemenkeu.go.id", JAKARTA),
]


@pytest.mark.parametrize(("name", "owner", "zone"), CASES, ids=[c[0].removesuffix(".ics") for c in CASES])
def test_caldav_reads_a_calendar_exactly_as_its_ics_export(calendar: Calendar, name: str, owner: str,  # noqa: F811
                                                           zone: ZoneInfo) -> None:
    assert upload_split(calendar, FIXTURES / name) >= 1
    expected = IcsConnector(str(FIXTURES / name), owner=owner, calendar="caldav").read(DECEMBER, zone)
    got = caldav_reader(calendar, owner).read(DECEMBER, zone)
    assert expected, "the fixture has events in the window"
    assert [(e.uid, e.start, e.end, e.all_day, e.response, e.show_as, e.kind, e.others, e.title)
            for e in got] == [(e.uid, e.start, e.end, e.all_day, e.response, e.show_as, e.kind, e.others, e.title)
                              for e in expected]


def test_moved_instance_is_read_at_its_new_time_and_the_cancelled_one_not_at_all(calendar):  # noqa: F811
    upload_split(calendar, FIXTURES / "series_with_moved_and_cancelled_instance.ics")
    events = caldav_reader(calendar, "komang.ayu@pemprov-bali.go.id").read(DECEMBER, MAKASSAR)
    starts = [e.start for e in events]
    assert dt.datetime(2026, 12, 17, 14, tzinfo=MAKASSAR) in starts  # moved from Tue 15 to Thu 17
    assert dt.datetime(2026, 12, 15, 10, tzinfo=MAKASSAR) not in starts
    assert dt.datetime(2026, 12, 22, 10, tzinfo=MAKASSAR) not in starts  # cancelled
    assert all(e.response is Response.ACCEPTED for e in events)


def test_the_incremental_read_of_a_series_removes_a_newly_cancelled_instance(calendar):  # noqa: F811
    """Cancelling one more instance changes the series' resource: that instance's uid is gone."""
    path = FIXTURES / "series_with_moved_and_cancelled_instance.ics"
    upload_split(calendar, path)
    first = caldav_reader(calendar, "komang.ayu@pemprov-bali.go.id").read_changes(DECEMBER, MAKASSAR, None)
    dropped = "0b5d7a2e-4c1f-4e8a-9d63-2f7c1e5a9b40/2026-12-29T02:00:00Z"
    assert dropped in {e.uid for e in first.upserts}
    text = path.read_text().replace("RRULE:FREQ=WEEKLY;COUNT=6;BYDAY=TU",
                                    "RRULE:FREQ=WEEKLY;COUNT=6;BYDAY=TU\r\nEXDATE;TZID=Asia/Makassar:20261229T100000")
    source = icalendar.Calendar.from_ical(text)
    series = [c for c in source.walk("VEVENT") if str(c["UID"]).startswith("0b5d7a2e")]
    resource = icalendar.Calendar()
    resource.add("prodid", "-//test//EN")
    resource.add("version", "2.0")
    for component in [c for c in source.subcomponents if c.name == "VTIMEZONE"] + series:
        resource.add_component(component)
    calendar.put("event-0.ics", resource.to_ical().decode())
    changes = caldav_reader(calendar, "komang.ayu@pemprov-bali.go.id").read_changes(DECEMBER, MAKASSAR, first.state)
    assert not changes.full
    assert dropped in changes.removed
    assert dropped not in {e.uid for e in changes.upserts}
    assert len(changes.upserts) == len([e for e in first.upserts if e.uid.startswith("0b5d7a2e")]) - 1


def test_own_blocks_carry_their_reference_and_title_and_nothing_else_does(calendar):  # noqa: F811
    upload_split(calendar, FIXTURES / "own_block_x_balanced_calendar_id.ics")
    events = caldav_reader(calendar, "rina.kusuma@kemenkeu.go.id").read(DECEMBER, JAKARTA)
    own = [e for e in events if e.kind is Kind.OWN_BLOCK]
    assert own and all(e.ref is not None and e.ref.block_id == e.uid and e.ref.etag for e in own)
    assert all(e.title is None and e.ref is None for e in events if e.kind is not Kind.OWN_BLOCK)


def test_a_series_too_dense_to_expand_is_left_out_and_reported_not_hidden(calendar):  # noqa: F811
    upload_split(calendar, FIXTURES / "all_day_and_multi_day.ics")
    calendar.put("broken.ics", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\n"
                 "UID:broken-1\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:20261214T090000Z\r\n"
                 "DTEND:20261214T100000Z\r\nRRULE:FREQ=MINUTELY;COUNT=100\r\nSUMMARY:Rahasia\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    reader = caldav_reader(calendar, "rina.kusuma@kemenkeu.go.id")
    events = reader.read(DECEMBER, JAKARTA)
    assert events and "broken-1" not in {e.uid.split("/")[0] for e in events}
    assert len(reader.skipped) == 1 and "Rahasia" not in reader.skipped[0].public


@pytest.mark.parametrize(("kind", "tzid", "expected"), [("radicale", "Asia/Makassar", "Asia/Makassar"),
                                                        ("zimbra", "Tokyo Standard Time", "Asia/Tokyo")])
def test_a_full_read_reports_the_calendars_own_zone_when_asked(calendar, kind, tzid, expected):  # noqa: F811
    calendar.set_zone(tzid)
    session = DavSession(calendar.url, calendar.username, calendar.password)
    hinted = CaldavConnector(session, calendar.url, quirks=quirks_for(kind), zone_hint=True)
    first = hinted.read_changes(DECEMBER, JAKARTA, None)
    assert first.zone == expected
    assert hinted.read_changes(DECEMBER, JAKARTA, first.state).zone is None  # incremental: not looked up again
    fixed = CaldavConnector(DavSession(calendar.url, calendar.username, calendar.password), calendar.url,
                            quirks=quirks_for(kind), zone_hint=False)
    assert fixed.read_changes(DECEMBER, JAKARTA, None).zone is None
