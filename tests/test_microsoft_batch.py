"""Batched reads in app mode: the provider's prefetch plans each person's first Graph request
of a sync (delta poll or first delta page, mailbox settings when due) 20 to a JSON $batch;
exact HTTP request counts, changed calendars, throttled sub-requests, the per-mailbox cap."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from balanced_calendar.model import ChangeSet, RateLimited, Window
from connectors.microsoft import PROVIDER
from connectors.microsoft.connector import connector as build
from connectors.microsoft.http import mailbox_slot
from connectors.plugin import Context, MemoryCredentials, PlannedRead
from tests.contract.scenario import JAKARTA, OWNER, WINDOW_END, WINDOW_START, SpecEvent, at
from tests.fakes.graph import Running
from tests.microsoft_helpers import graph_event, load_scenario, person, running_fake, settings

WINDOW = Window(WINDOW_START, WINDOW_END)


@pytest.fixture(scope="module")
def graph(tmp_path_factory) -> Iterator[Running]:
    yield from running_fake(tmp_path_factory.mktemp("graph-batch"))


@pytest.fixture()
def fake(graph: Running) -> Running:
    graph.fake.reset()
    return graph


def staff(run: Running, count: int, *, events: int = 2) -> list[str]:
    emails = [f"staff{i:02d}@agency.go.id" for i in range(count)]
    for n, email in enumerate(emails):
        run.fake.mailbox(email).zone = "W. Europe Standard Time"
        for k in range(events):
            run.fake.put(email, graph_event(SpecEvent(f"s{n}-{k}", at(15, 8 + k), at(15, 8 + k, 45)), email))
    return emails


def contexts(run: Running, folder, emails: Sequence[str], *, fixed: bool = True, **extra) -> list[Context]:
    conf = settings(run, folder, **extra)
    return [Context(settings=conf, person=person(e, zone_fixed=fixed), credentials=MemoryCredentials())
            for e in emails]


def sync(ctxs: Sequence[Context], states: dict[str, str | None], *,
         workers: int = 1) -> dict[str, ChangeSet | BaseException]:
    """What sync_all does for these people: prefetch, then each read in order."""
    assert PROVIDER.prefetch is not None
    PROVIDER.prefetch([PlannedRead(c, WINDOW, JAKARTA, states.get(c.person.email)) for c in ctxs])
    results: dict[str, ChangeSet | BaseException] = {}
    lock = threading.Lock()

    def read(ctx: Context) -> None:
        try:
            with build(ctx) as connector:
                result: ChangeSet | BaseException = connector.read_changes(WINDOW, JAKARTA,
                                                                           states.get(ctx.person.email))
        except Exception as exc:  # noqa: BLE001 - the caller checks it
            result = exc
        with lock:
            results[ctx.person.email] = result
            if isinstance(result, ChangeSet):
                states[ctx.person.email] = result.state

    if workers == 1:
        for ctx in ctxs:
            read(ctx)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(read, ctxs))
    return results


def batches(run: Running) -> list:
    return [r for r in run.fake.graph_requests() if r.path == "/v1.0/$batch"]


def plain(run: Running) -> list:
    """Graph HTTP requests other than $batch (sub-requests are not HTTP requests)."""
    return [r for r in run.fake.graph_requests() if r.path != "/v1.0/$batch" and not r.path.startswith("$batch:")]


def subs(run: Running) -> list:
    return [r for r in run.fake.graph_requests() if r.path.startswith("$batch:")]


def test_25_unchanged_calendars_cost_2_batch_requests_and_nothing_else(fake, tmp_path):
    emails = staff(fake, 25)
    ctxs = contexts(fake, tmp_path, emails)
    states: dict[str, str | None] = {}
    first = sync(ctxs, states)
    assert all(isinstance(r, ChangeSet) and r.full and len(r.upserts) == 2 for r in first.values())
    assert len(batches(fake)) == 2 and plain(fake) == []  # first delta pages, batched too
    fake.fake.log.clear()

    again = sync(ctxs, states)
    assert all(isinstance(r, ChangeSet) and r.empty and not r.full for r in again.values())
    assert len(batches(fake)) == 2 and plain(fake) == []
    assert len(subs(fake)) == 25 and all("$deltatoken=" in r.path for r in subs(fake))  # one poll each


def test_a_changed_calendar_gets_its_changes_and_follows_its_own_pages(fake, tmp_path):
    emails = staff(fake, 6)
    ctxs = contexts(fake, tmp_path, emails, page_size=2)
    states: dict[str, str | None] = {}
    sync(ctxs, states)
    fake.fake.put(emails[1], graph_event(SpecEvent("late-call", at(16, 13), at(16, 14)), emails[1]))
    for k in range(4):  # five changes: three pages of two
        fake.fake.put(emails[4], graph_event(SpecEvent(f"new-{k}", at(17, 8 + k), at(17, 8 + k, 30)), emails[4]))
    fake.fake.remove(emails[4], "s4-0")
    fake.fake.log.clear()

    again = sync(ctxs, states)
    assert {e.uid for e in again[emails[1]].upserts} == {"late-call"}
    assert {e.uid for e in again[emails[4]].upserts} == {f"new-{k}" for k in range(4)}
    assert again[emails[4]].removed == ("s4-0",)
    assert all(again[e].empty for e in emails if e not in (emails[1], emails[4]))
    assert len(batches(fake)) == 1
    assert [(r.mailbox, "$skiptoken=" in r.path) for r in plain(fake)] == [(emails[4], True)] * 2
    fake.fake.log.clear()
    assert all(r.empty for r in sync(ctxs, states).values())  # the new delta links hold
    assert len(batches(fake)) == 1 and plain(fake) == []


def test_mailbox_settings_ride_in_the_batch_and_set_the_zone(fake, tmp_path):
    emails = staff(fake, 15)
    ctxs = contexts(fake, tmp_path, emails, fixed=False)
    results = sync(ctxs, {})
    assert {r.zone for r in results.values()} == {"Europe/Berlin"}
    assert len(batches(fake)) == 2 and plain(fake) == []  # 30 sub-requests: 20 + 10
    assert sum("mailboxSettings" in r.path for r in subs(fake)) == 15


def test_a_planned_answer_is_only_used_for_the_request_that_was_planned(fake, tmp_path):
    emails = staff(fake, 3)
    ctxs = contexts(fake, tmp_path, emails)
    states: dict[str, str | None] = {}
    sync(ctxs, states)
    old = dict(states)
    fake.fake.put(emails[0], graph_event(SpecEvent("moved", at(18, 9), at(18, 10)), emails[0]))
    sync(ctxs, states)  # emails[0] moves to a newer delta link
    assert PROVIDER.prefetch is not None
    PROVIDER.prefetch([PlannedRead(c, WINDOW, JAKARTA, old[c.person.email]) for c in ctxs])
    fake.fake.log.clear()
    with build(ctxs[0]) as connector:  # reads from the newer link: the planned poll is not its answer
        assert connector.read_changes(WINDOW, JAKARTA, states[emails[0]]).empty
    assert batches(fake) == [] and len(plain(fake)) == 1


def test_throttled_sub_requests_are_retried_in_a_later_batch(fake, tmp_path):
    emails = staff(fake, 4)
    ctxs = contexts(fake, tmp_path, emails)
    states: dict[str, str | None] = {}
    sync(ctxs, states)
    fake.fake.throttle_in_batch(emails[2], 2, retry_after=1)
    fake.fake.log.clear()
    results = sync(ctxs, states)
    assert all(isinstance(r, ChangeSet) and r.empty for r in results.values())
    assert len(batches(fake)) == 3 and plain(fake) == []
    assert [r.status for r in subs(fake) if r.mailbox == emails[2]] == [429, 429, 200]


def test_throttling_past_the_budget_is_a_rate_limit_for_that_person_only(fake, tmp_path):
    emails = staff(fake, 4)
    ctxs = contexts(fake, tmp_path, emails, max_retry_wait=1.5)
    states: dict[str, str | None] = {}
    sync(ctxs, states)
    fake.fake.throttle_in_batch(emails[2], 50, retry_after=1)
    fake.fake.log.clear()
    results = sync(ctxs, states)
    assert isinstance(results[emails[2]], RateLimited) and "throttling" in results[emails[2]].public
    assert all(isinstance(results[e], ChangeSet) and results[e].empty for e in emails if e != emails[2])
    assert len(batches(fake)) == 2 and plain(fake) == []  # one retry fits in 1.5 s, then it gives up


def test_a_batch_takes_one_of_the_four_slots_of_each_mailbox_in_it(fake, tmp_path):
    load_scenario(fake)
    emails = staff(fake, 19) + [OWNER]
    ctxs = contexts(fake, tmp_path, emails, max_concurrency=16)
    slot = mailbox_slot(ctxs[0].settings, OWNER)
    for _ in range(4):  # four requests of this process are in flight to OWNER's mailbox
        slot.acquire()
    done: list[dict] = []
    worker = threading.Thread(target=lambda: done.append(sync(ctxs, {})))
    worker.start()
    time.sleep(0.5)
    assert batches(fake) == [] and not done  # the batch waits for a slot of OWNER's mailbox
    for _ in range(4):
        slot.release()
    worker.join(10)
    assert done and all(isinstance(r, ChangeSet) and r.full for r in done[0].values())
    assert len(batches(fake)) == 1 and plain(fake) == []
    assert not any(r.status == 429 for r in fake.fake.graph_requests())
