"""The Microsoft 365 connector against a local HTTPS fake of Graph and the identity platform:
the connector contracts, delta sync and its request counts, zone hints, throttling, the
per-mailbox cap, batches and own-block writes."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from balanced_calendar.model import BlockRef, Kind, RateLimited, Window
from connectors.plugin import MemoryCredentials
from tests.contract.scenario import JAKARTA, OWNER, SECRET_TITLE, WINDOW_END, WINDOW_START, SpecEvent, at
from tests.contract.test_connector_changes import NEW, ChangesContract, WritesContract
from tests.contract.test_connector_contract import ConnectorContract
from tests.fakes.graph import Running
from tests.microsoft_helpers import connector, graph_event, load_scenario, person, running_fake, settings

WINDOW = Window(WINDOW_START, WINDOW_END)


@pytest.fixture(scope="module")
def graph(tmp_path_factory) -> Iterator[Running]:
    yield from running_fake(tmp_path_factory.mktemp("graph"))


@pytest.fixture()
def fake(graph: Running) -> Running:
    graph.fake.reset()
    load_scenario(graph)
    return graph


class GraphBackend:
    def __init__(self, run: Running, folder: Path) -> None:
        self.run, self.folder = run, folder

    def connector(self):
        return connector(self.run, self.folder)

    def add(self, spec: SpecEvent) -> None:
        self.run.fake.put(OWNER, graph_event(spec))

    def move(self, uid: str, start: dt.datetime, end: dt.datetime) -> None:
        self.run.fake.edit(OWNER, uid, start=graph_event(SpecEvent(uid, start, end))["start"],
                           end=graph_event(SpecEvent(uid, start, end))["end"])

    def delete(self, uid: str) -> None:
        self.run.fake.remove(OWNER, uid)

    def expire(self) -> None:
        self.run.fake.expire(OWNER)

    def edit_block(self, ref: BlockRef, start: dt.datetime, end: dt.datetime) -> None:
        self.move(ref.provider_id, start, end)

    def provider_id_of(self, uid: str) -> str:
        return uid


class TestMicrosoftContract(ConnectorContract):
    @pytest.fixture()
    def connector(self, fake, tmp_path):
        return connector(fake, tmp_path)


class TestMicrosoftReadOnly(ConnectorContract):
    @pytest.fixture()
    def connector(self, fake, tmp_path):
        return connector(fake, tmp_path, who=person(protect=False))


class TestMicrosoftChanges(ChangesContract, WritesContract):
    @pytest.fixture()
    def backend(self, fake, tmp_path) -> GraphBackend:
        return GraphBackend(fake, tmp_path)

    def test_incremental_read_sends_only_the_change(self, backend):
        state = self.first(backend)
        backend.add(NEW)
        changes = backend.connector().read_changes(WINDOW, JAKARTA, state)
        assert not changes.full and {e.uid for e in changes.upserts} == {"added-later"}


# -- request counts and paging -------------------------------------------------------------
def test_unchanged_calendar_costs_exactly_one_graph_request(fake, tmp_path):
    first = connector(fake, tmp_path, page_size=2)
    changes = first.read_changes(WINDOW, JAKARTA, None)
    assert changes.full and len(changes.upserts) == 6
    pages = fake.fake.graph_requests()
    assert len(pages) == 4  # 7 events in the window's view (one cancelled), two per page
    fake.fake.log.clear()
    again = connector(fake, tmp_path, page_size=2).read_changes(WINDOW, JAKARTA, changes.state)
    assert again.empty
    assert [(r.method, "$deltatoken=" in r.path) for r in fake.fake.graph_requests()] == [("GET", True)]


def test_delta_uses_utc_window_page_size_and_empty_pages(fake, tmp_path):
    fake.fake.reset()
    fake.fake.mailbox(OWNER)
    changes = connector(fake, tmp_path).read_changes(WINDOW, JAKARTA, None)
    assert changes.full and changes.upserts == () and changes.state  # an empty calendar is not an error
    [request] = fake.fake.graph_requests()
    assert "startDateTime=2026-12-13T17:00:00Z" in request.path and "endDateTime=2026-12-20T17:00:00Z" in request.path


def test_response_status_is_read_case_insensitively_and_titles_are_dropped(fake, tmp_path):
    events = {e.uid: e for e in connector(fake, tmp_path).read_changes(WINDOW, JAKARTA, None).upserts}
    assert events["meeting-accepted"].response.value == "accepted"  # Graph sent "Accepted"
    assert events["invite-declined"].response.value == "declined"
    assert SECRET_TITLE not in repr(events) and "Ruang" not in repr(events)


# -- zone hints ------------------------------------------------------------------------------
def test_mailbox_zone_is_reported_once_a_day_unless_the_config_sets_one(fake, tmp_path):
    clock = [dt.datetime(2026, 12, 14, 1, tzinfo=dt.timezone.utc)]
    credentials = MemoryCredentials()
    fake.fake.mailbox(OWNER).zone = "Tokyo Standard Time"
    from connectors.microsoft.connector import MicrosoftConnector

    def build(fixed: bool) -> MicrosoftConnector:
        return MicrosoftConnector(settings(fake, tmp_path), person(zone_fixed=fixed), credentials,
                                  clock=lambda: clock[0])

    assert build(True).read_changes(WINDOW, JAKARTA, None).zone is None
    assert not any("mailboxSettings" in r.path for r in fake.fake.graph_requests())
    first = build(False).read_changes(WINDOW, JAKARTA, None)
    assert first.zone == "Asia/Tokyo"
    fake.fake.log.clear()
    clock[0] += dt.timedelta(hours=23)
    assert build(False).read_changes(WINDOW, JAKARTA, first.state).zone is None
    assert len(fake.fake.graph_requests()) == 1  # steady state stays at one request
    clock[0] += dt.timedelta(hours=2)
    assert build(False).read_changes(WINDOW, JAKARTA, first.state).zone == "Asia/Tokyo"


# -- expired tokens, throttling, concurrency -------------------------------------------------
def test_expired_delta_token_falls_back_to_a_full_read(fake, tmp_path):
    state = connector(fake, tmp_path).read_changes(WINDOW, JAKARTA, None).state
    fake.fake.expire(OWNER)
    fake.fake.log.clear()
    changes = connector(fake, tmp_path).read_changes(WINDOW, JAKARTA, state)
    assert changes.full and len(changes.upserts) == 6
    assert [r.status for r in fake.fake.graph_requests()][0] == 410


def test_throttling_is_waited_out_as_retry_after_says(fake, tmp_path):
    fake.fake.throttle(2, retry_after=1)
    started = dt.datetime.now()
    changes = connector(fake, tmp_path).read_changes(WINDOW, JAKARTA, None)
    assert changes.full and len(changes.upserts) == 6
    assert (dt.datetime.now() - started).total_seconds() >= 2
    assert [r.status for r in fake.fake.graph_requests()][:2] == [429, 429]


def test_throttling_past_the_budget_is_a_rate_limit_error_not_an_empty_result(fake, tmp_path):
    fake.fake.throttle(50, retry_after=1)
    with pytest.raises(RateLimited) as caught:
        connector(fake, tmp_path, max_retry_wait=1.5).read_changes(WINDOW, JAKARTA, None)
    assert caught.value.retry_after == 1 and "throttling" in caught.value.public
    assert len(fake.fake.graph_requests()) == 2
    fake.fake.throttle(0)


def test_at_most_four_requests_per_mailbox_whatever_max_concurrency_says(fake, tmp_path):
    fake.fake.latency = 0.2  # long enough that 12 readers overlap even on a loaded machine
    errors: list[BaseException] = []

    def read() -> None:
        try:
            connector(fake, tmp_path, max_concurrency=16).read(WINDOW, JAKARTA)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert fake.fake.mailbox(OWNER).peak == 4
    assert not any(r.status == 429 for r in fake.fake.graph_requests())


# -- own blocks ------------------------------------------------------------------------------
def test_blocks_are_private_busy_untagged_invites_never(fake, tmp_path):
    from tests.contract.test_connector_changes import BLOCK as block

    ref = connector(fake, tmp_path).create_block(block)
    stored = fake.fake.mailbox(OWNER).events[ref.provider_id]
    assert (stored["showAs"], stored["sensitivity"], stored["isReminderOn"], stored["attendees"]) == \
           ("busy", "private", False, [])
    assert stored["categories"] == ["balanced-calendar"]
    assert [p["value"] for p in stored["singleValueExtendedProperties"]] == [block.uid]


def test_an_own_block_in_the_change_feed_keeps_its_block_id(fake, tmp_path):
    from tests.contract.test_connector_changes import BLOCK

    state = connector(fake, tmp_path).read_changes(WINDOW, JAKARTA, None).state
    ref = connector(fake, tmp_path).create_block(BLOCK)
    changes = connector(fake, tmp_path).read_changes(WINDOW, JAKARTA, state)
    [block] = [e for e in changes.upserts if e.kind is Kind.OWN_BLOCK]
    assert (block.uid, block.title, block.ref) == (BLOCK.uid, "Fokus", ref)
    fake.fake.remove(OWNER, ref.provider_id)
    gone = connector(fake, tmp_path).read_changes(WINDOW, JAKARTA, changes.state)
    assert gone.removed == (BLOCK.uid,)


def test_a_foreign_event_with_our_category_is_not_a_block(fake, tmp_path):
    fake.fake.edit(OWNER, "evening-report", categories=["balanced-calendar"])
    events = {e.uid: e for e in connector(fake, tmp_path).read_changes(WINDOW, JAKARTA, None).upserts}
    assert events["evening-report"].kind is Kind.EVENT and events["evening-report"].title is None
