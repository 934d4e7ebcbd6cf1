"""Several ``balanced-calendar run`` instances sharing one PostgreSQL database (docs/scaling.md).

Real processes, a real PostgreSQL server (tests/pgserver.py) reached over 127.0.0.1 with a
password read from ``store_password_file``, real ICS calendars served over HTTP with a
delay so that syncs take long enough to be interrupted. ``kill -9`` is a real SIGKILL and
the database restart a real ``pg_ctl stop -m immediate`` + ``start``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from balanced_calendar.config import load_config
from balanced_calendar.demo.agency import DemoAgency, DemoPerson
from balanced_calendar.enrollment import EnrollRequest, enroll
from balanced_calendar.runtime import open_runtime
from balanced_calendar.vault import write_key
from tests.pgserver import PASSWORD, PgServer
from tests.test_daemon import (BIN, EMAIL, CalendarServer, DaemonProcess, agency, spawn,  # noqa: F401
                               titles, write_config)

HOST = socket.gethostname()
ENV = {"BALANCED_CALENDAR_TICK_SECONDS": "1", "BALANCED_CALENDAR_STOP_TIMEOUT": "5"}


@pytest.fixture
def slow_server(agency: DemoAgency) -> Iterator[CalendarServer]:  # noqa: F811
    server = CalendarServer(agency.people[0].ics_path.parent)
    server.delay = 0.4
    yield server
    server.close()


def cluster_config(tmp: Path, server: PgServer, database: str, people: list[tuple[DemoPerson, str]],
                   lease: int = 15) -> Path:
    """A config whose store is the PostgreSQL database; the password only in a 0600 file."""
    write_key(tmp / "vault-key")
    password = tmp / "store-password"
    password.write_text(PASSWORD + "\n", encoding="utf-8")
    password.chmod(0o600)
    config = write_config(tmp / "config.toml", people, workers=1, interval=15, jitter=0)
    text = config.read_text(encoding="utf-8").replace(
        "[service]\n", f'[service]\nstore = "{server.tcp_url(database)}"\nstore_password_file = "store-password"\n'
                       f"job_lease_seconds = {lease}\n", 1)
    config.write_text(text, encoding="utf-8")
    assert PASSWORD not in text
    return config


def enroll_people(config: Path, people: list[DemoPerson]) -> None:
    with open_runtime(load_config(config), environ={}) as rt:
        for person in people:
            enroll(rt, EnrollRequest(email=person.email, provider="ics"))


def sync_jobs(server: PgServer, database: str) -> list[tuple[str, str, str | None, str | None, int, int | None]]:
    """``(key, subject, lease_owner, done_by, attempts, ok)`` of every sync job."""
    with server.admin(database) as conn:
        return conn.execute("SELECT key, subject, lease_owner, done_by, attempts, ok FROM jobs "
                            "WHERE kind = 'sync' ORDER BY key").fetchall()


def synced_lines(daemons: list[DaemonProcess]) -> list[str]:
    """The pseudonym of every "synced <pseudonym>:" log line of all instances."""
    return [m.group(1) for d in daemons for line in d.stdout for m in [re.search(r"synced (p-[0-9a-f]{12}):", line)]
            if m]


def wait_for(check: Callable[[], object], timeout: float, what: str, daemons: list[DaemonProcess]) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}:\n" + "\n---\n".join(d.output()[-3000:] for d in daemons))


def test_three_instances_share_the_work_survive_kill_9_and_a_database_restart(
        agency: DemoAgency, slow_server: CalendarServer, spawn: Callable[..., DaemonProcess],  # noqa: F811
        pg_server: PgServer, pg_database: str, tmp_path: Path) -> None:
    people = agency.people
    first, late = people[:-1], people[-1]
    config = cluster_config(tmp_path, pg_server, pg_database, [(p, slow_server.url(p)) for p in people])
    enroll_people(config, first)

    daemons = [spawn(config, env=ENV) for _ in range(3)]
    a, b, c = daemons
    workers = {d: f"{HOST}:{d.pid}" for d in daemons}
    # A is mid-job: it logged its first sync and still holds leases on jobs it has not finished.
    wait_for(lambda: a.log_count("synced p-"), 60, "instance A to sync someone", daemons)
    held = {key for key, _, owner, *_ in sync_jobs(pg_server, pg_database) if owner == workers[a]}
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait(10)
    assert held, "A held no lease when it was killed"

    def all_done() -> bool:
        jobs = sync_jobs(pg_server, pg_database)
        return len(jobs) == len(first) and all(ok == 1 for *_, ok in jobs)

    wait_for(all_done, 90, "every sync job done", daemons)
    jobs = sync_jobs(pg_server, pg_database)
    # one job per person for the slot, each finished once, by a living instance when A held it
    assert len({subject for _, subject, *_ in jobs}) == len(first)
    assert all(attempts == 1 and owner is None for _, _, owner, _, attempts, _ in jobs)
    assert all(done_by in (workers[b], workers[c]) for key, _, _, done_by, *_ in jobs if key in held)
    assert {done_by for *_, done_by, _, _ in jobs} <= set(workers.values())
    assert len({done_by for *_, done_by, _, _ in jobs}) >= 2, "the work was not shared"
    # each person synced exactly once, except the ones A may have read before it died
    lines = synced_lines(daemons)
    held_subjects = {subject for key, subject, *_ in jobs if key in held}
    for _, subject, *_ in jobs:
        assert lines.count(subject) == 1 or (subject in held_subjects and lines.count(subject) == 2), (
            subject, lines.count(subject))
    # nothing lost or duplicated in the store
    with pg_server.admin(pg_database) as conn:
        counts = dict(conn.execute("SELECT p.pseudonym, count(e.person_id) FROM people p "
                                   "LEFT JOIN events e ON e.person_id = p.id GROUP BY p.pseudonym").fetchall())
        duplicates = conn.execute("SELECT person_id, calendar, uid_hash, start_utc, start_date, count(*) FROM events "
                                  "GROUP BY 1, 2, 3, 4, 5 HAVING count(*) > 1").fetchall()
    assert all(n > 0 for n in counts.values()) and len(counts) == len(first)
    assert duplicates == []

    # The database restarts under the running instances: they reconnect and take new work.
    pg_server.restart()
    enroll_people(config, [late])
    late_pseudonym = wait_for(lambda: [s for _, s, _, _, _, ok in sync_jobs(pg_server, pg_database)
                                       if ok == 1 and s not in counts], 60, "the late person's sync", daemons)
    [late_subject] = late_pseudonym  # type: ignore[misc]
    [late_job] = [j for j in sync_jobs(pg_server, pg_database) if j[1] == late_subject]
    assert late_job[3] in (workers[b], workers[c])

    # `status` shows which instance did what last; no password anywhere in what it prints
    out = subprocess.run([str(BIN), "status", "--config", str(config)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60, env={**os.environ})
    assert out.returncode == 0, out.stderr
    assert "by instance" in out.stdout and (workers[b] in out.stdout or workers[c] in out.stdout)
    assert late_job[3] in out.stdout
    for d in (b, c):
        code, _ = d.stop(signal.SIGTERM, timeout=30)
        assert code == 0, d.output()[-3000:]
    logs = "\n".join(d.output() for d in daemons) + out.stdout + out.stderr
    assert PASSWORD not in logs
    assert not EMAIL.search(logs), EMAIL.search(logs)

    # Data minimisation: a dump of the whole database holds no title, no attendee or organizer
    # address, no name; the enrolled addresses appear only in the people table and, as the
    # recipients of their own weekly digests, in the mail outbox.
    dump = pg_server.dump(pg_database)
    people_block = re.search(r"COPY public\.people .*?\n\\\.\n", dump, re.S)
    assert people_block is not None
    rest = dump.replace(people_block.group(0), "")
    outbox_block = re.search(r"COPY public\.outbox .*?\n\\\.\n", rest, re.S)
    if outbox_block is not None:
        enrolled = {p.email for p in people}
        assert set(EMAIL.findall(outbox_block.group(0))) <= enrolled
        rest = rest.replace(outbox_block.group(0), "")
    assert not EMAIL.search(rest), EMAIL.search(rest)
    for title in titles(agency):
        assert title not in dump, title
    for person in people:
        assert person.name not in dump
    enrolled = {p.email for p in people}
    assert set(EMAIL.findall(people_block.group(0))) <= enrolled
