"""Due-time jobs per person zone, with catch-up after downtime and nothing run twice.

The store is the real SQLite store; the clock is moved by hand (the service is "down"
between two runners, as across a restart).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from balanced_calendar.due import Daily, JobKind, JobRunner, Subject, Weekly
from balanced_calendar.store import open_store

UTC = dt.timezone.utc
RINA = Subject("p-000000000001", "Asia/Jakarta")   # WIB, UTC+7
YOHAN = Subject("p-000000000002", "Asia/Jayapura")  # WIT, UTC+9


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, subjects: Sequence[Subject], stop: threading.Event) -> dict[str, str]:
        self.calls.append(tuple(sorted(s.id for s in subjects)))
        return {}


@pytest.fixture()
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def run_at(state: Path, when: dt.datetime, kind: JobKind, people: list[Subject]) -> dict[str, int]:
    """One service life: open the store, tick once at ``when``, close (a restart between calls)."""
    with open_store(state) as store:
        runner = JobRunner(store=store, kinds=[kind], subjects=lambda k: people, clock=lambda: when,
                           worker="host:1", generation=when)
        return runner.tick(threading.Event())


def test_a_digest_missed_while_down_goes_out_once_when_the_service_returns(state: Path) -> None:
    digest = Recorder()
    kind = JobKind("digest", Weekly(1, dt.time(7)), digest)
    # Friday 2026-12-11: last Monday's digest (for W49) is more than 3 days over, nothing runs
    assert run_at(state, dt.datetime(2026, 12, 11, 10, tzinfo=UTC), kind, [RINA]) == {}
    # down over Monday 07:00 WIB (00:00 UTC); back at Monday 09:00 WIB
    assert run_at(state, dt.datetime(2026, 12, 14, 2, tzinfo=UTC), kind, [RINA]) == {"digest": 1}
    # restarts later that day and on Tuesday: nothing twice
    assert run_at(state, dt.datetime(2026, 12, 14, 5, tzinfo=UTC), kind, [RINA]) == {}
    assert run_at(state, dt.datetime(2026, 12, 15, 1, tzinfo=UTC), kind, [RINA]) == {}
    assert digest.calls == [(RINA.id,)]
    with open_store(state) as store:
        (job,) = store.jobs("digest")
        assert job.key == f"digest:{RINA.id}:2026-W50" and job.ok
        assert job.due_at == dt.datetime(2026, 12, 14, 0, tzinfo=UTC)  # Monday 07:00 WIB


def test_catch_up_stops_three_days_after_the_covered_week(state: Path) -> None:
    digest = Recorder()
    kind = JobKind("digest", Weekly(1, dt.time(7)), digest)
    # W51's digest was due Monday 2026-12-21; the covered week W51 ended Sunday 24:00
    assert run_at(state, dt.datetime(2026, 12, 23, 16, tzinfo=UTC), kind, [RINA]) == {"digest": 1}  # Wed 23:00 WIB
    assert run_at(state, dt.datetime(2026, 12, 30, 17, 30, tzinfo=UTC), kind, [RINA]) == {}  # Thu 00:30 WIB: too late
    assert digest.calls == [(RINA.id,)]


def test_each_person_is_due_in_their_own_zone(state: Path) -> None:
    digest = Recorder()
    kind = JobKind("digest", Weekly(1, dt.time(7)), digest)
    # Sunday 23:30 UTC = Monday 06:30 WIB, Monday 08:30 WIT: only Yohan's Monday 07:00 has come
    assert run_at(state, dt.datetime(2026, 12, 13, 23, 30, tzinfo=UTC), kind, [RINA, YOHAN]) == {"digest": 1}
    assert digest.calls == [(YOHAN.id,)]
    assert run_at(state, dt.datetime(2026, 12, 14, 0, 5, tzinfo=UTC), kind, [RINA, YOHAN]) == {"digest": 1}
    assert digest.calls == [(YOHAN.id,), (RINA.id,)]


def test_daily_jobs_run_once_per_local_day(state: Path) -> None:
    plan = Recorder()
    kind = JobKind("plan", Daily(dt.time(6)), plan)
    for hour in (0, 1, 5, 12):  # 07:00 … 19:00 WIB on 2026-12-15
        run_at(state, dt.datetime(2026, 12, 15, hour, tzinfo=UTC), kind, [RINA])
    run_at(state, dt.datetime(2026, 12, 15, 23, tzinfo=UTC), kind, [RINA])  # 06:00 WIB next day
    assert plan.calls == [(RINA.id,), (RINA.id,)]


def test_a_failed_job_is_recorded_and_a_stopped_one_waits_for_the_next_start(state: Path) -> None:
    def flaky(subjects: Sequence[Subject], stop: threading.Event) -> dict[str, str]:
        return {RINA.id: "provider down", YOHAN.id: "not started"}

    kind = JobKind("digest", Weekly(1, dt.time(7)), flaky)
    when = dt.datetime(2026, 12, 14, 3, tzinfo=UTC)
    run_at(state, when, kind, [RINA, YOHAN])
    with open_store(state) as store:
        jobs = {j.subject: j for j in store.jobs("digest")}
    assert jobs[RINA.id].ok is False and jobs[RINA.id].last_error == "provider down"
    assert jobs[YOHAN.id].pending  # left for the next start
    recorder = Recorder()
    run_at(state, when + dt.timedelta(minutes=1), JobKind("digest", Weekly(1, dt.time(7)), recorder), [RINA, YOHAN])
    assert recorder.calls == [(YOHAN.id,)]
