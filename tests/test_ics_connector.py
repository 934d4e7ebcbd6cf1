"""The ICS connector, fixture by fixture: what a user of an exported or published calendar sees."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from balanced_calendar.model import (
    Event,
    InputError,
    Kind,
    ProviderError,
    ReadOnlyConnector,
    Response,
    ShowAs,
    Status,
    Window,
)
from connectors import connector_class
from connectors._zones import to_zoneinfo
from connectors.ics import IcsConnector, ParsedCalendar, parse_calendar

FIXTURES = Path(__file__).parent / "fixtures" / "ics"
JAKARTA = ZoneInfo("Asia/Jakarta")
MAKASSAR = ZoneInfo("Asia/Makassar")
NEW_YORK = ZoneInfo("America/New_York")
APIA = ZoneInfo("Pacific/Apia")
UTC = dt.timezone.utc
RINA = "rina.kusuma@kemenkeu.go.id"


def at(tz: dt.tzinfo, *args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz)


def window(tz: dt.tzinfo, first: dt.date, last: dt.date) -> Window:
    """Local dates ``first``..``last`` inclusive, as the CLI's --start/--end mean them."""
    return Window(dt.datetime.combine(first, dt.time(), tzinfo=tz),
                  dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz))


DEC = window(JAKARTA, dt.date(2026, 12, 1), dt.date(2026, 12, 31))
WEEK = window(JAKARTA, dt.date(2026, 12, 14), dt.date(2026, 12, 20))


def read(name: str, win: Window = DEC, tz: dt.tzinfo = JAKARTA,
         owner: str | None = RINA) -> list[Event]:
    return IcsConnector(str(FIXTURES / name), owner=owner).read(win, tz)


def by_uid(events: list[Event]) -> dict[str, Event]:
    return {event.uid: event for event in events}


# -- recurrence ----------------------------------------------------------------------------
def test_weekly_standup_rrule_exdate_rdate_in_jakarta() -> None:
    events = read("weekly_standup_rrule_exdate_jakarta.ics", WEEK)
    uid = "3q1v8c0m2l5t9e4n6r7s8u0w1x@google.com"
    # Mon 14, (Wed 16 excluded by EXDATE), Fri 18, plus the extra Saturday 19 from RDATE
    assert [(e.start, e.end) for e in events] == [
        (at(JAKARTA, 2026, 12, 14, 8, 30), at(JAKARTA, 2026, 12, 14, 9, 0)),
        (at(JAKARTA, 2026, 12, 18, 8, 30), at(JAKARTA, 2026, 12, 18, 9, 0)),
        (at(JAKARTA, 2026, 12, 19, 8, 30), at(JAKARTA, 2026, 12, 19, 9, 0)),
    ]
    assert [e.uid for e in events] == [
        f"{uid}/2026-12-14T01:30:00Z", f"{uid}/2026-12-18T01:30:00Z", f"{uid}/2026-12-19T01:30:00Z",
    ]
    first = events[0]
    assert first.response is Response.ACCEPTED
    assert first.organizer_is_self is False
    # organizer Budi + Ade + Wayan; the meeting room (CUTYPE=RESOURCE) and Rina herself do not count
    assert first.others == 3
    assert first.status is Status.CONFIRMED and first.show_as is ShowAs.BUSY
    assert first.kind is Kind.EVENT and first.all_day is False and first.title is None


def test_weekly_standup_until_ends_the_series() -> None:
    events = read("weekly_standup_rrule_exdate_jakarta.ics",
                  window(JAKARTA, dt.date(2026, 12, 28), dt.date(2027, 1, 10)))
    assert [e.start.date() for e in events] == [dt.date(2026, 12, 28), dt.date(2026, 12, 30)]


def test_uids_are_stable_across_reads_and_instances() -> None:
    first = [e.uid for e in read("weekly_standup_rrule_exdate_jakarta.ics")]
    second = [e.uid for e in read("weekly_standup_rrule_exdate_jakarta.ics")]
    assert first == second
    assert len(set(first)) == len(first) == 11


def test_moved_instance_keeps_its_original_recurrence_id_and_cancelled_ones_vanish() -> None:
    events = read("series_with_moved_and_cancelled_instance.ics", DEC, MAKASSAR,
                  owner="komang.ayu@pemprov-bali.go.id")
    uid = "0b5d7a2e-4c1f-4e8a-9d63-2f7c1e5a9b40"
    # COUNT=6 Tuesdays from Dec 1: 1, 8, 15 (moved to Thu 17, 14:00-15:30), 22 (cancelled), 29,
    # and Jan 5; the cancelled weekly "senam pagi" series yields nothing at all.
    assert [(e.uid, e.start, e.end) for e in events] == [
        (f"{uid}/2026-12-01T02:00:00Z", at(MAKASSAR, 2026, 12, 1, 10), at(MAKASSAR, 2026, 12, 1, 11)),
        (f"{uid}/2026-12-08T02:00:00Z", at(MAKASSAR, 2026, 12, 8, 10), at(MAKASSAR, 2026, 12, 8, 11)),
        (f"{uid}/2026-12-15T02:00:00Z", at(MAKASSAR, 2026, 12, 17, 14),
         at(MAKASSAR, 2026, 12, 17, 15, 30)),
        (f"{uid}/2026-12-29T02:00:00Z", at(MAKASSAR, 2026, 12, 29, 10), at(MAKASSAR, 2026, 12, 29, 11)),
    ]
    assert all(e.response is Response.ACCEPTED and e.others == 2 for e in events)


def test_moved_instance_appears_where_it_was_moved_to_not_where_it_was() -> None:
    name = "series_with_moved_and_cancelled_instance.ics"
    original_day = read(name, window(MAKASSAR, dt.date(2026, 12, 15), dt.date(2026, 12, 15)), MAKASSAR)
    assert original_day == []
    new_day = read(name, window(MAKASSAR, dt.date(2026, 12, 17), dt.date(2026, 12, 17)), MAKASSAR)
    assert [e.start for e in new_day] == [at(MAKASSAR, 2026, 12, 17, 14)]


# -- zones ---------------------------------------------------------------------------------
def test_outlook_windows_zone_names_with_and_without_vtimezone() -> None:
    events = read("outlook_windows_tzid_se_asia.ics", WEEK, owner="agus.salim@bappenas.go.id")
    # "SE Asia Standard Time" (quoted, with VTIMEZONE) is UTC+7; "Tokyo Standard Time" has no
    # VTIMEZONE at all and is UTC+9
    assert [(e.start, e.end) for e in events] == [
        (at(UTC, 2026, 12, 15, 2), at(UTC, 2026, 12, 15, 3)),
        (at(UTC, 2026, 12, 16, 4), at(UTC, 2026, 12, 16, 5)),
    ]
    assert events[0].start.tzinfo is JAKARTA  # returned in the person's zone
    meeting = events[0]
    assert meeting.response is Response.NEEDS_ACTION  # listed without PARTSTAT
    assert meeting.others == 1 and meeting.organizer_is_self is False


def test_custom_vtimezones_are_per_file_even_with_the_same_tzid() -> None:
    # Outlook names every user-defined zone "Customized Time Zone"; two files, two offsets
    plus8 = read("outlook_customized_time_zone_plus8.ics", WEEK)
    plus9 = read("outlook_customized_time_zone_plus9.ics", WEEK)
    again8 = read("outlook_customized_time_zone_plus8.ics", WEEK)
    assert [e.start for e in plus8] == [at(UTC, 2026, 12, 15, 1)]
    assert [e.start for e in plus9] == [at(UTC, 2026, 12, 15, 0)]
    assert [e.start for e in again8] == [at(UTC, 2026, 12, 15, 1)]


@pytest.mark.parametrize("tz", [JAKARTA, MAKASSAR, APIA], ids=str)
def test_utc_times_are_absolute_and_floating_times_are_read_in_the_persons_zone(
        tz: ZoneInfo) -> None:
    events = by_uid(read("utc_and_floating_times.ics",
                         window(tz, dt.date(2026, 12, 14), dt.date(2026, 12, 16)), tz))
    briefing = events["2c9e4f10-5a1b-4d3e-9f70-utc-briefing"]
    assert (briefing.start, briefing.end) == (at(UTC, 2026, 12, 15, 2), at(UTC, 2026, 12, 15, 3))
    lunch = events["7d1a6b22-0c3e-4f59-8a14-floating-lunch"]
    assert (lunch.start, lunch.end) == (at(tz, 2026, 12, 15, 12), at(tz, 2026, 12, 15, 13))
    assert lunch.start.tzinfo is tz


def test_floating_recurring_series_uses_floating_recurrence_ids() -> None:
    events = read("utc_and_floating_times.ics", DEC, MAKASSAR)
    review = [e for e in events if e.uid.startswith("9e8f7a6b")]
    assert [e.uid for e in review] == [
        "9e8f7a6b-floating-weekly-review/2026-12-11T15:00:00",
        "9e8f7a6b-floating-weekly-review/2026-12-18T15:00:00",
        "9e8f7a6b-floating-weekly-review/2026-12-25T15:00:00",
    ]
    assert review[0].start == at(MAKASSAR, 2026, 12, 11, 15)


def test_dst_zone_keeps_local_time_across_the_change() -> None:
    autumn = window(JAKARTA, dt.date(2026, 10, 20), dt.date(2026, 11, 30))
    events = read("dst_zone_new_york.ics", autumn, JAKARTA)
    # 09:00 New York every Monday: EDT (UTC-4) on Oct 26, EST (UTC-5) after Nov 1
    assert [e.start for e in events] == [
        at(UTC, 2026, 10, 26, 13), at(UTC, 2026, 11, 2, 14), at(UTC, 2026, 11, 9, 14),
    ]
    local = read("dst_zone_new_york.ics",
                 window(NEW_YORK, dt.date(2026, 10, 20), dt.date(2026, 11, 30)), NEW_YORK)
    assert {(e.start.hour, e.end.hour) for e in local} == {(9, 10)}


def test_x_wr_timezone_expands_utc_series_in_the_calendars_zone() -> None:
    # Google writes UTC times and says in X-WR-TIMEZONE where the series lives
    autumn = window(JAKARTA, dt.date(2026, 10, 20), dt.date(2026, 11, 30))
    events = read("x_wr_timezone_utc_series_new_york.ics", autumn, JAKARTA)
    assert [e.start for e in events] == [
        at(UTC, 2026, 10, 26, 13), at(UTC, 2026, 11, 2, 14), at(UTC, 2026, 11, 9, 14),
    ]


def test_event_crossing_midnight_in_wita_is_returned_for_both_days() -> None:
    name = "event_crossing_midnight_wita.ics"
    expected = [(at(MAKASSAR, 2026, 12, 16, 22), at(MAKASSAR, 2026, 12, 17, 2))]
    for day in (dt.date(2026, 12, 16), dt.date(2026, 12, 17)):
        events = read(name, window(MAKASSAR, day, day), MAKASSAR)
        assert [(e.start, e.end) for e in events] == expected
    assert read(name, window(MAKASSAR, dt.date(2026, 12, 18), dt.date(2026, 12, 18)), MAKASSAR) == []


# -- all-day, durations --------------------------------------------------------------------
def test_all_day_and_multi_day_events_are_dates_with_exclusive_end() -> None:
    events = read("all_day_and_multi_day.ics", WEEK)
    assert [(e.uid, e.start, e.end) for e in events] == [
        ("1a2b3c4d5e6f7g8h9i0j@google.com", dt.date(2026, 12, 15), dt.date(2026, 12, 16)),
        ("2b3c4d5e6f7g8h9i0j1k@google.com", dt.date(2026, 12, 16), dt.date(2026, 12, 19)),
        ("4d5e6f7g8h9i0j1k2l3m@google.com/2026-12-18", dt.date(2026, 12, 18), dt.date(2026, 12, 19)),
    ]
    assert all(e.all_day for e in events)
    assert [e.show_as for e in events] == [ShowAs.FREE, ShowAs.BUSY, ShowAs.FREE]


def test_all_day_without_dtend_lasts_one_day() -> None:
    day = dt.date(2026, 12, 21)
    events = read("all_day_and_multi_day.ics", window(JAKARTA, day, day))
    assert [(e.start, e.end, e.all_day) for e in events] == [(day, dt.date(2026, 12, 22), True)]


def test_all_day_dates_are_days_in_the_persons_zone() -> None:
    name = "all_day_and_multi_day.ics"
    just_before = Window(at(JAKARTA, 2026, 12, 14, 12), at(JAKARTA, 2026, 12, 15, 0))
    assert read(name, just_before) == []
    first_minute = Window(at(JAKARTA, 2026, 12, 14, 12), at(JAKARTA, 2026, 12, 15, 0, 1))
    assert [e.start for e in read(name, first_minute)] == [dt.date(2026, 12, 15)]


def test_duration_missing_dtend_and_reversed_events() -> None:
    events = by_uid(read("duration_and_missing_dtend.ics", WEEK))
    assert (events["duration-45-minutes"].start, events["duration-45-minutes"].end) == (
        at(JAKARTA, 2026, 12, 15, 9), at(JAKARTA, 2026, 12, 15, 9, 45))
    # RFC 5545: a timed event without DTEND or DURATION takes no time
    assert events["timed-without-dtend"].start == events["timed-without-dtend"].end == at(
        JAKARTA, 2026, 12, 15, 11)
    # DTEND before DTSTART and a negative DURATION: zero length at the start
    assert events["end-before-start"].start == events["end-before-start"].end == at(
        JAKARTA, 2026, 12, 15, 14)
    assert events["negative-duration"].start == events["negative-duration"].end == at(
        JAKARTA, 2026, 12, 15, 15)


# -- show_as, kind, response ---------------------------------------------------------------
def test_transparency_and_outlook_busy_status() -> None:
    events = by_uid(read("transparent_and_busystatus_oof.ics", WEEK))
    assert {uid: (e.show_as, e.kind) for uid, e in events.items()} == {
        "busystatus-transparent-reminder": (ShowAs.FREE, Kind.EVENT),
        "busystatus-oof-cuti": (ShowAs.OOF, Kind.OUT_OF_OFFICE),
        "busystatus-tentative": (ShowAs.TENTATIVE, Kind.EVENT),
        "busystatus-working-elsewhere": (ShowAs.WORKING_ELSEWHERE, Kind.EVENT),
        "busystatus-free-overrides-opaque": (ShowAs.FREE, Kind.EVENT),
        "busystatus-busy-overrides-transparent": (ShowAs.BUSY, Kind.EVENT),
        "busystatus-oof-timed": (ShowAs.OOF, Kind.OUT_OF_OFFICE),
    }
    leave = events["busystatus-oof-cuti"]
    assert (leave.all_day, leave.start, leave.end) == (True, dt.date(2026, 12, 15), dt.date(2026, 12, 17))


def test_owner_response_others_and_organizer() -> None:
    events = by_uid(read("partstat_declined_tentative_needs_action.ics", WEEK,
                         owner="MAILTO:Rina.Kusuma@kemenkeu.go.id"))
    summary = {uid: (e.response, e.organizer_is_self, e.others, e.status)
               for uid, e in events.items()}
    assert summary == {
        "partstat-declined@google.com": (Response.DECLINED, False, 1, Status.CONFIRMED),
        # owner's address differs only in case; STATUS:TENTATIVE is the event's own status
        "partstat-tentative@google.com": (Response.TENTATIVE, False, 2, Status.TENTATIVE),
        # Sari (organizer, also an attendee) + Agus; the minute taker (NON-PARTICIPANT) and
        # the room do not count
        "partstat-needs-action@google.com": (Response.NEEDS_ACTION, False, 2, Status.CONFIRMED),
        # organizer is Rina (MAILTO:, other case); Ade is listed twice but is one person
        "partstat-organizer@google.com": (Response.ORGANIZER, True, 1, Status.CONFIRMED),
        "partstat-delegated@google.com": (Response.DECLINED, False, 2, Status.CONFIRMED),
        "partstat-missing-means-needs-action@google.com":
            (Response.NEEDS_ACTION, False, 1, Status.CONFIRMED),
        "personal-no-organizer-no-attendees@google.com":
            (Response.ORGANIZER, True, 0, Status.CONFIRMED),
        # invited through a group address: Rina's own answer is not in the file
        "owner-not-listed@google.com": (Response.UNKNOWN, False, 2, Status.CONFIRMED),
    }


def test_without_an_owner_only_personal_events_are_the_owners() -> None:
    events = by_uid(read("partstat_declined_tentative_needs_action.ics", WEEK, owner=None))
    assert events["personal-no-organizer-no-attendees@google.com"].response is Response.ORGANIZER
    assert events["partstat-declined@google.com"].response is Response.UNKNOWN
    assert events["partstat-declined@google.com"].others == 2


def test_own_block_keeps_its_id_and_title_and_nothing_else_does() -> None:
    events = read("own_block_x_balanced_calendar_id.ics", WEEK, owner="rina.kusuma@example.go.id")
    block, meeting = events
    assert (block.uid, block.kind, block.title) == (
        "bc-focus-2026-12-15-1", Kind.OWN_BLOCK, "Fokus (Balanced Calendar)")
    assert (block.start, block.end) == (at(JAKARTA, 2026, 12, 15, 7, 30), at(JAKARTA, 2026, 12, 15, 9, 30))
    assert meeting.kind is Kind.EVENT and meeting.title is None
    assert meeting.response is Response.ACCEPTED and meeting.others == 1


READABLE = sorted(p.name for p in FIXTURES.glob("*.ics") if not p.name.startswith("malformed_"))


@pytest.mark.parametrize("name", READABLE)
def test_no_title_description_location_or_address_leaves_the_connector(name: str) -> None:
    secrets: set[str] = set()
    calendar = icalendar.Calendar.from_ical((FIXTURES / name).read_bytes())
    for component in calendar.walk("VEVENT"):
        if "X-BALANCED-CALENDAR-ID" in component:
            continue
        for prop in ("SUMMARY", "DESCRIPTION", "LOCATION", "ORGANIZER", "ATTENDEE"):
            values = component.get(prop, [])
            for value in values if isinstance(values, list) else [values]:
                secrets.add(str(value).lower().removeprefix("mailto:"))
    events = read(name, window(JAKARTA, dt.date(2026, 10, 1), dt.date(2026, 12, 31)))
    assert events, name
    dumped = repr(events).lower()
    leaked = [s for s in secrets if s and s in dumped]
    assert leaked == []
    assert all(e.title is None for e in events if e.kind is not Kind.OWN_BLOCK)


def test_logs_carry_no_titles_or_addresses(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    read("partstat_declined_tentative_needs_action.ics", WEEK)
    read("own_block_x_balanced_calendar_id.ics", WEEK)
    text = caplog.text.lower()
    for secret in ("rapat", "kemenkeu.go.id", "mutasi", "sekjen", "fokus"):
        assert secret not in text


# -- bad input -----------------------------------------------------------------------------
def test_missing_file() -> None:
    path = str(FIXTURES / "no_such_calendar.ics")
    with pytest.raises(InputError) as caught:
        IcsConnector(path).read(WEEK, JAKARTA)
    assert str(caught.value) == f"{path}: ICS file not found"
    assert caught.value.public == "ICS file not found"  # logs and status never name the file


def test_directory_instead_of_file() -> None:
    with pytest.raises(InputError, match="is a directory"):
        IcsConnector(str(FIXTURES)).read(WEEK, JAKARTA)


@pytest.mark.parametrize(("name", "message"), [
    ("malformed_unclosed_vevent.ics",
     "line 14: BEGIN:VEVENT is never closed (line 19 begins another VEVENT)"),
    ("malformed_bad_dtstart.ics",
     "line 16: VEVENT (UID abc) has DTSTART '2026-12-15 09:00' that is not a date or date-time"),
    ("malformed_bad_rrule.ics",
     "line 9: VEVENT (UID bad-rrule-series) has RRULE 'FREQ=FORTNIGHTLY;BYDAY=MO' "
     "that is not a valid recurrence rule"),
    ("malformed_unknown_tzid_without_vtimezone.ics",
     "line 7: VEVENT (UID mystery-zone) uses a time zone ('Jakarta Time') that is neither an "
     "IANA nor a Windows zone name and has no VTIMEZONE in the file"),
    ("malformed_description_wrapped_without_fold.ics",
     "line 10: not an iCalendar content line (expected NAME:VALUE)"),
    ("malformed_html_login_page.ics",
     "not an iCalendar file (it does not start with BEGIN:VCALENDAR)"),
])
def test_malformed_files_fail_with_file_and_line(name: str, message: str) -> None:
    path = str(FIXTURES / name)
    with pytest.raises(InputError) as caught:
        IcsConnector(path).read(WEEK, JAKARTA)
    assert caught.value.message.startswith(f"{path}: {message}")


def test_html_page_gets_a_hint() -> None:
    with pytest.raises(InputError) as caught:
        IcsConnector(str(FIXTURES / "malformed_html_login_page.ics")).read(WEEK, JAKARTA)
    assert "web page" in (caught.value.hint or "")


CALENDAR = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{body}END:VCALENDAR\r\n"


@pytest.mark.parametrize(("text", "message"), [
    ("", "cal.ics: not an iCalendar file"),
    ("hello world\n", "cal.ics: not an iCalendar file"),
    ("BEGIN:VEVENT\nUID:x\nEND:VEVENT\n", "cal.ics: not an iCalendar file"),
    ("BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:x\n",  # a truncated download
     "cal.ics: line 3: BEGIN:VEVENT is never closed"),
    ("BEGIN:VCALENDAR\nVERSION:2.0\n", "cal.ics: line 1: BEGIN:VCALENDAR is never closed"),
    (CALENDAR.format(body="END:VEVENT\r\n"),
     "cal.ics: line 4: END:VEVENT without a matching BEGIN:VEVENT"),
    (CALENDAR.format(body="BEGIN:VEVENT\r\nUID:x\r\nBEGIN:VALARM\r\nEND:VEVENT\r\n"),
     "cal.ics: line 6: BEGIN:VALARM is never closed (line 7 has END:VEVENT)"),
    (CALENDAR.format(body="BEGIN:VEVENT\r\nUID:no-start\r\nEND:VEVENT\r\n"),
     "cal.ics: line 4: VEVENT (UID no-start) has no DTSTART"),
    (CALENDAR.format(body="BEGIN:VEVENT\r\nUID:bad-param\r\nDTSTART:20261214T020000Z\r\n"
                          "ATTENDEE;PARTSTAT=ACCEPTED;=oops:mailto:a@b.c\r\nEND:VEVENT\r\n"),
     "cal.ics: line 7: VEVENT (UID bad-param) has a content line that cannot be read"),
    (CALENDAR.format(body="BEGIN:VEVENT\r\nUID:mixed\r\nDTSTART;VALUE=DATE:20261214\r\n"
                          "DTEND:20261214T100000Z\r\nEND:VEVENT\r\n"),
     "cal.ics: line 7: VEVENT (UID mixed) has a DTSTART and a DTEND of different types"),
    (CALENDAR.format(body="BEGIN:VEVENT\r\nUID:dur\r\nDTSTART:20261214T020000Z\r\n"
                          "DURATION:one hour\r\nEND:VEVENT\r\n"),
     "cal.ics: line 7: VEVENT (UID dur) has DURATION 'one hour' that is not a duration"),
    ("BEGIN:VCALENDAR\nX-WR-TIMEZONE:Mars/Olympus\nEND:VCALENDAR\n",
     "cal.ics: line 2: X-WR-TIMEZONE 'Mars/Olympus' is not a known time zone"),
])
def test_bad_text_fails_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_calendar(text, source="cal.ics", window=WEEK, tz=JAKARTA, owner=None)
    assert caught.value.message.startswith(message)


def test_event_without_uid_gets_a_stable_one() -> None:
    text = CALENDAR.format(body="BEGIN:VEVENT\r\nDTSTART:20261215T020000Z\r\n"
                                "DTEND:20261215T030000Z\r\nEND:VEVENT\r\n")
    first = parse_calendar(text, source="a", window=WEEK, tz=JAKARTA, owner=None)
    second = parse_calendar(text.encode(), source="b", window=WEEK, tz=JAKARTA, owner=None)
    assert len(first) == 1 and first[0].uid.startswith("nouid-")
    assert first[0].uid == second[0].uid


def test_parsed_calendar_can_be_expanded_many_times() -> None:
    parsed = ParsedCalendar.parse((FIXTURES / "utc_and_floating_times.ics").read_bytes(),
                                  source="utc_and_floating_times.ics")
    week = parsed.events(WEEK, JAKARTA, owner=None)
    again = parsed.events(WEEK, JAKARTA, owner=None)
    in_makassar = parsed.events(WEEK, MAKASSAR, owner=None)
    assert week == again
    lunch = [e for e in in_makassar if "floating-lunch" in e.uid]
    assert lunch[0].start == at(MAKASSAR, 2026, 12, 15, 12)


# -- the connector itself ------------------------------------------------------------------
def test_registered_read_only_connector() -> None:
    assert connector_class("ics") is IcsConnector
    connector = IcsConnector(str(FIXTURES / "own_block_x_balanced_calendar_id.ics"),
                             allow_write=True, calendar="work")
    assert connector.read_only
    block = connector.read(WEEK, JAKARTA)[0]
    assert block.calendar == "work"
    with pytest.raises(ReadOnlyConnector):
        connector.create_block(block)


def test_to_zoneinfo_maps_windows_vendor_and_iana_names() -> None:
    assert to_zoneinfo("SE Asia Standard Time") == ZoneInfo("Asia/Bangkok")  # UTC+7, like WIB
    assert to_zoneinfo('"se asia standard time"') == ZoneInfo("Asia/Bangkok")
    assert to_zoneinfo("Eastern Standard Time") == NEW_YORK
    assert to_zoneinfo("Asia/Makassar") == MAKASSAR
    assert to_zoneinfo("/mozilla.org/20050126_1/Asia/Jakarta") == JAKARTA
    assert to_zoneinfo("tzone://Microsoft/Utc") == ZoneInfo("UTC")
    for unknown in ("Jakarta Time", "", "../../etc/passwd", "Asia"):
        assert to_zoneinfo(unknown) is None


# -- published calendars over http ---------------------------------------------------------
class _Calendars(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, bytes, str]] = {}
    hits: list[str] = []
    release = threading.Event()

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.hits.append(self.path)
        if self.path.startswith("/slow"):
            self.release.wait(5)
        status, body, content_type = self.routes.get(self.path, (404, b"not found", "text/plain"))
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up (timeout test)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture
def server() -> Iterator[str]:
    standup = (FIXTURES / "weekly_standup_rrule_exdate_jakarta.ics").read_bytes()
    _Calendars.routes = {
        "/calendar/ical/rina/private-0123456789abcdef/basic.ics":
            (200, standup, "text/calendar; charset=UTF-8"),
        "/login.ics": (200, b"<html><body>Please sign in</body></html>", "text/html"),
        "/forbidden.ics": (403, b"Forbidden", "text/plain"),
    }
    _Calendars.hits = []
    _Calendars.release = threading.Event()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Calendars)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        _Calendars.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def test_reads_a_published_calendar_once(server: str) -> None:
    url = f"{server}/calendar/ical/rina/private-0123456789abcdef/basic.ics"
    connector = IcsConnector(url, owner=RINA, opener=NO_PROXY)
    events = connector.read(WEEK, JAKARTA)
    assert [e.start for e in events] == [
        at(JAKARTA, 2026, 12, 14, 8, 30), at(JAKARTA, 2026, 12, 18, 8, 30),
        at(JAKARTA, 2026, 12, 19, 8, 30),
    ]
    assert connector.read(DEC, JAKARTA)[0].response is Response.ACCEPTED
    assert len(_Calendars.hits) == 1  # fetched and parsed once per connector


def test_http_404_is_a_provider_error_without_the_secret_path(server: str) -> None:
    url = f"{server}/calendar/ical/rina/private-fffffffffff/basic.ics"
    with pytest.raises(ProviderError) as caught:
        IcsConnector(url, opener=NO_PROXY).read(WEEK, JAKARTA)
    message = str(caught.value)
    assert "HTTP 404" in message and "127.0.0.1" in message and "/…" in message
    assert "private-fffffffffff" not in message and "basic.ics" not in message  # no part of the path
    assert caught.value.hint


def test_http_403_is_a_provider_error(server: str) -> None:
    with pytest.raises(ProviderError, match="HTTP 403"):
        IcsConnector(f"{server}/forbidden.ics", opener=NO_PROXY).read(WEEK, JAKARTA)


def test_a_web_page_instead_of_a_calendar_is_an_input_error(server: str) -> None:
    with pytest.raises(InputError, match="not an iCalendar file"):
        IcsConnector(f"{server}/login.ics", opener=NO_PROXY).read(WEEK, JAKARTA)


def test_slow_server_times_out(server: str) -> None:
    with pytest.raises(ProviderError, match=r"no complete answer within 0\.3 s"):
        IcsConnector(f"{server}/slow.ics", timeout=0.3, opener=NO_PROXY).read(WEEK, JAKARTA)


def test_unreachable_server() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ProviderError, match="cannot reach the server"):
        IcsConnector(f"http://127.0.0.1:{port}/cal.ics", opener=NO_PROXY).read(WEEK, JAKARTA)


def test_webcal_is_fetched_over_https(server: str) -> None:
    # the test server speaks plain http, so an https attempt fails at the TLS handshake
    webcal = server.replace("http://", "webcal://") + "/calendar/ical/rina/x/basic.ics"
    with pytest.raises(ProviderError) as caught:
        IcsConnector(webcal, opener=NO_PROXY, timeout=5).read(WEEK, JAKARTA)
    assert str(caught.value).startswith("ics: https://127.0.0.1:")


def test_outlook_unicode_save_in_utf16_is_read() -> None:
    data = (FIXTURES / "outlook_windows_tzid_se_asia.ics").read_text(encoding="utf-8")
    events = parse_calendar(data.encode("utf-16"), source="kalender.ics", window=WEEK,
                            tz=JAKARTA, owner=None)
    assert [e.start for e in events] == [at(JAKARTA, 2026, 12, 15, 9), at(JAKARTA, 2026, 12, 16, 11)]


def test_single_instance_invitation_without_its_series() -> None:
    # Google exports an invitation to one instance of someone else's series on its own
    text = CALENDAR.format(body="BEGIN:VEVENT\r\nUID:their-series\r\n"
                                "RECURRENCE-ID:20261215T020000Z\r\nDTSTART:20261215T030000Z\r\n"
                                "DTEND:20261215T040000Z\r\nEND:VEVENT\r\n")
    events = parse_calendar(text, source="cal.ics", window=WEEK, tz=JAKARTA, owner=None)
    assert [(e.uid, e.start) for e in events] == [
        ("their-series/2026-12-15T02:00:00Z", at(JAKARTA, 2026, 12, 15, 10))]
