"""The store as a user (operator, person, auditor) would notice it behave."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from balanced_calendar.model import Event, Kind, UserError
from balanced_calendar.store import (SCHEMA_VERSION, NotEnrolled, PersonRecord, SQLiteStore, Store, StoreError,
                                     open_store)
from balanced_calendar.store.sqlite import DB_NAME, MIGRATIONS
from tests.contract.store_suite import (ME, OTHER, T0, UTC, WINDOW, at, audit_result, enroll_two, fill_everything,
                                        meeting, state)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def store(state_dir: Path) -> Store:
    s = open_store(state_dir)
    enroll_two(s)
    yield s
    s.close()


def raw_bytes(state_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(state_dir.glob(DB_NAME + "*")))


def sql(state_dir: Path, query: str, *args: object) -> list[tuple]:
    with sqlite3.connect(state_dir / DB_NAME) as conn:
        return conn.execute(query, args).fetchall()


# -- opening, schema, files -------------------------------------------------------------------

def test_new_store_creates_private_dir_and_file_at_current_schema(state_dir: Path) -> None:
    with open_store(state_dir) as store:
        store.upsert_person(PersonRecord(email=ME, connector="ics"))
        files = sorted(p.name for p in state_dir.glob(DB_NAME + "*"))
        assert files == [DB_NAME, f"{DB_NAME}-shm", f"{DB_NAME}-wal"]
        for name in files:
            assert stat.S_IMODE((state_dir / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    assert sql(state_dir, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert sql(state_dir, "PRAGMA journal_mode") == [("wal",)]


def test_pseudonyms_are_stable_per_address_and_differ_between_installations(tmp_path: Path) -> None:
    with open_store(tmp_path / "a") as a, open_store(tmp_path / "b") as b:
        assert a.pseudonym(ME) == a.pseudonym(ME.lower()) == a.pseudonym(f" {ME.upper()} ")
        assert a.pseudonym(ME) != a.pseudonym(OTHER)
        assert a.pseudonym(ME) != b.pseudonym(ME)  # per-installation secret


def test_older_schema_is_migrated_in_place_keeping_data(state_dir: Path) -> None:
    extra = ("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)",)
    with SQLiteStore(state_dir, migrations=MIGRATIONS) as old:
        old.upsert_person(PersonRecord(email=ME, connector="ics"))
    with SQLiteStore(state_dir, migrations=(*MIGRATIONS, extra)) as new:
        assert new.get_person(ME).connector == "ics"
    assert sql(state_dir, "PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]
    assert sql(state_dir, "SELECT count(*) FROM notes") == [(0,)]


SCHEMA_1 = (  # schema 1 as released, copied here: the upgrade test must not trust the code's copy
    """CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value BLOB NOT NULL
    )""",
    """CREATE TABLE people (
        id          INTEGER PRIMARY KEY,
        email       TEXT NOT NULL,
        email_key   TEXT NOT NULL UNIQUE,
        pseudonym   TEXT NOT NULL UNIQUE,
        connector   TEXT NOT NULL,
        calendar    TEXT NOT NULL,
        timezone    TEXT NOT NULL,
        language    TEXT NOT NULL,
        team        TEXT,
        protect     INTEGER NOT NULL CHECK (protect IN (0, 1)),
        digest      INTEGER NOT NULL CHECK (digest IN (0, 1)),
        enrolled_at TEXT NOT NULL
    )""",
    """CREATE TABLE consents (
        id           INTEGER PRIMARY KEY,
        person_id    INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        at           TEXT NOT NULL,
        scopes       TEXT NOT NULL,
        purposes     TEXT NOT NULL,
        text_version TEXT NOT NULL,
        language     TEXT NOT NULL
    )""",
    """CREATE INDEX consents_person ON consents(person_id, at)""",
    """CREATE TABLE credentials (
        person_id  INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        provider   TEXT NOT NULL,
        blob       BLOB NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (person_id, provider)
    ) WITHOUT ROWID""",
    """CREATE TABLE sync_state (
        person_id    INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        calendar     TEXT NOT NULL,
        token        TEXT,
        window_start TEXT,
        window_end   TEXT,
        last_sync    TEXT,
        last_error   TEXT,
        PRIMARY KEY (person_id, calendar)
    ) WITHOUT ROWID""",
    """CREATE TABLE events (
        person_id         INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        calendar          TEXT NOT NULL,
        uid_hash          TEXT NOT NULL,
        all_day           INTEGER NOT NULL CHECK (all_day IN (0, 1)),
        start_utc         INTEGER,
        end_utc           INTEGER,
        start_date        TEXT,
        end_date          TEXT,
        status            TEXT NOT NULL CHECK (status IN ('confirmed', 'tentative', 'cancelled')),
        response          TEXT NOT NULL CHECK (response IN
                          ('organizer', 'accepted', 'tentative', 'declined', 'needs_action', 'unknown')),
        show_as           TEXT NOT NULL CHECK (show_as IN
                          ('busy', 'tentative', 'free', 'oof', 'working_elsewhere')),
        kind              TEXT NOT NULL CHECK (kind IN
                          ('event', 'focus', 'out_of_office', 'working_location', 'own_block')),
        others            INTEGER NOT NULL CHECK (others >= 0),
        organizer_is_self INTEGER NOT NULL CHECK (organizer_is_self IN (0, 1)),
        CHECK ((all_day = 0 AND start_utc IS NOT NULL AND end_utc IS NOT NULL
                AND start_date IS NULL AND end_date IS NULL)
            OR (all_day = 1 AND start_date IS NOT NULL AND end_date IS NOT NULL
                AND start_utc IS NULL AND end_utc IS NULL))
    )""",
    """CREATE INDEX events_person_start ON events(person_id, start_utc)""",
    """CREATE INDEX events_person_date ON events(person_id, start_date)""",
    """CREATE INDEX events_uid ON events(person_id, calendar, uid_hash)""",
    """CREATE TABLE audit_days (
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        day       TEXT NOT NULL,
        figures   TEXT NOT NULL,
        PRIMARY KEY (person_id, day)
    ) WITHOUT ROWID""",
    """CREATE TABLE findings (
        id        INTEGER PRIMARY KEY,
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        day       TEXT NOT NULL,
        rule      TEXT NOT NULL,
        fields    TEXT NOT NULL
    )""",
    """CREATE INDEX findings_person_day ON findings(person_id, day)""",
    """CREATE TABLE own_blocks (
        person_id   INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        block_id    TEXT NOT NULL,
        day         TEXT NOT NULL,
        start_utc   INTEGER NOT NULL,
        end_utc     INTEGER NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('focus', 'recovery', 'break')),
        title       TEXT,
        provider_id TEXT,
        fingerprint TEXT,
        state       TEXT NOT NULL CHECK (state IN ('active', 'deleted_by_user', 'edited_by_user')),
        PRIMARY KEY (person_id, block_id)
    )""",
    """CREATE INDEX own_blocks_day ON own_blocks(person_id, day)""",
    """CREATE TABLE tombstones (
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        block_id  TEXT NOT NULL,
        day       TEXT NOT NULL,
        PRIMARY KEY (person_id, block_id, day)
    ) WITHOUT ROWID""",
    """CREATE TABLE outbox (
        key          TEXT PRIMARY KEY,
        person_id    INTEGER REFERENCES people(id) ON DELETE CASCADE,
        recipient    TEXT NOT NULL,
        message      BLOB NOT NULL,
        created      TEXT NOT NULL,
        attempts     INTEGER NOT NULL DEFAULT 0,
        next_attempt TEXT,
        sent_at      TEXT,
        last_error   TEXT
    )""",
    """CREATE INDEX outbox_due ON outbox(sent_at, next_attempt)""",
    """CREATE INDEX outbox_person ON outbox(person_id)""",
    """CREATE TABLE runs (
        person_id  INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        kind       TEXT NOT NULL,
        at         TEXT NOT NULL,
        ok         INTEGER NOT NULL CHECK (ok IN (0, 1)),
        error      TEXT,
        last_ok_at TEXT,
        PRIMARY KEY (person_id, kind)
    ) WITHOUT ROWID""",
    """CREATE TABLE erasure_log (
        id        INTEGER PRIMARY KEY,
        pseudonym TEXT NOT NULL,
        erased_at TEXT NOT NULL,
        reason    TEXT NOT NULL
    )""",
)

def test_a_schema_1_database_is_upgraded_in_place(state_dir: Path) -> None:
    state_dir.mkdir(mode=0o700)
    with sqlite3.connect(state_dir / DB_NAME) as conn:
        for statement in SCHEMA_1:
            conn.execute(statement)
        conn.execute("INSERT INTO people(id, email, email_key, pseudonym, connector, calendar, timezone, language,"
                     " team, protect, digest, enrolled_at) VALUES (7, 'Siti.Rahma@kemenkeu.go.id',"
                     " 'siti.rahma@kemenkeu.go.id', 'p-0123456789ab', 'google', 'primary', 'Asia/Jakarta', 'id',"
                     " NULL, 1, 1, '2026-12-01T00:00:00.000000Z')")
        conn.execute("INSERT INTO own_blocks(person_id, block_id, day, start_utc, end_utc, kind, title, provider_id,"
                     " fingerprint, state) VALUES (7, 'bc-1', '2026-12-15', 1797294600, 1797301800, 'focus',"
                     " 'Fokus', 'evt-1', 'sha:1', 'active')")
        conn.execute("PRAGMA user_version = 1")
    with open_store(state_dir) as store:
        [block] = store.own_blocks(ME)
        assert (block.provider_id, block.etag, block.fingerprint) == ("evt-1", None, "sha:1")
        assert block.start == dt.datetime(2026, 12, 15, 0, 30, tzinfo=UTC)
        store.upsert_own_block(dataclasses.replace(block, etag='"e-2"'))
        assert store.own_blocks(ME)[0].etag == '"e-2"'
        assert store.get_person(ME).pseudonym == "p-0123456789ab"
        assert store.enqueue_job("digest:p-0123456789ab:2026-W51", "digest", "p-0123456789ab", T0)
        assert store.integrity_check() == "ok"
    assert sql(state_dir, "PRAGMA user_version") == [(SCHEMA_VERSION,)] == [(2,)]
    columns = [row[1] for row in sql(state_dir, "PRAGMA table_info(own_blocks)")]
    assert columns[-1] == "etag"


def test_database_from_a_newer_version_is_refused_untouched(state_dir: Path) -> None:
    open_store(state_dir).close()
    sql(state_dir, f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    before = (state_dir / DB_NAME).read_bytes()
    with pytest.raises(StoreError, match="newer balanced-calendar") as err:
        open_store(state_dir)
    assert "upgrade" in (err.value.hint or "")
    assert (state_dir / DB_NAME).read_bytes() == before


def test_a_file_that_is_not_a_database_is_a_clear_error(state_dir: Path) -> None:
    state_dir.mkdir(mode=0o700)
    (state_dir / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="damaged or not a balanced-calendar database"):
        open_store(state_dir)


# -- data minimisation ------------------------------------------------------------------------

def test_no_title_location_address_or_raw_uid_reaches_the_database(store: Store, state_dir: Path) -> None:
    secret_uid = "RAW-UID-7f3a9c@google.com"
    block = Event(uid="RAW-UID-block-42", start=at("2026-12-15", "07:30"), end=at("2026-12-15", "09:30"),
                  kind=Kind.OWN_BLOCK, title="SENTINEL-TITLE-Fokus")
    store.replace_events(ME, "primary", *WINDOW, [meeting(secret_uid), block], state())
    store.apply_changes(ME, "primary", [meeting("RAW-UID-incremental")], [], state(token="tok-2"))
    columns = {row[1] for row in sql(state_dir, "PRAGMA table_info(events)")}
    assert not columns & {"title", "summary", "description", "location", "address", "attendees", "uid"}
    store.close()
    data = raw_bytes(state_dir)
    for needle in (b"SENTINEL-TITLE", b"RAW-UID", b"7f3a9c"):
        assert needle not in data
    loaded = open_store(state_dir).load_events(ME, *WINDOW)
    assert {e.uid for e in loaded}.isdisjoint({secret_uid, "RAW-UID-block-42"})
    assert all(len(e.uid) == 64 and e.title is None for e in loaded)


def test_team_audit_reads_each_table_once_however_large_the_team(store: Store) -> None:
    team = [f"asn{i}@bkn.go.id" for i in range(40)]
    for email in team:
        store.upsert_person(PersonRecord(email=email, connector="ics"))
        store.save_audit(email, audit_result("2026-12-14", "2026-12-20", 60, email))
    statements: list[str] = []
    store._db().set_trace_callback(statements.append)  # type: ignore[attr-defined]
    try:
        members = store.team_audit([*team, "gone@bkn.go.id"], dt.date(2026, 12, 14), dt.date(2026, 12, 20))
    finally:
        store._db().set_trace_callback(None)  # type: ignore[attr-defined]
    assert len(members) == 40 and all(len(m.days) == 7 and len(m.findings) == 3 for m in members)
    assert len([q for q in statements if q.lstrip().upper().startswith("SELECT")]) == 3


# -- erasure ------------------------------------------------------------------------------------------

def test_erasure_removes_every_row_of_the_person_and_keeps_only_a_pseudonymous_log(
        store: Store, state_dir: Path) -> None:
    fill_everything(store, ME)
    fill_everything(store, OTHER)
    pid = sql(state_dir, "SELECT id FROM people WHERE email_key = ?", ME.lower())[0][0]
    pseudonym = store.erase_person(ME, "consent_withdrawn")
    assert pseudonym == store.pseudonym(ME)

    tables = [t for (t,) in sql(state_dir, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        columns = [row[1] for row in sql(state_dir, f"PRAGMA table_info({table})")]
        if "person_id" in columns:
            assert sql(state_dir, f"SELECT count(*) FROM {table} WHERE person_id = ?", pid) == [(0,)], table
            assert sql(state_dir, f"SELECT count(*) FROM {table}")[0][0] > 0, f"{table}: the other person's rows"
        for row in sql(state_dir, f"SELECT * FROM {table}"):
            text = repr(row).lower()
            assert ME.lower() not in text, table
            assert table == "erasure_log" or pseudonym not in text, table
    assert sql(state_dir, "SELECT count(*) FROM jobs") == [(2,)]  # the other person's
    [entry] = store.erasure_log()
    assert (entry.pseudonym, entry.reason) == (pseudonym, "consent_withdrawn")
    assert sql(state_dir, "SELECT * FROM erasure_log")[0][1:] == (pseudonym, sql(
        state_dir, "SELECT erased_at FROM erasure_log")[0][0], "consent_withdrawn")
    with pytest.raises(NotEnrolled):
        store.get_person(ME)
    store.close()
    data = raw_bytes(state_dir).lower()
    assert ME.lower().encode() not in data  # secure_delete + WAL truncation: no leftover bytes
    assert OTHER.encode() in data


# -- locking and crash safety ---------------------------------------------------------------------------

def _python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


HOLD_LOCK = """
    import sys, time
    from pathlib import Path
    from balanced_calendar.store import open_store
    store = open_store(Path(sys.argv[1]))
    with store.exclusive("sync"):
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
"""


def test_a_second_sync_is_refused_naming_the_running_one(store: Store, state_dir: Path) -> None:
    child = subprocess.Popen([*_python(HOLD_LOCK), str(state_dir), "60"], stdout=subprocess.PIPE, text=True,
                             env=_env())
    try:
        assert child.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with pytest.raises(UserError, match=rf"another sync is running \(pid {child.pid}\)"):
            with store.exclusive("sync", wait=0.3):
                pytest.fail("two holders of the sync lock")
        assert time.monotonic() - started >= 0.25
        with store.exclusive("digest"):  # other locks are independent
            pass
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    # the kernel released the dead holder's lock: no stale lock file blocks us
    with store.exclusive("sync"):
        assert (state_dir / "sync.lock").read_text().strip() == str(os.getpid())


def test_a_second_sync_can_wait_for_the_first(store: Store, state_dir: Path) -> None:
    child = subprocess.Popen([*_python(HOLD_LOCK), str(state_dir), "0.5"], stdout=subprocess.PIPE, text=True,
                             env=_env())
    try:
        assert child.stdout.readline().strip() == "locked"
        with store.exclusive("sync", wait=20):
            assert child.wait(timeout=5) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_the_lock_also_excludes_a_second_holder_in_the_same_process(store: Store) -> None:
    with store.exclusive("sync"):
        with pytest.raises(UserError, match=f"pid {os.getpid()}"):
            with store.exclusive("sync"):
                pass


BATCH = 40
WRITER = """
    import sys, datetime as dt
    from pathlib import Path
    from balanced_calendar.model import Event
    from balanced_calendar.store import open_store, SyncState, PersonRecord
    store = open_store(Path(sys.argv[1]))
    me = "writer@example.go.id"
    try:
        store.get_person(me)
    except Exception:
        store.upsert_person(PersonRecord(email=me, connector="ics"))
    done = int(store.get_sync_state(me, "primary").token or 0)
    t0 = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    first = True
    while True:
        done += 1
        events = [Event(uid=f"batch{done}-{i}", start=t0 + dt.timedelta(minutes=i),
                        end=t0 + dt.timedelta(minutes=i + 30), others=1) for i in range(%d)]
        store.apply_changes(me, "primary", events, [], SyncState(me, "primary", token=str(done)))
        if first:
            print("writing", flush=True)
            first = False
""" % BATCH


def test_kill_minus_nine_during_writes_leaves_only_whole_batches(state_dir: Path) -> None:
    import random

    rng = random.Random(7)
    for _ in range(6):
        child = subprocess.Popen([*_python(WRITER), str(state_dir)], stdout=subprocess.PIPE, text=True,
                                 env=_env())
        try:
            assert child.stdout.readline().strip() == "writing"
            time.sleep(rng.uniform(0.05, 0.4))
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
    with open_store(state_dir) as store:
        assert store.integrity_check() == "ok"
        batches = int(store.get_sync_state("writer@example.go.id", "primary").token)
    rows, distinct = sql(state_dir, "SELECT count(*), count(DISTINCT uid_hash) FROM events")[0]
    assert batches >= 6
    assert rows == distinct == batches * BATCH  # whole batches, each with its sync state, no duplicates


def test_a_worker_pool_can_share_one_store(store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    people = [f"asn{i}@bkn.go.id" for i in range(8)]
    for email in people:
        store.upsert_person(PersonRecord(email=email, connector="ics"))

    def sync(email: str) -> int:
        for n in range(5):
            store.apply_changes(email, "primary", [meeting(f"{email}-{n}-{i}") for i in range(20)], [],
                                state(email=email, token=str(n)))
        return len(store.load_events(email, *WINDOW))

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(sync, people)) == [100] * 8


def test_two_processes_writing_at_once_both_succeed(state_dir: Path) -> None:
    open_store(state_dir).close()
    children = [subprocess.Popen([*_python(WRITER), str(state_dir)], stdout=subprocess.PIPE, text=True,
                                 env=_env()) for _ in range(2)]
    try:
        for child in children:
            assert child.stdout.readline().strip() == "writing"
        time.sleep(0.5)
        assert all(child.poll() is None for child in children)  # neither crashed on "database is locked"
    finally:
        for child in children:
            child.kill()
            child.wait()
    with open_store(state_dir) as store:
        assert store.integrity_check() == "ok"
