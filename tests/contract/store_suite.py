"""The contract every store backend passes (vdirsyncer's StorageTests; docs/contributing.md).

A backend's test class subclasses :class:`StoreContract` and supplies only the
``store_factory`` fixture: a callable that opens a *new* store instance on one fresh,
empty database each time it is called (a second call = another process, or the same one
after a restart), and closes whatever it opened at teardown. Nothing here may reach
below the :class:`~balanced_calendar.store.Store` interface.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

import pytest

from balanced_calendar.model import AuditResult, Event, Finding, InputError, Kind, ShowAs, Status, UserError
from balanced_calendar.store import (ConsentRecord, NotEnrolled, OutboxMessage, OwnBlock, PersonRecord, Store,
                                     StoreError, SyncState)

JKT = ZoneInfo("Asia/Jakarta")
UTC = dt.timezone.utc
ME = "Siti.Rahma@kemenkeu.go.id"
OTHER = "budi@kemenkeu.go.id"
T0 = dt.datetime(2026, 12, 1, tzinfo=UTC)
StoreFactory = Callable[[], Store]


def at(day: str, clock: str, zone: dt.tzinfo = JKT) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time.fromisoformat(clock), zone)


def meeting(uid: str, day: str = "2026-12-14", start: str = "09:00", end: str = "10:00", **kw: object) -> Event:
    kw.setdefault("others", 3)
    return Event(uid=uid, start=at(day, start), end=at(day, end), **kw)  # type: ignore[arg-type]


def state(email: str = ME, calendar: str = "primary", token: str | None = "tok-1") -> SyncState:
    return SyncState(email=email, calendar=calendar, token=token, window_start=at("2026-12-01", "00:00"),
                     window_end=at("2027-01-01", "00:00"), last_sync=T0)


WINDOW = (at("2026-12-01", "00:00"), at("2027-01-01", "00:00"))


def audit_result(start: str, end: str, minutes: int, person: str = ME) -> AuditResult:
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    days = [{"date": (first + dt.timedelta(days=i)).isoformat(), "work_minutes": minutes, "first_start": None}
            for i in range((last - first).days + 1)]
    findings = [Finding("weekend_work", {"date": end, "minutes": minutes}),
                Finding("meeting_overload", {"week": "2026-W51", "minutes": 900, "limit_minutes": 750}),
                Finding("overtime_streak", {"start": start, "end": end, "days": 3})]
    return AuditResult(person=person, timezone="Asia/Jakarta", policy="asn-id", start=first, end=last,
                       days=days, findings=findings)


def enroll_two(store: Store) -> None:
    """ME (enrolled with consent, protect on) and OTHER (upserted only)."""
    store.enroll(PersonRecord(email=ME, connector="google", timezone="Asia/Jakarta", team="dit-anggaran",
                              protect=True, enrolled_at=T0),
                 ConsentRecord(email=ME, at=T0, scopes=("calendar.readonly", "calendar.events.owned"),
                               purposes=("audit", "digest", "protect"), text_version="2026-11", language="id"))
    store.upsert_person(PersonRecord(email=OTHER, connector="caldav", enrolled_at=T0))


def fill_everything(store: Store, email: str) -> None:
    """One row of every kind the store keeps for a person (the erasure tests empty them)."""
    store.add_consent(ConsentRecord(email=email, at=T0, scopes=("r",), purposes=("audit",), text_version="1",
                                    language="en"))
    store.put_credentials(email, "google", b"encrypted")
    store.replace_events(email, "primary", *WINDOW, [meeting("m"), meeting("n", start="11:00", end="12:00")],
                         state(email=email))
    store.save_audit(email, audit_result("2026-12-14", "2026-12-20", 60, email))
    store.upsert_own_block(OwnBlock(email=email, block_id="b", date=dt.date(2026, 12, 15),
                                    start=at("2026-12-15", "07:30"), end=at("2026-12-15", "09:00"),
                                    kind="focus", title="Fokus", provider_id="evt-1", etag='"e-1"'))
    store.add_tombstone(email, "b0", dt.date(2026, 12, 14))
    pseudonym = store.pseudonym(email)
    store.enqueue(OutboxMessage(key=f"digest:{pseudonym}:2026-W51", recipient=email,
                                message=f"To: {email}\r\n\r\nhi".encode(), created=T0))
    store.enqueue_job(f"digest:{pseudonym}:2026-W51", "digest", pseudonym, T0)
    store.enqueue_job(f"plan:{pseudonym}:2026-12-14", "plan", pseudonym, T0 + dt.timedelta(days=13))
    store.record_run(email, "sync", True, None, T0)


class StoreContract:
    """What every store backend promises. Not collected itself (no ``Test`` prefix)."""

    @pytest.fixture
    def store(self, store_factory: StoreFactory) -> Iterator[Store]:
        s = store_factory()
        enroll_two(s)
        yield s

    # -- people, consent, credentials ---------------------------------------------------------

    def test_reopening_keeps_people_consents_and_pseudonyms(self, store: Store, store_factory) -> None:
        pseudonym = store.get_person(ME).pseudonym
        store.close()
        again = store_factory()
        person = again.get_person(ME.upper())
        assert person.pseudonym == pseudonym == again.pseudonym(ME)
        assert person.pseudonym.startswith("p-") and len(person.pseudonym) == 14
        assert person.protect and person.team == "dit-anggaran" and person.enrolled_at == T0
        [consent] = again.consents(ME)
        assert consent.scopes == ("calendar.readonly", "calendar.events.owned")
        assert consent.text_version == "2026-11"
        assert [p.email for p in again.list_people()] == [OTHER, ME]

    def test_pseudonyms_ignore_case_and_spaces_and_differ_per_address(self, store: Store) -> None:
        assert store.pseudonym(ME) == store.pseudonym(ME.lower()) == store.pseudonym(f" {ME.upper()} ")
        assert store.pseudonym(ME) != store.pseudonym(OTHER)
        assert store.pseudonym("not-enrolled@example.org").startswith("p-")

    def test_upsert_keeps_the_enrolment_time_and_updates_settings(self, store: Store) -> None:
        updated = store.upsert_person(PersonRecord(email=ME.lower(), connector="google", team="dit-baru",
                                                   enrolled_at=T0 + dt.timedelta(days=3)))
        assert updated.team == "dit-baru" and updated.enrolled_at == T0
        assert len(store.list_people()) == 2

    def test_enrolling_with_someone_elses_consent_is_refused_whole(self, store: Store) -> None:
        new = "rina@bkn.go.id"
        with pytest.raises(InputError):
            store.enroll(PersonRecord(email=new, connector="ics"),
                         ConsentRecord(email=OTHER, at=T0, scopes=(), purposes=(), text_version="1", language="id"))
        with pytest.raises(NotEnrolled):
            store.get_person(new)

    def test_consent_records_are_appended_oldest_first(self, store: Store) -> None:
        later = ConsentRecord(email=ME, at=T0 + dt.timedelta(days=30), scopes=("calendar.readonly",),
                              purposes=("audit",), text_version="2027-01", language="en")
        store.add_consent(later)
        first, second = store.consents(ME.upper())
        assert first.text_version == "2026-11" and second == dataclasses.replace(later, email=ME)
        assert store.consents(OTHER) == []

    def test_unknown_person_is_a_typed_error_not_none(self, store: Store) -> None:
        with pytest.raises(NotEnrolled) as err:
            store.get_person("nobody@example.org")
        assert str(err.value).startswith("n***@example.org is not enrolled")  # no raw address in messages
        with pytest.raises(NotEnrolled):
            store.load_events("nobody@example.org", *WINDOW)
        assert isinstance(NotEnrolled("x@y"), UserError)

    def test_closed_store_refuses_work(self, store: Store) -> None:
        store.close()
        store.close()  # idempotent
        with pytest.raises(StoreError, match="closed"):
            store.list_people()

    def test_credentials_are_kept_as_given_per_provider(self, store: Store) -> None:
        assert store.get_credentials(ME) is None
        store.put_credentials(ME, "google", b"gAAAA-encrypted-1")
        store.put_credentials(ME, "google", b"gAAAA-encrypted-2")
        assert store.get_credentials(ME) == b"gAAAA-encrypted-2"
        assert store.get_credentials(ME, "google") == b"gAAAA-encrypted-2"
        assert store.get_credentials(ME, "microsoft") is None
        with pytest.raises(TypeError):
            store.put_credentials(ME, "google", "plaintext")  # type: ignore[arg-type]

    # -- events and sync state ----------------------------------------------------------------

    def test_sync_state_starts_empty_and_round_trips(self, store: Store) -> None:
        empty = store.get_sync_state(ME, "primary")
        assert empty.token is None and empty.last_sync is None
        store.set_sync_state(dataclasses.replace(state(), last_error="google: 503"))
        assert store.get_sync_state(ME, "primary") == dataclasses.replace(state(), last_error="google: 503")

    def test_events_come_back_normalised_utc_and_dates(self, store: Store) -> None:
        all_day = Event(uid="cuti", start=dt.date(2026, 12, 24), end=dt.date(2026, 12, 25), all_day=True,
                        show_as=ShowAs.OOF, kind=Kind.OUT_OF_OFFICE)
        store.replace_events(ME, "primary", *WINDOW, [meeting("m1", others=2), all_day], state())
        timed, leave = store.load_events(ME, *WINDOW)
        assert timed.start == dt.datetime(2026, 12, 14, 2, tzinfo=UTC) and timed.start.tzinfo is UTC
        assert timed.others == 2 and timed.calendar == "primary" and not timed.all_day
        assert leave.all_day and leave.start == dt.date(2026, 12, 24) and leave.kind is Kind.OUT_OF_OFFICE
        assert leave.show_as is ShowAs.OOF
        assert all(e.title is None and e.uid not in {"m1", "cuti"} for e in (timed, leave))
        assert store.get_sync_state(ME, "primary") == state()

    def test_load_events_returns_only_the_overlapping_ones(self, store: Store) -> None:
        events = [meeting("before", "2026-12-13"), meeting("inside", "2026-12-14"),
                  meeting("night", "2026-12-14", "23:00", "23:30"), meeting("after", "2026-12-16"),
                  Event(uid="holiday", start=dt.date(2026, 12, 15), end=dt.date(2026, 12, 16), all_day=True)]
        store.replace_events(ME, "primary", *WINDOW, events, state())
        day = store.load_events(ME, at("2026-12-14", "00:00"), at("2026-12-15", "00:00"))
        assert len(day) == 2  # the all-day 15 December is outside 14 December in Jakarta
        day15 = store.load_events(ME, at("2026-12-15", "00:00"), at("2026-12-16", "00:00"))
        assert [e.all_day for e in day15] == [True]

    def test_load_events_are_ordered_by_start_all_day_at_local_midnight(self, store: Store) -> None:
        store.replace_events(ME, "primary", *WINDOW, [
            meeting("late", "2026-12-15", "14:00", "15:00"), meeting("early", "2026-12-15", "06:00", "07:00"),
            Event(uid="holiday", start=dt.date(2026, 12, 15), end=dt.date(2026, 12, 16), all_day=True),
            meeting("previous-day", "2026-12-14", "23:00", "23:30")], state())
        store.replace_events(ME, "shared", *WINDOW, [meeting("same-start-a", "2026-12-15", "14:00", "14:30"),
                                                     meeting("same-start-b", "2026-12-15", "14:00", "14:45")],
                             state(calendar="shared"))
        loaded = store.load_events(ME, *WINDOW)
        starts = [dt.datetime.combine(e.start, dt.time(), JKT) if e.all_day else e.start for e in loaded]
        assert starts == sorted(starts)
        assert loaded[1].all_day and len(loaded) == 6
        ties = [e for e in loaded if not e.all_day and e.start == at("2026-12-15", "14:00")]
        assert [e.uid for e in ties] == sorted(e.uid for e in ties)

    def test_event_columns_are_the_loaded_events_for_the_engine(self, store: Store) -> None:
        from balanced_calendar.engine import audit_columns, audit_events, events_to_columns
        from balanced_calendar.formats import to_json
        from balanced_calendar.policyfile import load_policy

        store.replace_events(ME, "primary", *WINDOW, [
            meeting("late", "2026-12-15", "14:00", "19:30"), meeting("early", "2026-12-15", "06:00", "07:00"),
            Event(uid="leave", start=dt.date(2026, 12, 16), end=dt.date(2026, 12, 18), all_day=True,
                  show_as=ShowAs.OOF, kind=Kind.OUT_OF_OFFICE),
            meeting("tentative", "2026-12-14", "21:00", "23:30", status=Status.TENTATIVE)], state())
        loaded = store.load_events(ME, *WINDOW)
        columns = store.load_event_columns(ME, *WINDOW)
        expected = events_to_columns(loaded)
        for name in expected.__dataclass_fields__:
            assert getattr(columns, name).tolist() == getattr(expected, name).tolist(), name
        policy = load_policy("asn-id")
        days = dict(zone="Asia/Jakarta", start=dt.date(2026, 12, 14), end=dt.date(2026, 12, 20), person="p")
        assert to_json(audit_columns(columns, policy, **days)) == to_json(audit_events(loaded, policy, **days))
        assert len(store.load_event_columns(OTHER, *WINDOW)) == 0

    def test_full_sync_replaces_only_the_window_and_only_that_calendar(self, store: Store) -> None:
        store.replace_events(ME, "primary", *WINDOW, [meeting("dec")], state())
        jan = (at("2027-01-01", "00:00"), at("2027-02-01", "00:00"))
        store.replace_events(ME, "primary", *jan, [meeting("jan", "2027-01-05")], state())
        store.replace_events(ME, "shared", *WINDOW, [meeting("team")], state(calendar="shared"))
        store.replace_events(ME, "primary", *WINDOW, [meeting("dec2", "2026-12-20")], state(token="t2"))
        loaded = store.load_events(ME, WINDOW[0], jan[1])
        assert sorted((e.calendar, e.start.day) for e in loaded) == [("primary", 5), ("primary", 20),
                                                                    ("shared", 14)]
        assert store.get_sync_state(ME, "primary").token == "t2"
        assert store.load_events(OTHER, WINDOW[0], jan[1]) == []

    def test_failed_full_sync_leaves_the_previous_events_and_state(self, store: Store) -> None:
        store.replace_events(ME, "primary", *WINDOW, [meeting(f"old{i}") for i in range(5)], state(token="good"))
        before = store.load_events(ME, *WINDOW)

        def connector_stream() -> Iterator[Event]:
            for i in range(50):
                yield meeting(f"new{i}")
            yield meeting("broken", others=-1)  # invalid after 50 rows are already inserted

        with pytest.raises(InputError):
            store.replace_events(ME, "primary", *WINDOW, connector_stream(), state(token="bad"))
        assert store.load_events(ME, *WINDOW) == before
        assert store.get_sync_state(ME, "primary").token == "good"

    def test_a_state_for_another_calendar_is_refused(self, store: Store) -> None:
        with pytest.raises(InputError):
            store.replace_events(ME, "primary", *WINDOW, [], state(calendar="shared"))
        with pytest.raises(InputError):
            store.apply_changes(ME, "primary", [], [], state(email=OTHER))

    def test_incremental_sync_upserts_moves_and_deletes_by_uid(self, store: Store) -> None:
        store.replace_events(ME, "primary", *WINDOW, [meeting("a"), meeting("b", start="11:00", end="12:00"),
                                                      meeting("c", start="13:00", end="14:00")], state())
        moved = meeting("a", start="15:00", end="16:00")
        store.apply_changes(ME, "primary", [moved, meeting("d", "2026-12-17")], ["b", "never-seen"],
                            state(token="tok-2"))
        loaded = store.load_events(ME, *WINDOW)
        assert [(e.start.astimezone(JKT).day, e.start.astimezone(JKT).hour) for e in loaded] == [
            (14, 13), (14, 15), (17, 9)]
        assert store.get_sync_state(ME, "primary").token == "tok-2"
        store.apply_changes(ME, "primary", [moved], [], state(token="tok-3"))  # same uid again: no duplicate
        assert len(store.load_events(ME, *WINDOW)) == 3

    def test_incremental_sync_with_an_invalid_event_changes_nothing(self, store: Store) -> None:
        store.replace_events(ME, "primary", *WINDOW, [meeting("a")], state(token="good"))
        before = store.load_events(ME, *WINDOW)
        with pytest.raises(InputError):
            store.apply_changes(ME, "primary", [meeting("b"), meeting("a", others=-1)], ["a"], state(token="bad"))
        assert store.load_events(ME, *WINDOW) == before
        assert store.get_sync_state(ME, "primary").token == "good"

    def test_an_unchanged_change_set_writes_nothing(self, store: Store) -> None:
        series = [meeting("series", day) for day in ("2026-12-07", "2026-12-14")]
        store.replace_events(ME, "primary", *WINDOW, [*series, meeting("x", start="11:00", end="12:00")], state())
        store.apply_changes(ME, "primary", series, ["gone-before"], state())
        version = store.data_version()
        store.apply_changes(ME, "primary", list(reversed(series)), ["gone-before"], state())
        assert store.data_version() == version
        store.apply_changes(ME, "primary", series, [], state(token="tok-2"))  # only the state moved
        assert store.data_version() != version
        assert store.get_sync_state(ME, "primary").token == "tok-2" and len(store.load_events(ME, *WINDOW)) == 3

    def test_recurring_series_instances_share_a_uid_and_are_replaced_together(self, store: Store) -> None:
        weekly = [meeting("series", day) for day in ("2026-12-07", "2026-12-14", "2026-12-21")]
        store.replace_events(ME, "primary", *WINDOW, weekly, state())
        assert len(store.load_events(ME, *WINDOW)) == 3
        store.apply_changes(ME, "primary", weekly[:2], [], state(token="t2"))  # last instance cancelled
        assert len(store.load_events(ME, *WINDOW)) == 2

    # -- audit results --------------------------------------------------------------------------

    def test_audit_rows_are_replaced_for_the_audited_range_only(self, store: Store) -> None:
        store.save_audit(ME, audit_result("2026-12-14", "2026-12-20", 100))
        store.save_audit(ME, audit_result("2026-12-18", "2026-12-20", 200))
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

    def test_team_audit_gives_pseudonymous_figures_of_enrolled_members_only(self, store: Store) -> None:
        store.save_audit(ME, audit_result("2026-12-14", "2026-12-20", 100))
        store.save_audit(OTHER, audit_result("2026-12-07", "2026-12-16", 50, OTHER))
        first, last = dt.date(2026, 12, 14), dt.date(2026, 12, 16)
        team = store.team_audit([ME.upper(), "left-the-team@example.org", OTHER, ME], first, last)
        assert [m.pseudonym for m in team] == sorted([store.pseudonym(ME), store.pseudonym(OTHER)])
        by = {m.pseudonym: m for m in team}
        mine, theirs = by[store.pseudonym(ME)], by[store.pseudonym(OTHER)]
        assert mine.days == store.load_audit_days(ME, first, last)
        assert mine.findings == store.load_findings(ME, first, last)
        assert [d["date"] for d in theirs.days] == ["2026-12-14", "2026-12-15", "2026-12-16"]
        assert [f.rule for f in theirs.findings] == ["meeting_overload", "weekend_work"]  # not the 7 Dec streak
        assert "@" not in repr(team) and "kemenkeu" not in repr(team).lower()
        assert store.team_audit(["nobody@example.org"], first, last) == []
        assert store.team_audit([], first, last) == []
        [empty] = store.team_audit([OTHER], dt.date(2027, 3, 1), dt.date(2027, 3, 7))
        assert (empty.days, empty.findings) == ([], [])

    # -- own blocks and tombstones ----------------------------------------------------------------

    def test_own_blocks_keep_the_providers_id_and_etag(self, store: Store) -> None:
        block = OwnBlock(email=ME, block_id="bc-1", date=dt.date(2026, 12, 15), start=at("2026-12-15", "07:30"),
                         end=at("2026-12-15", "09:30"), kind="focus", title="Waktu fokus")
        store.upsert_own_block(block)
        [stored] = store.own_blocks(ME)
        assert stored.provider_id is None and stored.etag is None
        written = dataclasses.replace(block, provider_id="evt123", etag='W/"3f1a-2"', fingerprint="sha:1")
        store.upsert_own_block(written)
        [stored] = store.own_blocks(ME.upper())
        assert stored == written
        store.upsert_own_block(dataclasses.replace(written, etag="CQAAABYAAAD2", state="edited_by_user"))
        [stored] = store.own_blocks(ME)
        assert (stored.etag, stored.state, stored.provider_id) == ("CQAAABYAAAD2", "edited_by_user", "evt123")
        assert stored.start == block.start and stored.title == "Waktu fokus"

    def test_own_blocks_by_date_range_and_removal(self, store: Store) -> None:
        for day in (14, 15, 16):
            store.upsert_own_block(OwnBlock(email=ME, block_id=f"bc-{day}", date=dt.date(2026, 12, day),
                                            start=at(f"2026-12-{day}", "07:30"), end=at(f"2026-12-{day}", "09:00"),
                                            kind="recovery" if day == 16 else "focus"))
        assert [b.block_id for b in store.own_blocks(ME, dt.date(2026, 12, 15))] == ["bc-15", "bc-16"]
        assert [b.block_id for b in store.own_blocks(ME, None, dt.date(2026, 12, 14))] == ["bc-14"]
        assert store.own_blocks(OTHER) == []
        assert store.remove_own_block(ME, "bc-15") and not store.remove_own_block(ME, "bc-15")
        with pytest.raises(ValueError):
            OwnBlock(email=ME, block_id="x", date=dt.date(2026, 12, 15), start=at("2026-12-15", "07:30"),
                     end=at("2026-12-15", "09:30"), kind="nap")  # type: ignore[arg-type]

    def test_tombstones_are_idempotent_per_block_and_day(self, store: Store) -> None:
        store.add_tombstone(ME, "bc-1", dt.date(2026, 12, 15))
        store.add_tombstone(ME, "bc-1", dt.date(2026, 12, 15))
        store.add_tombstone(ME, "bc-1", dt.date(2026, 12, 22))
        assert store.tombstones(ME) == {("bc-1", dt.date(2026, 12, 15)), ("bc-1", dt.date(2026, 12, 22))}
        assert store.tombstones(OTHER) == set()

    def test_runs_remember_the_last_success(self, store: Store) -> None:
        store.record_run(ME, "sync", True, None, T0)
        store.record_run(ME, "sync", False, "google: token expired", T0 + dt.timedelta(hours=1))
        [run] = store.last_runs(ME)
        assert not run.ok and run.error == "google: token expired" and run.last_ok_at == T0

    def test_meta_values(self, store: Store) -> None:
        assert store.get_meta("vault.check") is None
        assert store.set_meta("vault.check", b"one", overwrite=False)
        assert not store.set_meta("vault.check", b"two", overwrite=False)
        assert store.get_meta("vault.check") == b"one"
        with pytest.raises(ValueError):
            store.get_meta("store.secret")

    # -- outbox -----------------------------------------------------------------------------------

    def test_outbox_delivers_each_key_exactly_once(self, store: Store, store_factory) -> None:
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
        again = store_factory()
        assert again.pending(T0 + dt.timedelta(days=30)) == []
        assert again.enqueue(msg) is False  # still exactly once after a restart
        with pytest.raises(StoreError):
            again.mark_sent("digest:unknown", T0)

    def test_outbox_message_is_taken_by_one_sender_at_a_time(self, store: Store, store_factory) -> None:
        store.enqueue(OutboxMessage(key="k", recipient=OTHER, message=b"x", created=T0))
        other = store_factory()  # another process or instance on the same store
        lease = T0 + dt.timedelta(minutes=10)
        assert store.claim_message("k", T0, lease) is True
        assert other.claim_message("k", T0, lease) is False  # taken: not sent twice at once
        assert store.pending(T0 + dt.timedelta(minutes=9)) == [] == other.pending(T0 + dt.timedelta(minutes=9))
        assert [m.key for m in other.pending(lease)] == ["k"]  # a sender that died: due again after the lease
        assert other.claim_message("k", lease, lease + dt.timedelta(minutes=10)) is True
        other.mark_sent("k", lease)
        assert store.claim_message("k", T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=2)) is False
        assert store.claim_message("unknown", T0, lease) is False
        other.close()

    def test_outbox_gives_up_when_told(self, store: Store) -> None:
        store.enqueue(OutboxMessage(key="k", recipient=OTHER, message=b"x", created=T0))
        store.mark_failed("k", "smtp: 550 no such user", None)
        assert store.pending(T0 + dt.timedelta(days=365)) == []
        with pytest.raises(StoreError):
            store.mark_failed("unknown", "smtp: 451", None)

    def test_last_outbox_message_by_key_prefix(self, store: Store) -> None:
        me = f"digest:{store.pseudonym(ME)}:"
        assert store.last_outbox_message(me) is None
        for week, at in (("2026-W50", T0), ("2026-W52", T0 + dt.timedelta(days=1)), ("2026-W51", T0 + dt.timedelta(days=2))):
            store.enqueue(OutboxMessage(key=me + week, recipient=ME, message=b"x", created=at))
        store.enqueue(OutboxMessage(key=f"digest:{store.pseudonym(OTHER)}:2026-W53", recipient=OTHER, message=b"x",
                                    created=T0 + dt.timedelta(days=3)))
        store.enqueue(OutboxMessage(key="digest:p_%:2026-W54", recipient=OTHER, message=b"x",
                                    created=T0 + dt.timedelta(days=4)))  # LIKE wildcards are not wildcards
        store.mark_failed(me + "2026-W51", "recipient refused (550)", None)
        last = store.last_outbox_message(me)
        assert last is not None and last.key == me + "2026-W51" and last.last_error == "recipient refused (550)"
        assert last.next_attempt is None and last.sent_at is None
        assert store.last_outbox_message("digest:p-nobody:") is None

    # -- job queue --------------------------------------------------------------------------------

    def test_a_job_key_is_enqueued_once_even_across_restarts(self, store: Store, store_factory) -> None:
        key = f"digest:{store.pseudonym(ME)}:2026-W51"
        assert store.enqueue_job(key, "digest", store.pseudonym(ME), T0) is True
        assert store.enqueue_job(key, "digest", store.pseudonym(ME), T0 + dt.timedelta(days=1)) is False
        [job] = store.claim_jobs(T0, "w1", 10, 60)
        assert store.finish_job(key, ok=True, error=None, at=T0 + dt.timedelta(seconds=5))
        store.close()
        again = store_factory()
        assert again.enqueue_job(key, "digest", again.pseudonym(ME), T0) is False  # done, still never twice
        [done] = again.jobs("digest")
        assert (done.key, done.due_at, done.ok, done.attempts) == (key, T0, True, 1)
        assert done.done_at == T0 + dt.timedelta(seconds=5) and done.lease_owner is None
        assert again.claim_jobs(T0 + dt.timedelta(days=9), "w2", 10, 60) == []

    def test_claims_take_due_jobs_oldest_first_up_to_the_limit(self, store: Store) -> None:
        for i, minutes in enumerate((30, 10, 20, 90)):
            store.enqueue_job(f"plan:team-{i}", "plan", f"team-{i}", T0 + dt.timedelta(minutes=minutes))
        now = T0 + dt.timedelta(minutes=60)
        claimed = store.claim_jobs(now, "w1", 2, 120)
        assert [j.key for j in claimed] == ["plan:team-1", "plan:team-2"]
        assert all(j.lease_owner == "w1" and j.lease_until == now + dt.timedelta(seconds=120) for j in claimed)
        assert all(j.pending and j.attempts == 0 and j.ok is None for j in claimed)
        assert [j.key for j in store.claim_jobs(now, "w1", 5, 120)] == ["plan:team-0"]  # the 90-minute one is not due
        assert store.claim_jobs(now, "w2", 5, 120) == []

    def test_an_expired_lease_lets_another_worker_reclaim(self, store: Store) -> None:
        store.enqueue_job("report:dit-anggaran:2026-W51", "report", "dit-anggaran", T0)
        [first] = store.claim_jobs(T0, "w1", 1, 300)
        assert store.claim_jobs(T0 + dt.timedelta(seconds=299), "w2", 1, 300) == []
        [second] = store.claim_jobs(T0 + dt.timedelta(seconds=300), "w2", 1, 300)  # w1 died
        assert (first.key, second.key) == ("report:dit-anggaran:2026-W51",) * 2
        assert second.lease_owner == "w2" and second.lease_until == T0 + dt.timedelta(seconds=600)
        assert store.finish_job(second.key, ok=True, error=None, at=T0 + dt.timedelta(seconds=310))
        # w1 wakes up late: the job is done, its outcome no longer counts
        assert not store.finish_job(first.key, ok=False, error="timeout", at=T0 + dt.timedelta(seconds=320),
                                    retry_at=T0 + dt.timedelta(hours=1))
        [job] = store.jobs(kind="report")
        assert job.ok is True and job.attempts == 1 and job.last_error is None

    def test_failed_jobs_are_retried_later_or_given_up(self, store: Store) -> None:
        subject = store.pseudonym(OTHER)
        store.enqueue_job("digest:a", "digest", subject, T0)
        store.claim_jobs(T0, "w1", 1, 60)
        retry = T0 + dt.timedelta(minutes=15)
        assert store.finish_job("digest:a", ok=False, error="smtp: 451", at=T0, retry_at=retry)
        [job] = store.jobs(subject=subject)
        assert (job.due_at, job.attempts, job.last_error, job.lease_owner, job.done_at) == (
            retry, 1, "smtp: 451", None, None)
        assert store.claim_jobs(T0 + dt.timedelta(minutes=14), "w1", 1, 60) == []
        [again] = store.claim_jobs(retry, "w1", 1, 60)
        assert store.finish_job(again.key, ok=False, error="smtp: 550", at=retry)  # no retry_at: give up
        [given_up] = store.jobs(subject=subject)
        assert (given_up.ok, given_up.attempts, given_up.last_error, given_up.done_at) == (
            False, 2, "smtp: 550", retry)
        assert store.claim_jobs(T0 + dt.timedelta(days=30), "w1", 5, 60) == []
        assert not store.finish_job("digest:unknown", ok=True, error=None, at=T0)

    def test_jobs_and_last_job_for_status(self, store: Store) -> None:
        me, other = store.pseudonym(ME), store.pseudonym(OTHER)
        store.enqueue_job(f"digest:{me}:2026-W50", "digest", me, T0)
        store.enqueue_job(f"digest:{me}:2026-W51", "digest", me, T0 + dt.timedelta(days=7))
        store.enqueue_job(f"plan:{me}:2026-W51", "plan", me, T0 + dt.timedelta(days=8))
        store.enqueue_job(f"digest:{other}:2026-W51", "digest", other, T0 + dt.timedelta(days=9))
        store.enqueue_job("cleanup:2026-12", "cleanup", None, T0)
        assert [j.key for j in store.jobs("digest", me)] == [f"digest:{me}:2026-W50", f"digest:{me}:2026-W51"]
        assert len(store.jobs()) == 5 and len(store.jobs(subject=me)) == 3
        assert store.last_job("digest", me).key == f"digest:{me}:2026-W51"  # type: ignore[union-attr]
        assert store.last_job("cleanup", None).key == "cleanup:2026-12"  # type: ignore[union-attr]
        assert store.last_job("report", me) is None

    def test_a_job_never_names_an_address(self, store: Store) -> None:
        with pytest.raises(InputError):
            store.enqueue_job("digest:x", "digest", ME, T0)
        with pytest.raises(InputError):
            store.enqueue_job(f"digest:{ME}:2026-W51", "digest", None, T0)
        with pytest.raises(InputError):
            store.enqueue_job("digest:y", "digest", None, dt.datetime(2026, 12, 1))  # naive
        assert store.jobs() == []

    def test_two_workers_never_get_the_same_job(self, store: Store, store_factory) -> None:
        for i in range(60):
            store.enqueue_job(f"plan:team-{i:02d}", "plan", f"team-{i:02d}", T0 + dt.timedelta(seconds=i))
        stores = [store, store_factory()]  # two instances on one database: two processes
        got: dict[str, list[str]] = {"w0": [], "w1": []}
        start = threading.Barrier(4)

        def work(name: str, s: Store) -> None:
            start.wait()
            while batch := s.claim_jobs(T0 + dt.timedelta(minutes=5), name, 3, 600):
                got[name].extend(j.key for j in batch)
                for job in batch:
                    s.finish_job(job.key, ok=True, error=None, at=T0 + dt.timedelta(minutes=5))

        threads = [threading.Thread(target=work, args=(f"w{i % 2}", stores[i // 2])) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        claimed = got["w0"] + got["w1"]
        assert sorted(claimed) == [f"plan:team-{i:02d}" for i in range(60)]  # each exactly once
        assert all(j.ok for j in store.jobs())

    def test_erasure_removes_the_persons_jobs(self, store: Store) -> None:
        me, other = store.pseudonym(ME), store.pseudonym(OTHER)
        store.enqueue_job(f"digest:{me}:2026-W51", "digest", me, T0)
        store.enqueue_job(f"digest:{me}:2026-W50", "digest", me, T0 - dt.timedelta(days=7))
        store.claim_jobs(T0, "w1", 1, 60)
        store.finish_job(f"digest:{me}:2026-W50", ok=True, error=None, at=T0)
        store.enqueue_job(f"digest:{other}:2026-W51", "digest", other, T0)
        store.enqueue_job("report:dit-anggaran:2026-W51", "report", "dit-anggaran", T0)
        store.erase_person(ME, "consent_withdrawn")
        assert sorted(j.key for j in store.jobs()) == [f"digest:{other}:2026-W51", "report:dit-anggaran:2026-W51"]

    # -- erasure ----------------------------------------------------------------------------------

    def test_erasure_removes_everything_of_the_person_and_nothing_of_others(self, store: Store) -> None:
        fill_everything(store, ME)
        fill_everything(store, OTHER)
        pseudonym = store.erase_person(ME, "consent_withdrawn")
        assert pseudonym == store.pseudonym(ME)
        with pytest.raises(NotEnrolled):
            store.get_person(ME)
        assert [p.email for p in store.list_people()] == [OTHER]
        assert store.jobs(subject=pseudonym) == [] and all(pseudonym not in j.key for j in store.jobs())
        assert [m.recipient for m in store.pending(T0)] == [OTHER]
        [entry] = store.erasure_log()
        assert (entry.pseudonym, entry.reason) == (pseudonym, "consent_withdrawn")
        # enrolled again, the person starts from nothing
        store.upsert_person(PersonRecord(email=ME, connector="google"))
        assert store.consents(ME) == [] and store.get_credentials(ME) is None
        assert store.load_events(ME, *WINDOW) == [] and store.get_sync_state(ME, "primary").token is None
        assert store.load_audit_days(ME, dt.date(2026, 12, 1), dt.date(2026, 12, 31)) == []
        assert store.load_findings(ME, dt.date(2026, 12, 1), dt.date(2026, 12, 31)) == []
        assert store.own_blocks(ME) == [] and store.tombstones(ME) == set() and store.last_runs(ME) == []
        # the other person is untouched
        assert len(store.load_events(OTHER, *WINDOW)) == 2 and len(store.jobs(subject=store.pseudonym(OTHER))) == 2
        assert [b.etag for b in store.own_blocks(OTHER)] == ['"e-1"']

    def test_erasing_someone_unknown_is_a_clear_error(self, store: Store) -> None:
        with pytest.raises(NotEnrolled):
            store.erase_person("nobody@example.org", "consent_withdrawn")
        assert store.erasure_log() == []
