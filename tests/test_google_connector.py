"""What the Google connector does beyond the contract: request counts (one request for an
unchanged calendar), paging, sync tokens, cancelled instances, event types, the person's
zone, rate limits and server errors, expired grants, focus-time blocks and batching.

Everything runs the real google-api-python-client and google-auth against the local fake.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from balanced_calendar.model import (AuthExpired, Event, Kind, ProviderError, RateLimited, Response, ShowAs,
                                     Window)
from connectors.google import GoogleSettings
from connectors.google.prefetch import prefetch
from connectors.plugin import Context, MemoryCredentials, PersonRef
from tests.contract.scenario import OWNER, SCENARIO, SECRET_TITLE, at
from tests.fakes.google_calendar import FakeGoogle
from tests.fakes.google_support import fake, sa_file  # noqa: F401 - module fixtures
from tests.fakes.google_support import connector, domain_settings, google_item, register_service_account, stamp

JAKARTA = ZoneInfo("Asia/Jakarta")
WEEK = Window(at(14, 0), at(21, 0))
BUDI = "budi@agency.go.id"


@pytest.fixture()
def settings(fake: FakeGoogle, sa_file: Path) -> Iterator[GoogleSettings]:
    fake.reset()
    fake.user(OWNER)
    for spec in SCENARIO:
        fake.put(OWNER, google_item(spec))
    yield domain_settings(fake, sa_file)
    assert fake.schema_errors == []


class Sleeps(list[float]):
    """Records the waits the connector asks for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_an_unchanged_calendar_costs_one_request(fake, settings):
    secret = MemoryCredentials()
    first = connector(settings, secret=secret).read_changes(WEEK, JAKARTA, None)
    assert [s.op for s in fake.seen] == ["token", "events.list"]
    fake.seen.clear()
    again = connector(settings, secret=secret).read_changes(WEEK, JAKARTA, first.state)
    assert again.empty
    assert [(s.op, s.query.get("syncToken") is not None) for s in fake.seen] == [("events.list", True)]


def test_every_page_is_followed_even_empty_ones(fake, settings):
    fake.page_size, fake.empty_pages = 2, True
    events = connector(settings).read(WEEK, JAKARTA)
    assert len(events) == 6
    lists = [s for s in fake.seen if s.op == "events.list"]
    assert len(lists) == 6  # 3 pages of two events, each after an empty page that carries a token
    assert all(s.query["singleEvents"] == "true" and s.query["maxResults"] == "2500" for s in lists)
    assert sum("pageToken" in s.query for s in lists) == 5


def test_no_title_place_or_address_is_even_asked_for(fake, settings):
    connector(settings).read(WEEK, JAKARTA)
    [listing] = [s for s in fake.seen if s.op == "events.list"]
    for secret in ("summary", "description", "location", "email"):
        assert secret not in listing.query["fields"]


def test_cancelled_instances_of_a_series_are_removed(fake, settings):
    for day in (14, 15, 16):
        fake.put(OWNER, {"id": f"standup_202612{day}T010000Z", "recurringEventId": "standup",
                         "start": stamp(at(day, 8)), "end": stamp(at(day, 8, 30)),
                         "originalStartTime": stamp(at(day, 8))})
    secret = MemoryCredentials()
    first = connector(settings, secret=secret).read_changes(WEEK, JAKARTA, None)
    assert {e.uid for e in first.upserts} >= {"standup_20261215T010000Z"}
    fake.edit(OWNER, "standup_20261215T010000Z", status="cancelled")
    changes = connector(settings, secret=secret).read_changes(WEEK, JAKARTA, first.state)
    assert (changes.full, changes.upserts, changes.removed) == (False, (), ("standup_20261215T010000Z",))


def test_an_expired_sync_token_reads_in_full(fake, settings):
    secret = MemoryCredentials()
    first = connector(settings, secret=secret).read_changes(WEEK, JAKARTA, None)
    fake.expire_sync_tokens(OWNER)
    fake.seen.clear()
    changes = connector(settings, secret=secret).read_changes(WEEK, JAKARTA, first.state)
    assert changes.full and len(changes.upserts) == 6
    assert [("syncToken" in s.query, "timeMin" in s.query) for s in fake.seen] == [(True, False), (False, True)]


def test_event_types_that_are_not_work(fake, settings):
    day = dict(start={"date": "2026-12-15"}, end={"date": "2026-12-16"})
    fake.put(OWNER, {"id": "office", "eventType": "workingLocation", "visibility": "public",
                     "transparency": "transparent", **day})
    fake.put(OWNER, {"id": "ulang-tahun", "eventType": "birthday", "transparency": "transparent", **day})
    fake.put(OWNER, {"id": "flight", "eventType": "fromGmail", "start": stamp(at(15, 18)), "end": stamp(at(15, 20))})
    fake.put(OWNER, {"id": "deep", "eventType": "focusTime", "start": stamp(at(15, 8)), "end": stamp(at(15, 10))})
    fake.put(OWNER, {"id": "room", "start": stamp(at(15, 11)), "end": stamp(at(15, 12)),
                     "attendees": [{"email": OWNER, "self": True, "organizer": True, "responseStatus": "accepted"},
                                   {"email": "r301@resource.calendar.google.com", "resource": True}]})
    fake.put(OWNER, {"id": "maybe", "start": stamp(at(15, 13)), "end": stamp(at(15, 14)),
                     "organizer": {"email": BUDI},
                     "attendees": [{"email": OWNER, "self": True, "responseStatus": "tentative"}]})
    events = {e.uid: e for e in connector(settings).read(WEEK, JAKARTA)}
    assert (events["office"].kind, events["office"].show_as) == (Kind.WORKING_LOCATION, ShowAs.WORKING_ELSEWHERE)
    assert events["ulang-tahun"].show_as is ShowAs.FREE and events["ulang-tahun"].all_day
    assert events["flight"].show_as is ShowAs.FREE
    assert (events["deep"].kind, events["deep"].show_as) == (Kind.FOCUS, ShowAs.BUSY)
    assert (events["room"].others, events["room"].response) == (0, Response.ORGANIZER)
    assert (events["maybe"].response, events["maybe"].others, events["maybe"].organizer_is_self) == (
        Response.TENTATIVE, 1, False)


def test_the_persons_zone_is_looked_up_at_most_daily(fake, settings):
    fake.user(OWNER).zone = "Asia/Makassar"
    now = [dt.datetime(2026, 12, 14, 1, tzinfo=dt.timezone.utc)]
    secret = MemoryCredentials()

    def read(state):
        return connector(settings, secret=secret, zone_fixed=False, clock=lambda: now[0]).read_changes(
            WEEK, JAKARTA, state)

    first = read(None)
    assert first.zone == "Asia/Makassar" and fake.count("settings.get") == 1
    now[0] += dt.timedelta(hours=23)
    assert read(first.state).zone is None and fake.count("settings.get") == 1
    now[0] += dt.timedelta(hours=2)
    assert read(first.state).zone == "Asia/Makassar" and fake.count("settings.get") == 2
    fixed = connector(settings, zone_fixed=True).read_changes(WEEK, JAKARTA, None)
    assert fixed.zone is None and fake.count("settings.get") == 2


def test_rate_limits_are_waited_out_honouring_retry_after(fake, settings):
    fake.fail("events.list", 403, "rateLimitExceeded", domain="usageLimits", message="Rate Limit Exceeded")
    fake.fail("events.list", 429, "rateLimitExceeded", domain="usageLimits", retry_after="7")
    fake.fail("events.list", 500, "backendError")
    sleeps = Sleeps()
    events = connector(settings, sleep=sleeps).read(WEEK, JAKARTA)
    assert len(events) == 6 and fake.count("events.list") == 4
    assert len(sleeps) == 3 and sleeps[1] >= 7
    assert all(0 < s <= 60 for s in sleeps)


def test_a_rate_limit_that_lasts_is_an_error_never_an_empty_read(fake, sa_file, settings):
    fake.fail("events.list", 429, "rateLimitExceeded", domain="usageLimits", retry_after="20", times=100)
    sleeps = Sleeps()
    bounded = domain_settings(fake, sa_file, max_wait=45)
    with pytest.raises(RateLimited) as caught:
        connector(bounded, sleep=sleeps).read_changes(WEEK, JAKARTA, None)
    assert sum(sleeps) <= 45 and len(sleeps) == 2
    assert caught.value.retry_after >= 20 and "rateLimitExceeded" in caught.value.public


def test_other_refusals_fail_at_once(fake, settings):
    fake.fail("events.list", 403, "forbidden", message="Forbidden")
    sleeps = Sleeps()
    with pytest.raises(ProviderError, match="403 forbidden"):
        connector(settings, sleep=sleeps).read(WEEK, JAKARTA)
    assert sleeps == []


def test_a_token_acts_only_as_its_own_user(fake, settings):
    fake.user(BUDI)
    fake.put(BUDI, {"id": "budi-private", "start": stamp(at(15, 9)), "end": stamp(at(15, 10))})
    with pytest.raises(ProviderError, match="not found"):
        connector(settings, calendar=BUDI).read(WEEK, JAKARTA)
    assert [e.uid for e in connector(settings, BUDI).read(WEEK, JAKARTA)] == ["budi-private"]


def test_a_person_the_domain_no_longer_has_must_be_enrolled_again(fake, settings):
    with pytest.raises(AuthExpired) as caught:
        connector(settings, "left@agency.go.id").read(WEEK, JAKARTA)
    assert "balanced-calendar enroll --provider google --email left@agency.go.id --yes" in str(caught.value)
    assert "left@agency.go.id" not in caught.value.public


def test_missing_delegation_names_the_scopes_to_grant(fake, sa_file, settings):
    fake.delegated[next(iter(fake.delegated))] = {"https://www.googleapis.com/auth/calendar.readonly"}
    try:
        with pytest.raises(Exception) as caught:
            connector(settings).read(WEEK, JAKARTA)
    finally:
        fake.delegated[next(iter(fake.delegated))] |= {"https://www.googleapis.com/auth/calendar.settings.readonly",
                                                       "https://www.googleapis.com/auth/calendar.events"}
    assert "unauthorized_client" in str(caught.value) and "calendar.settings.readonly" in str(caught.value)


BLOCK = Event(uid="bc-p1-20261215-focus-0", start=at(15, 7, 30), end=at(15, 9, 30), kind=Kind.OWN_BLOCK,
              title="Fokus")


def test_focus_blocks_are_native_focus_time_without_notifications(fake, sa_file, settings):
    ref = connector(settings, protect=True, auto_decline="new").create_block(BLOCK)
    [insert] = [s for s in fake.seen if s.op == "events.insert"]
    assert insert.query["sendUpdates"] == "none" and "attendees" not in insert.body
    assert insert.body["eventType"] == "focusTime"
    assert insert.body["focusTimeProperties"] == {"autoDeclineMode": "declineOnlyNewConflictingInvitations"}
    assert insert.body["extendedProperties"]["private"]["balancedCalendarId"] == BLOCK.uid
    stored = fake.calendar(OWNER).events[ref.provider_id]
    assert stored["eventType"] == "focusTime" and stored["transparency"] == "opaque"
    connector(settings, protect=True).create_block(Event(uid="bc-p1-20261216-focus-0", start=at(16, 8),
                                                         end=at(16, 9), kind=Kind.OWN_BLOCK, title="Fokus"))
    assert fake.seen[-1].body["focusTimeProperties"] == {"autoDeclineMode": "declineNone"}


def test_accounts_without_focus_time_get_private_busy_blocks_and_it_is_remembered(fake, settings):
    fake.user(OWNER).focus_time = False
    secret = MemoryCredentials()
    ref = connector(settings, protect=True, secret=secret).create_block(BLOCK)
    stored = fake.calendar(OWNER).events[ref.provider_id]
    assert (stored["eventType"], stored["visibility"], stored["transparency"]) == ("default", "private", "opaque")
    assert fake.count("events.insert") == 2  # the refused focus-time one, then the plain one
    connector(settings, protect=True, secret=secret).create_block(
        Event(uid="bc-p1-20261216-focus-0", start=at(16, 8), end=at(16, 9), kind=Kind.OWN_BLOCK, title="Fokus"))
    assert fake.count("events.insert") == 3 and "eventType" not in fake.seen[-1].body


def test_many_people_have_their_zones_and_incremental_reads_batched(fake, settings):
    people = [f"pegawai{i}@agency.go.id" for i in range(5)]
    for i, email in enumerate(people):
        fake.user(email, zone=("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")[i % 3])
    secrets = {email: MemoryCredentials() for email in people}
    contexts = [Context(settings=settings, credentials=secrets[email],
                        person=PersonRef(email=email, calendar="primary", timezone="Asia/Jakarta"))
                for email in people]
    prefetch(contexts)
    assert fake.count("batch") == 1 and fake.count("settings.get") == 0
    assert fake.count("settings.get", batched=True) == 5
    assert {s.user for s in fake.seen if s.batched} == set(people)  # each part with its own token
    fake.seen.clear()
    firsts = [connector(settings, email, secret=secrets[email], zone_fixed=False).read_changes(WEEK, JAKARTA, None)
              for email in people]
    assert [c.zone for c in firsts] == ["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "Asia/Jakarta",
                                        "Asia/Makassar"]
    assert [s.op for s in fake.seen] == ["events.list"] * 5  # tokens and zones came from the prefetch
    fake.put(people[2], {"id": "baru", "start": stamp(at(16, 9)), "end": stamp(at(16, 10))})
    fake.seen.clear()
    prefetch(contexts)  # the next reads are incremental: one batch for all of them, zones not due
    assert [s.op for s in fake.seen if not s.batched] == ["batch"]
    assert [(s.op, s.user) for s in fake.seen if s.batched] == [("events.list", p) for p in people]
    fake.seen.clear()
    changes = [connector(settings, email, secret=secrets[email], zone_fixed=False).read_changes(
        WEEK, JAKARTA, first.state) for email, first in zip(people, firsts)]
    assert fake.seen == []  # every read took its prefetched page
    assert [[e.uid for e in c.upserts] for c in changes] == [[], [], ["baru"], [], []]
    assert all(not c.full and c.zone is None for c in changes)


def test_secret_titles_never_reach_the_events(fake, settings):
    events = connector(settings).read(WEEK, JAKARTA)
    assert SECRET_TITLE not in repr(events) and "Ruang 301" not in repr(events)
