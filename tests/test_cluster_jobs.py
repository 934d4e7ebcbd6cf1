"""Every job kind on a shared PostgreSQL store: claimed by one instance, its effect once.

Real processes on a real PostgreSQL server (tests/pgserver.py):

- three service instances (tests/cluster_instance.py: the daemon's own tick, clock set to a
  Monday morning) run the sync, digest, report and plan jobs of people whose calendars live on
  a real Radicale server (tests/radicale_server.py): each digest and each leader's report lands
  in the Maildir once, each planner block is written into Radicale once;
- two ``balanced-calendar run`` daemons lose the database (``pg_ctl stop -m immediate``) in
  the middle of their sync jobs: once it is back, the jobs that failed are run again within
  seconds — not at the next slot, not after their lease — and each person's events are
  stored once.
"""

from __future__ import annotations

import collections
import datetime as dt
import email
import email.policy
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from balanced_calendar.config import load_config
from balanced_calendar.demo.agency import DemoAgency
from balanced_calendar.enrollment import EnrollRequest, enroll
from balanced_calendar.runtime import open_runtime
from balanced_calendar.vault import write_key
from connectors._dav_enroll import PASSWORD_ENV
from tests.pgserver import PASSWORD, PgServer
from tests.radicale_server import PASSWORD as DAV_PASSWORD
from tests.radicale_server import Calendar, RadicaleServer, radicale  # noqa: F401
from tests.test_cluster import HOST, cluster_config, enroll_people, slow_server  # noqa: F401
from tests.test_daemon import DaemonProcess, agency, spawn  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
#: Monday 2026-12-21 08:05 WIB: the digest (07:00), the report (08:00) and the daily plan (05:30) are due
MONDAY = dt.datetime(2026, 12, 21, 1, 5, tzinfo=dt.timezone.utc)
TEAMS = {"ops": 3, "audit": 3}
OWN_ID = re.compile(r"^X-BALANCED-CALENDAR-ID(?:;[^:\r\n]*)?:(.*?)\r?$", re.MULTILINE)
MEETING = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
           "DTSTAMP:20261201T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\nSUMMARY:Rapat\r\n"
           "ORGANIZER:mailto:boss@agency.go.id\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:{email}\r\n"
           "ATTENDEE;PARTSTAT=ACCEPTED:mailto:ani@agency.go.id\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def wait_for(check: Callable[[], object], timeout: float, what: str, logs: Callable[[], str]) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}:\n{logs()[-20000:]}")


def jobs(server: PgServer, database: str, kind: str | None = None) -> list[tuple]:  # type: ignore[type-arg]
    """``(key, kind, subject, done_by, attempts, ok, lease_owner)`` of every job (of ``kind``)."""
    with server.admin(database) as conn:
        return conn.execute("SELECT key, kind, subject, done_by, attempts, ok, lease_owner FROM jobs "
                            "WHERE %s::text IS NULL OR kind = %s ORDER BY key", (kind, kind)).fetchall()


def dav_site(tmp: Path, server: PgServer, database: str, dav: RadicaleServer) -> tuple[Path, dict[str, Calendar]]:
    """Teams whose members keep their calendars on Radicale (own accounts), all ``protect = true``."""
    write_key(tmp / "vault-key")
    (tmp / "store-password").write_text(PASSWORD + "\n")
    (tmp / "store-password").chmod(0o600)
    calendars: dict[str, Calendar] = {}
    teams, people = [], []
    run = f"{os.getpid()}-{time.monotonic_ns() % 10**8}"
    for team, size in TEAMS.items():
        members = [f"{team}{i}-{run}@agency.go.id" for i in range(size)]
        teams.append(f'[[teams]]\nid = "{team}"\nname = "Team {team}"\nleaders = ["{members[0]}"]\n')
        for address in members:
            dav.add_user(address)
            calendars[address] = dav.new_calendar(username=address)
            people.append(f'[[people]]\nemail = "{address}"\nconnector = "caldav"\ncalendar = "{calendars[address].url}"\n'
                          f'team = "{team}"\nprotect = true\nlanguage = "en"\n')
            for n, day in enumerate(("20261215", "20261216", "20261222")):  # last week and this week
                calendars[address].put(f"m{n}.ics", MEETING.format(uid=f"m{n}-{address}", email=address,
                                                                   start=f"{day}T020000Z", end=f"{day}T033000Z"))
    config = tmp / "config.toml"
    config.write_text(f'''[service]
store = "{server.tcp_url(database)}"
store_password_file = "store-password"
job_lease_seconds = 120
state_dir = "state"
vault_key_file = "vault-key"
policy = "asn-id"
timezone = "Asia/Jakarta"
language = "en"
sync_past_weeks = 2
sync_future_weeks = 3
sync_interval_minutes = 15
sync_jitter_seconds = 0
workers = 1
log_level = "info"

[mail]
transport = "maildir"
maildir = "outbox"
from = "balanced-calendar@agency.go.id"

[connectors.caldav]
url = "{dav.url}/"
server = "radicale"
max_retry_wait = 5

''' + "\n".join(teams + people))
    return config, calendars


def own_block_ids(calendar: Calendar) -> list[str]:
    """The X-BALANCED-CALENDAR-ID of every resource in the calendar, as a fresh client reads them."""
    found = []
    for name in calendar.names():
        found += OWN_ID.findall(calendar.get(name) or "")
    return found


def test_three_instances_send_each_digest_and_report_once_and_write_each_block_once(
        pg_server: PgServer, pg_database: str, radicale: RadicaleServer,  # noqa: F811
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, calendars = dav_site(tmp_path, pg_server, pg_database, radicale)
    monkeypatch.setenv(PASSWORD_ENV, DAV_PASSWORD)  # each person's own CalDAV password, kept in the vault
    with open_runtime(load_config(config), environ={}, clock=lambda: MONDAY) as rt:
        for address in calendars:
            team = address.split("-", 1)[0].rstrip("0123456789")
            enroll(rt, EnrollRequest(email=address, provider="caldav", calendar=calendars[address].url,
                                     team=team, protect=True, language="en"))
        pseudonyms = {p.email: p.pseudonym for p in rt.store.list_people()}
    monkeypatch.delenv(PASSWORD_ENV)

    stop_file = tmp_path / "stop"
    env = {**os.environ, "BALANCED_CALENDAR_TICK_SECONDS": "0.5", "PYTHONPATH": str(ROOT)}
    logs = [(tmp_path / f"instance{i}.log").open("w") for i in range(3)]
    procs = [subprocess.Popen([sys.executable, str(ROOT / "tests" / "cluster_instance.py"), str(config),
                               MONDAY.isoformat(), str(stop_file)], cwd=tmp_path, env=env, stdout=log,
                              stderr=subprocess.STDOUT) for log in logs]
    workers = {f"{HOST}:{p.pid}" for p in procs}

    def output() -> str:
        return "\n---\n".join((tmp_path / f"instance{i}.log").read_text() for i in range(3))

    def settled() -> bool:
        rows = jobs(pg_server, pg_database)
        kinds = collections.Counter(kind for _, kind, *_ in rows)
        return (kinds["digest"] == len(calendars) and kinds["report"] == len(TEAMS) and kinds["plan"] >= len(calendars)
                and all(ok is not None for *_, ok, _ in rows))

    try:
        wait_for(settled, 55, "every job done", output)
        time.sleep(3)  # a few more ticks of every instance: nothing is sent or written again
    finally:
        stop_file.touch()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        for log in logs:
            log.close()

    rows = jobs(pg_server, pg_database)
    assert all(ok == 1 for *_, ok, _ in rows), [r for r in rows if r[5] != 1]
    # every job ran once, by one of the instances, and the work was shared
    assert all(attempts == 1 and done_by in workers for _, _, _, done_by, attempts, _, _ in rows), rows
    assert len({done_by for _, _, _, done_by, *_ in rows}) >= 2, "one instance did everything"
    by_kind = collections.defaultdict(list)
    for _, kind, subject, *_ in rows:
        by_kind[kind].append(subject)
    assert sorted(by_kind["digest"]) == sorted(pseudonyms.values())
    assert sorted(by_kind["report"]) == sorted(TEAMS)
    assert sorted(set(by_kind["sync"])) == sorted(by_kind["sync"]) == sorted(pseudonyms.values())

    # the Maildir: one digest per person, one report per leader, nothing twice
    sent = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted((tmp_path / "outbox" / "new").iterdir())]
    reports = [m for m in sent if m["Message-ID"].startswith("<report.")]
    digests = [m for m in sent if not m["Message-ID"].startswith("<report.")]
    assert sorted(m["To"] for m in digests) == sorted(calendars)
    assert sorted(m["To"] for m in reports) == sorted(a for a in calendars if a.split("-")[0].endswith("0"))
    assert all("2026-W51" in m["Subject"] for m in reports), [m["Subject"] for m in reports]
    assert len({m["Message-ID"] for m in sent}) == len(sent)
    # … and each message was handed to the transport by one instance, once (the Maildir alone would
    # not show a second delivery: it names a message's file after its key)
    delivered = collections.Counter(re.findall(r"mail (digest|report) for (\S+) delivered", output()))
    assert sorted(s for (kind, s) in delivered if kind == "digest") == sorted(pseudonyms.values())
    assert sorted(s for (kind, s) in delivered if kind == "report") == sorted(TEAMS)
    assert set(delivered.values()) == {1}, delivered

    # Radicale: every planned block exists once, and is the one the store knows
    with open_runtime(load_config(config), environ={}, clock=lambda: MONDAY) as rt:
        for address, calendar in calendars.items():
            ids = own_block_ids(calendar)
            assert ids, f"no block written for {address}"
            assert len(ids) == len(set(ids)), collections.Counter(ids).most_common(3)
            stored = {b.block_id for b in rt.store.own_blocks(address) if b.state == "active"}
            assert set(ids) == stored
    assert "Traceback" not in output()



def test_jobs_failed_by_a_database_outage_run_again_once_it_is_back(
        agency: DemoAgency, slow_server, spawn: Callable[..., DaemonProcess],  # noqa: F811
        pg_server: PgServer, pg_database: str, tmp_path: Path) -> None:
    people = agency.people
    # a long lease: a job held when the database went away must not wait for it to run out
    config = cluster_config(tmp_path, pg_server, pg_database, [(p, slow_server.url(p)) for p in people], lease=600)
    # a store call gives up after 2 s without the server (default 30 s), so a 6 s outage fails the running jobs
    text = config.read_text().replace("[service]\n", "[service]\nstore_timeout_seconds = 2\n", 1)
    config.write_text(text)
    enroll_people(config, people)
    env = {"BALANCED_CALENDAR_TICK_SECONDS": "1", "BALANCED_CALENDAR_STOP_TIMEOUT": "5"}
    daemons = [spawn(config, env=env) for _ in range(2)]

    def output() -> str:
        return "\n---\n".join(d.output() for d in daemons)

    def quiet_output() -> str:  # the log without the pool's reconnection noise
        return "\n---\n".join("\n".join(line for line in d.output().splitlines()
                                           if "psycopg.pool" not in line and "tick still running" not in line
                                           and "Is the server" not in line) for d in daemons)

    def running() -> list[str]:
        return [key for key, *_, lease_owner in jobs(pg_server, pg_database, "sync") if lease_owner is not None]

    # the database goes away while sync jobs are leased and running
    held = wait_for(running, 60, "a sync job running", output)
    pg_server.stop("immediate")
    time.sleep(6)  # the running syncs end without their store: their outcome cannot be written
    pg_server.start()
    back = time.monotonic()

    def all_done() -> bool:
        rows = jobs(pg_server, pg_database, "sync")
        return len(rows) == len(people) and all(ok == 1 for *_, ok, _ in rows)

    wait_for(all_done, 40, "every sync job done after the restart",
             lambda: quiet_output() + "\n" + repr(jobs(pg_server, pg_database, "sync")))
    assert time.monotonic() - back < 40  # seconds, not the 15-minute slot or the 10-minute lease
    rows = {key: (done_by, attempts) for key, _, _, done_by, attempts, *_ in jobs(pg_server, pg_database, "sync")}
    assert set(held) <= set(rows)  # type: ignore[arg-type]
    assert "could not be finished" in output() or "failed for want of the store" in output(), output()[-3000:]
    # each person stored once, nothing duplicated by the second run
    with pg_server.admin(pg_database) as conn:
        counts = dict(conn.execute("SELECT p.pseudonym, count(e.person_id) FROM people p "
                                   "LEFT JOIN events e ON e.person_id = p.id GROUP BY p.pseudonym").fetchall())
        duplicates = conn.execute("SELECT person_id, calendar, uid_hash, start_utc, start_date, count(*) FROM events "
                                  "GROUP BY 1, 2, 3, 4, 5 HAVING count(*) > 1").fetchall()
    assert len(counts) == len(people) and all(n > 0 for n in counts.values()), counts
    assert duplicates == []
    for d in daemons:
        code, _ = d.stop(signal.SIGTERM, timeout=30)
        assert code == 0, d.output()[-3000:]
