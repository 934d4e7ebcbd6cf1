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
from zoneinfo import ZoneInfo

import pytest

from balanced_calendar.model import AuditResult, Event, Finding, InputError, Kind, ShowAs, UserError
from balanced_calendar.store import (
    SCHEMA_VERSION,
    ConsentRecord,
    NotEnrolled,
    OutboxMessage,
    OwnBlock,
    PersonRecord,
    SQLiteStore,
    Store,
    StoreError,
    SyncState,
    open_store,
)
from balanced_calendar.store.sqlite import DB_NAME, MIGRATIONS

JKT = ZoneInfo("Asia/Jakarta")
UTC = dt.timezone.utc
ME = "Siti.Rahma@kemenkeu.go.id"
OTHER = "budi@kemenkeu.go.id"
T0 = dt.datetime(2026, 12, 1, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent


def at(day: str, clock: str, zone: dt.tzinfo = JKT) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time.fromisoformat(clock), zone)


def meeting(uid: str, day: str = "2026-12-14", start: str = "09:00", end: str = "10:00", **kw: object) -> Event:
    kw.setdefault("others", 3)
    return Event(uid=uid, start=at(day, start), end=at(day, end), **kw)  # type: ignore[arg-type]


def state(email: str = ME, calendar: str = "primary", token: str | None = "tok-1") -> SyncState:
    return SyncState(email=email, calendar=calendar, token=token, window_start=at("2026-12-01", "00:00"),
                     window_end=at("2027-01-01", "00:00"), last_sync=T0)


WINDOW = (at("2026-12-01", "00:00"), at("2027-01-01", "00:00"))


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def store(state_dir: Path) -> Store:
    s = open_store(state_dir)
    s.enroll(PersonRecord(email=ME, connector="google", timezone="Asia/Jakarta", team="dit-anggaran",
                          protect=True, enrolled_at=T0),
             ConsentRecord(email=ME, at=T0, scopes=("calendar.readonly", "calendar.events.owned"),
                           purposes=("audit", "digest", "protect"), text_version="2026-11", language="id"))
    s.upsert_person(PersonRecord(email=OTHER, connector="caldav", enrolled_at=T0))
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


def test_reopening_keeps_people_consents_and_pseudonyms(store: Store, state_dir: Path) -> None:
    pseudonym = store.get_person(ME).pseudonym
    store.close()
    with open_store(state_dir) as again:
        person = again.get_person(ME.upper())
        assert person.pseudonym == pseudonym and person.pseudonym.startswith("p-")
        assert len(person.pseudonym) == 14
        assert person.protect and person.team == "dit-anggaran" and person.enrolled_at == T0
        [consent] = again.consents(ME)
        assert consent.scopes == ("calendar.readonly", "calendar.events.owned")
        assert consent.text_version == "2026-11"
        assert [p.email for p in again.list_people()] == [OTHER, ME]


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


def test_unknown_person_is_a_typed_error_not_none(store: Store) -> None:
    with pytest.raises(NotEnrolled) as err:
        store.get_person("nobody@example.org")
    assert str(err.value).startswith("n***@example.org is not enrolled")  # no raw address in messages
    with pytest.raises(NotEnrolled):
        store.load_events("nobody@example.org", *WINDOW)
    assert isinstance(NotEnrolled("x@y"), UserError)


def test_closed_store_refuses_work(store: Store) -> None:
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.list_people()


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


# -- events -------------------------------------------------------------------------------------

def test_events_come_back_normalised_utc_and_dates(store: Store) -> None:
    all_day = Event(uid="cuti", start=dt.date(2026, 12, 24), end=dt.date(2026, 12, 25), all_day=True,
                    show_as=ShowAs.OOF, kind=Kind.OUT_OF_OFFICE)
    store.replace_events(ME, "primary", *WINDOW, [meeting("m1", others=2), all_day], state())
    timed, leave = store.load_events(ME, *WINDOW)
    assert timed.start == dt.datetime(2026, 12, 14, 2, tzinfo=UTC) and timed.start.tzinfo is UTC
    assert timed.others == 2 and timed.calendar == "primary" and not timed.all_day
    assert leave.all_day and leave.start == dt.date(2026, 12, 24) and leave.kind is Kind.OUT_OF_OFFICE
    assert leave.show_as is ShowAs.OOF
    assert store.get_sync_state(ME, "primary") == state()


def test_load_events_returns_only_the_overlapping_ones(store: Store) -> None:
    events = [meeting("before", "2026-12-13"), meeting("inside", "2026-12-14"),
              meeting("night", "2026-12-14", "23:00", "23:30"), meeting("after", "2026-12-16"),
              Event(uid="holiday", start=dt.date(2026, 12, 15), end=dt.date(2026, 12, 16), all_day=True)]
    store.replace_events(ME, "primary", *WINDOW, events, state())
    day = store.load_events(ME, at("2026-12-14", "00:00"), at("2026-12-15", "00:00"))
    assert len(day) == 2  # the all-day 15 December is outside 14 December in Jakarta
    day15 = store.load_events(ME, at("2026-12-15", "00:00"), at("2026-12-16", "00:00"))
    assert [e.all_day for e in day15] == [True]


def test_full_sync_replaces_only_the_window_and_only_that_calendar(store: Store) -> None:
    store.replace_events(ME, "primary", *WINDOW, [meeting("dec")], state())
    jan = (at("2027-01-01", "00:00"), at("2027-02-01", "00:00"))
    store.replace_events(ME, "primary", *jan, [meeting("jan", "2027-01-05")], state())
    store.replace_events(ME, "shared", *WINDOW, [meeting("team")], state(calendar="shared"))
    store.replace_events(ME, "primary", *WINDOW, [meeting("dec2", "2026-12-20")], state(token="t2"))
    loaded = store.load_events(ME, WINDOW[0], jan[1])
    assert sorted((e.calendar, e.start.day) for e in loaded) == [("primary", 5), ("primary", 20), ("shared", 14)]
    assert store.get_sync_state(ME, "primary").token == "t2"
    assert store.load_events(OTHER, WINDOW[0], jan[1]) == []


def test_failed_full_sync_leaves_the_previous_events_and_state(store: Store) -> None:
    store.replace_events(ME, "primary", *WINDOW, [meeting(f"old{i}") for i in range(5)], state(token="good"))
    before = store.load_events(ME, *WINDOW)

    def connector_stream():
        for i in range(50):
            yield meeting(f"new{i}")
        yield meeting("broken", others=-1)  # invalid after 50 rows are already inserted

    with pytest.raises(InputError):
        store.replace_events(ME, "primary", *WINDOW, connector_stream(), state(token="bad"))
    assert store.load_events(ME, *WINDOW) == before
    assert store.get_sync_state(ME, "primary").token == "good"


def test_incremental_sync_upserts_and_deletes_by_uid(store: Store) -> None:
    store.replace_events(ME, "primary", *WINDOW, [meeting("a"), meeting("b", start="11:00", end="12:00"),
                                                  meeting("c", start="13:00", end="14:00")], state())
    moved = meeting("a", start="15:00", end="16:00")
    store.apply_changes(ME, "primary", [moved, meeting("d", "2026-12-17")], ["b", "never-seen"],
                        state(token="tok-2"))
    loaded = store.load_events(ME, *WINDOW)
    assert [(e.start.astimezone(JKT).day, e.start.astimezone(JKT).hour) for e in loaded] == [(14, 13), (14, 15), (17, 9)]
    assert store.get_sync_state(ME, "primary").token == "tok-2"
    # upserting the same uid twice does not duplicate it
    store.apply_changes(ME, "primary", [moved], [], state(token="tok-3"))
    assert len(store.load_events(ME, *WINDOW)) == 3


def test_recurring_series_instances_share_a_uid_and_are_replaced_together(store: Store) -> None:
    weekly = [meeting("series", day) for day in ("2026-12-07", "2026-12-14", "2026-12-21")]
    store.replace_events(ME, "primary", *WINDOW, weekly, state())
    assert len(store.load_events(ME, *WINDOW)) == 3
    store.apply_changes(ME, "primary", weekly[:2], [], state(token="t2"))  # last instance cancelled
    assert len(store.load_events(ME, *WINDOW)) == 2


def test_sync_state_starts_empty(store: Store) -> None:
    empty = store.get_sync_state(ME, "primary")
    assert empty.token is None and empty.last_sync is None


# -- credentials, audit, own blocks, runs ----------------------------------------------------------

def test_credentials_are_kept_as_given_per_provider(store: Store) -> None:
    assert store.get_credentials(ME) is None
    store.put_credentials(ME, "google", b"gAAAA-encrypted-1")
    store.put_credentials(ME, "google", b"gAAAA-encrypted-2")
    assert store.get_credentials(ME) == b"gAAAA-encrypted-2"
    assert store.get_credentials(ME, "google") == b"gAAAA-encrypted-2"
    assert store.get_credentials(ME, "microsoft") is None


def _audit(start: str, end: str, minutes: int) -> AuditResult:
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    days = [{"date": (first + dt.timedelta(days=i)).isoformat(), "work_minutes": minutes, "first_start": None}
            for i in range((last - first).days + 1)]
    findings = [Finding("weekend_work", {"date": end, "minutes": minutes}),
                Finding("meeting_overload", {"week": "2026-W51", "minutes": 900, "limit_minutes": 750}),
                Finding("overtime_streak", {"start": start, "end": end, "days": 3})]
    return AuditResult(person=ME, timezone="Asia/Jakarta", policy="asn-id", start=first, end=last,
                       days=days, findings=findings)


def test_audit_rows_are_replaced_for_the_audited_range_only(store: Store) -> None:
    store.save_audit(ME, _audit("2026-12-14", "2026-12-20", 100))
    store.save_audit(ME, _audit("2026-12-18", "2026-12-20", 200))
    days = store.load_audit_days(ME, dt.date(2026, 12, 14), dt.date(2026, 12, 20))
    assert [d["work_minutes"] for d in days] == [100] * 4 + [200] * 3
    assert days[0] == {"date": "2026-12-14", "work_minutes": 100, "first_start": None}
    rules = [f.rule for f in store.load_findings(ME, dt.date(2026, 12, 18), dt.date(2026, 12, 20))]
    assert sorted(rules) == ["meeting_overload", "overtime_streak", "weekend_work"]
    # the first run's week and streak findings (anchored 14 Dec) are still there, the old weekend one is gone
    all_rules = [f.rule for f in store.load_findings(ME, dt.date(2026, 12, 14), dt.date(2026, 12, 20))]
    assert sorted(all_rules) == ["meeting_overload", "meeting_overload", "overtime_streak", "overtime_streak",
                                 "weekend_work"]
    assert store.load_audit_days(OTHER, dt.date(2026, 12, 14), dt.date(2026, 12, 20)) == []


def test_own_blocks_and_tombstones(store: Store) -> None:
    block = OwnBlock(email=ME, block_id="bc-1", date=dt.date(2026, 12, 15), start=at("2026-12-15", "07:30"),
                     end=at("2026-12-15", "09:30"), kind="focus", title="Waktu fokus")
    store.upsert_own_block(block)
    store.upsert_own_block(dataclasses.replace(block, provider_id="evt123", fingerprint="etag-1"))
    [stored] = store.own_blocks(ME)
    assert stored.provider_id == "evt123" and stored.title == "Waktu fokus"
    assert stored.start == block.start and stored.state == "active"
    assert store.own_blocks(ME, dt.date(2026, 12, 16)) == []
    store.add_tombstone(ME, "bc-1", dt.date(2026, 12, 15))
    store.add_tombstone(ME, "bc-1", dt.date(2026, 12, 15))
    assert store.tombstones(ME) == {("bc-1", dt.date(2026, 12, 15))}
    assert store.remove_own_block(ME, "bc-1") and not store.remove_own_block(ME, "bc-1")
    with pytest.raises(ValueError):
        OwnBlock(email=ME, block_id="x", date=dt.date(2026, 12, 15), start=at("2026-12-15", "07:30"),
                 end=at("2026-12-15", "09:30"), kind="nap")  # type: ignore[arg-type]


def test_runs_remember_the_last_success(store: Store) -> None:
    store.record_run(ME, "sync", True, None, T0)
    store.record_run(ME, "sync", False, "google: token expired", T0 + dt.timedelta(hours=1))
    [run] = store.last_runs(ME)
    assert not run.ok and run.error == "google: token expired" and run.last_ok_at == T0


# -- outbox ------------------------------------------------------------------------------------------

def test_outbox_delivers_each_key_exactly_once(store: Store, state_dir: Path) -> None:
    key = f"digest:{store.pseudonym(ME)}:2026-W51"
    msg = OutboxMessage(key=key, recipient=ME, message=b"Subject: Ringkasan\r\n\r\nhalo", created=T0)
    assert store.enqueue(msg) is True
    assert store.enqueue(msg) is False
    assert [m.key for m in store.pending(T0)] == [key]
    store.mark_failed(key, "smtp: 451 try later", T0 + dt.timedelta(minutes=10))
    assert store.pending(T0 + dt.timedelta(minutes=5)) == []
    [due] = store.pending(T0 + dt.timedelta(minutes=10))
    assert due.attempts == 1 and due.last_error == "smtp: 451 try later"
    store.mark_sent(key, T0 + dt.timedelta(minutes=11))
    store.close()
    with open_store(state_dir) as again:
        assert again.pending(T0 + dt.timedelta(days=30)) == []
        assert again.enqueue(msg) is False  # still exactly once after a restart
        with pytest.raises(StoreError):
            again.mark_sent("digest:unknown", T0)


def test_outbox_gives_up_when_told(store: Store) -> None:
    store.enqueue(OutboxMessage(key="k", recipient=OTHER, message=b"x", created=T0))
    store.mark_failed("k", "smtp: 550 no such user", None)
    assert store.pending(T0 + dt.timedelta(days=365)) == []


# -- erasure ------------------------------------------------------------------------------------------

def _fill_everything(store: Store, email: str) -> None:
    store.add_consent(ConsentRecord(email=email, at=T0, scopes=("r",), purposes=("audit",), text_version="1",
                                    language="en"))
    store.put_credentials(email, "google", b"encrypted")
    store.replace_events(email, "primary", *WINDOW, [meeting("m"), meeting("n", start="11:00", end="12:00")],
                         state(email=email))
    store.save_audit(email, _audit("2026-12-14", "2026-12-20", 60))
    store.upsert_own_block(OwnBlock(email=email, block_id="b", date=dt.date(2026, 12, 15),
                                    start=at("2026-12-15", "07:30"), end=at("2026-12-15", "09:00"),
                                    kind="focus", title="Fokus"))
    store.add_tombstone(email, "b0", dt.date(2026, 12, 14))
    store.enqueue(OutboxMessage(key=f"digest:{store.pseudonym(email)}:2026-W51", recipient=email,
                                message=f"To: {email}\r\n\r\nhi".encode(), created=T0))
    store.record_run(email, "sync", True, None, T0)


def test_erasure_removes_every_row_of_the_person_and_keeps_only_a_pseudonymous_log(
        store: Store, state_dir: Path) -> None:
    _fill_everything(store, ME)
    _fill_everything(store, OTHER)
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


def test_erasing_someone_unknown_is_a_clear_error(store: Store) -> None:
    with pytest.raises(NotEnrolled):
        store.erase_person("nobody@example.org", "consent_withdrawn")
    assert store.erasure_log() == []


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
