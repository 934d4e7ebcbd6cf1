"""Own blocks on a real Radicale (preconditions, retries, foreign events) and the errors a
CalDAV server gives (401, 404, 429/503 with Retry-After, an unreachable server)."""

from __future__ import annotations

import datetime as dt
import time
import urllib.parse
from dataclasses import replace

import pytest

from balanced_calendar.model import AuthExpired, Conflict, Event, Kind, ProviderError, RateLimited, Window
from connectors._dav_http import DavSession
from connectors._dav_quirks import quirks_for
from connectors.dav import CaldavConnector, block_name
from tests.contract.scenario import JAKARTA, OWNER, at
from tests.radicale_server import Calendar, RadicaleServer, Throttle, calendar, free_port, radicale  # noqa: F401

BLOCK = Event(uid="bc-focus-2026-12-16", start=at(16, 8), end=at(16, 10), kind=Kind.OWN_BLOCK, title="Fokus")
DAY = Window(dt.datetime(2026, 12, 16, tzinfo=JAKARTA), dt.datetime(2026, 12, 17, tzinfo=JAKARTA))
FOREIGN = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:foreign-1\r\n"
           "DTSTAMP:20261201T000000Z\r\nDTSTART:20261216T010000Z\r\nDTEND:20261216T020000Z\r\n"
           "SUMMARY:Rapat direksi\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def connect(cal: Calendar, kind: str = "radicale", url: str | None = None, **session: object) -> CaldavConnector:
    target = url or cal.url
    return CaldavConnector(DavSession(target, cal.username, cal.password, **session), target,  # type: ignore[arg-type]
                           quirks=quirks_for(kind), owner=OWNER, allow_write=True)


@pytest.mark.parametrize("kind", ["radicale", "zimbra"])
def test_a_repeated_creation_finds_its_own_block_instead_of_adding_a_second(calendar, kind):  # noqa: F811
    first = connect(calendar, kind).create_block(BLOCK)
    again = connect(calendar, kind).create_block(replace(BLOCK, end=at(16, 11)))
    assert again.provider_id == first.provider_id and again.etag != first.etag
    assert calendar.names() == [first.provider_id]
    [seen] = [e for e in connect(calendar, kind).read(DAY, JAKARTA) if e.kind is Kind.OWN_BLOCK]
    assert (seen.start, seen.end, seen.ref) == (BLOCK.start, at(16, 11), again)


@pytest.mark.parametrize("kind", ["radicale", "zimbra"])
def test_a_foreign_event_in_the_blocks_place_is_never_overwritten(calendar, kind):  # noqa: F811
    calendar.put(block_name(BLOCK.uid), FOREIGN)
    with pytest.raises(Conflict):
        connect(calendar, kind).create_block(BLOCK)
    assert calendar.get(block_name(BLOCK.uid)) is not None
    assert "Rapat direksi" in (calendar.get(block_name(BLOCK.uid)) or "")


def test_a_block_is_tagged_has_a_category_and_invites_nobody(calendar):  # noqa: F811
    ref = connect(calendar).create_block(BLOCK)
    text = calendar.get(ref.provider_id) or ""
    unfolded = text.replace("\r\n ", "").replace("\n ", "")
    assert f"X-BALANCED-CALENDAR-ID:{BLOCK.uid}" in unfolded
    assert "CATEGORIES:balanced-calendar" in unfolded
    assert "ATTENDEE" not in unfolded and "ORGANIZER" not in unfolded


def test_an_etag_changed_by_a_client_that_kept_the_times_is_retried_once(calendar):  # noqa: F811
    """A sync client re-saves the block (new DTSTAMP, an alarm added): the etag changes, the
    times and title do not. The update re-reads, sees the block as written, and goes through."""
    connector = connect(calendar)
    ref = connector.create_block(BLOCK)
    text = calendar.get(ref.provider_id) or ""
    resaved = text.replace("END:VEVENT", "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:x\r\n"
                           "TRIGGER:-PT10M\r\nEND:VALARM\r\nEND:VEVENT")
    calendar.put(ref.provider_id, resaved)
    before = connector.requests
    new_ref = connector.update_block(replace(BLOCK, start=at(16, 9), end=at(16, 11)), ref)
    # lookup GET, refused PUT (412), re-read GET, PUT with the new etag
    assert connector.requests - before == 4
    [seen] = [e for e in connect(calendar).read(DAY, JAKARTA) if e.kind is Kind.OWN_BLOCK]
    assert (seen.start, seen.end, seen.ref) == (at(16, 9), at(16, 11), new_ref)


def test_a_block_deleted_by_its_owner_cannot_be_updated_and_deleting_it_again_is_fine(calendar):  # noqa: F811
    connector = connect(calendar)
    ref = connector.create_block(BLOCK)
    calendar.delete(ref.provider_id)
    with pytest.raises(Conflict):
        connector.update_block(BLOCK, ref)
    connector.delete_block(ref)
    assert calendar.names() == []


def test_a_busy_server_is_waited_for_as_retry_after_says(calendar):  # noqa: F811
    throttle = Throttle("http://" + calendar.url.split("/")[2], status=429, count=1, retry_after="1")
    try:
        url = throttle.url + urllib.parse.urlsplit(calendar.url).path
        connector = connect(calendar, url=url)
        started = time.monotonic()
        assert connector.read(DAY, JAKARTA) == []
        assert time.monotonic() - started >= 1.0
        assert throttle.seen == 2 and connector.requests == 2
    finally:
        throttle.close()


def test_a_server_busy_for_longer_than_allowed_is_rate_limited(calendar):  # noqa: F811
    throttle = Throttle("http://" + calendar.url.split("/")[2], status=503, count=100, retry_after="1")
    try:
        url = throttle.url + urllib.parse.urlsplit(calendar.url).path
        started = time.monotonic()
        with pytest.raises(RateLimited) as caught:
            connect(calendar, url=url, max_wait=2).read(DAY, JAKARTA)
        assert 2.0 <= time.monotonic() - started < 10
        assert caught.value.retry_after == 1 and throttle.seen == 3
        assert calendar.username not in caught.value.public and "/calendar" not in str(caught.value)
    finally:
        throttle.close()


def test_a_503_without_retry_after_is_a_provider_error_to_try_later(calendar):  # noqa: F811
    throttle = Throttle("http://" + calendar.url.split("/")[2], status=503, count=1, retry_after=None)
    try:
        url = throttle.url + urllib.parse.urlsplit(calendar.url).path
        with pytest.raises(ProviderError) as caught:
            connect(calendar, url=url).read(DAY, JAKARTA)
        assert "HTTP 503" in caught.value.public and "try again later" in str(caught.value)
    finally:
        throttle.close()


def test_a_wrong_password_is_auth_expired_naming_the_fix(radicale, calendar):  # noqa: F811
    session = DavSession(calendar.url, calendar.username, "wrong-password")
    with pytest.raises(AuthExpired) as caught:
        CaldavConnector(session, calendar.url, owner=OWNER).read(DAY, JAKARTA)
    assert "password_file" in caught.value.public and "enroll" in (caught.value.hint or "")
    assert "wrong-password" not in str(caught.value) and calendar.username not in str(caught.value)


def test_a_missing_calendar_says_where_calendars_usually_are(radicale, calendar):  # noqa: F811
    url = calendar.url.replace("/calendar/", "/no-such-calendar/")
    with pytest.raises(ProviderError) as caught:
        connect(calendar, url=url).read(DAY, JAKARTA)
    assert "HTTP 404" in caught.value.public and "/dav/USER/Calendar/" in (caught.value.hint or "")
    assert calendar.username not in str(caught.value)


def test_an_unreachable_server_is_a_provider_error():
    url = f"http://127.0.0.1:{free_port()}/rina/calendar/"
    session = DavSession(url, "rina", "x", timeout=5)
    with pytest.raises(ProviderError) as caught:
        CaldavConnector(session, url, owner=OWNER).read(DAY, JAKARTA)
    assert "cannot reach the server" in caught.value.public and "rina" not in str(caught.value)
