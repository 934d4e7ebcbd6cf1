"""The planner against the in-memory calendar: what a person sees in their calendar after each run,
including their own edits made in another client (MemoryCalendar.put/remove) and crashes."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from balanced_calendar.model import Event, Kind
from balanced_calendar.planner.apply import TooManyDeletes
from balanced_calendar.planner.settings import PlanSettings
from balanced_calendar.store import OwnBlock
from tests.planner_site import at, make_site, meeting


def focus(site, date: str) -> list[Event]:
    return [b for b in site.blocks() if "focus" in b.uid and b.start.date().isoformat() == date]


def overlaps(a: Event, b: Event) -> bool:
    return a.start < b.end and b.start < a.end


def test_first_run_writes_localised_blocks_and_second_run_makes_no_write_request(tmp_path):
    site = make_site(tmp_path, [meeting("m1", "2026-12-14 07:30", "2026-12-14 09:00")])
    first = site.plan()
    assert first.applied.done["create"] == len(site.blocks()) == 10
    writes = site.server.write_count
    second = site.plan()
    assert site.server.write_count == writes
    assert second.diff.changes == () and second.diff.unchanged == len(site.blocks())
    monday = focus(site, "2026-12-14")
    assert [(b.start, b.end, b.title) for b in monday] == [
        (at("2026-12-14 09:10"), at("2026-12-14 11:10"), "Fokus kerja")]
    assert all(b.others == 0 and b.organizer_is_self for b in site.blocks())  # nobody invited


def test_english_titles_follow_the_persons_language(tmp_path):
    site = make_site(tmp_path, [meeting("m", "2026-12-14 17:00", "2026-12-14 20:00", others=0)], language="en")
    site.plan()
    titles = {b.title for b in site.blocks()}
    assert titles == {"Focus time", "Recovery time"}


def test_block_the_user_deleted_is_not_recreated_for_that_date(tmp_path):
    site = make_site(tmp_path)
    site.plan()
    gone = focus(site, "2026-12-16")[0]
    site.server.remove(gone.uid)
    result = site.plan()
    assert [c.op for c in result.diff.changes] == ["tombstone"]
    assert focus(site, "2026-12-16") == []
    writes = site.server.write_count
    site.plan()
    assert focus(site, "2026-12-16") == [] and site.server.write_count == writes
    assert len(focus(site, "2026-12-17")) == 1  # other days keep theirs


def test_block_the_user_moved_is_left_alone_from_then_on(tmp_path):
    site = make_site(tmp_path)
    site.plan()
    block = focus(site, "2026-12-16")[0]
    moved = dataclasses.replace(block, start=at("2026-12-16 14:00"), end=at("2026-12-16 15:30"), ref=None)
    site.server.put(moved, block.ref.provider_id)
    site.plan()
    # a meeting later lands on the moved block: the planner still does not touch it
    site.server.put(meeting("late", "2026-12-16 14:00", "2026-12-16 15:00"))
    writes = site.server.write_count
    site.plan()
    assert site.server.write_count == writes
    [still] = focus(site, "2026-12-16")
    assert (still.start, still.end) == (at("2026-12-16 14:00"), at("2026-12-16 15:30"))
    assert [r.state for r in site.store.own_blocks(site.person.email) if r.block_id == block.uid] == [
        "edited_by_user"]


def test_retitled_block_counts_as_edited(tmp_path):
    site = make_site(tmp_path)
    site.plan()
    block = focus(site, "2026-12-17")[0]
    site.server.put(dataclasses.replace(block, title="Menulis laporan", ref=None), block.ref.provider_id)
    site.server.put(meeting("over", "2026-12-17 07:30", "2026-12-17 08:30"))
    site.plan()
    [kept] = focus(site, "2026-12-17")
    assert kept.title == "Menulis laporan" and kept.start == at("2026-12-17 07:30")


def test_meeting_booked_over_a_block_moves_it_and_nothing_is_double_booked(tmp_path):
    site = make_site(tmp_path)
    site.plan()
    assert focus(site, "2026-12-15")[0].start == at("2026-12-15 07:30")
    site.server.put(meeting("new", "2026-12-15 08:00", "2026-12-15 09:00"))
    result = site.plan()
    assert [c.op for c in result.diff.changes] == ["move"]
    [moved] = focus(site, "2026-12-15")
    assert moved.start == at("2026-12-15 09:10") and moved.uid == result.diff.changes[0].block_id
    meetings = [e for e in site.server.all() if e.kind is not Kind.OWN_BLOCK]
    assert not any(overlaps(b, m) for b in site.blocks() for m in meetings)


def test_a_day_full_of_meetings_loses_its_block(tmp_path):
    site = make_site(tmp_path)
    site.plan()
    site.server.put(meeting("allday", "2026-12-17 07:30", "2026-12-17 16:00"))
    result = site.plan()
    assert [c.op for c in result.diff.changes] == ["delete"]
    assert focus(site, "2026-12-17") == []


class CrashAfterWrite(Exception):
    """The process died between the provider write and the store update."""


class CrashingStore:
    """The real store, except that the first own-block record write never happens (a kill)."""

    def __init__(self, store) -> None:  # type: ignore[no-untyped-def]
        self._store = store
        self.crashed = False

    def upsert_own_block(self, block: OwnBlock) -> None:
        if not self.crashed:
            self.crashed = True
            raise CrashAfterWrite()
        self._store.upsert_own_block(block)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._store, name)


def test_crash_between_create_and_store_update_leaves_no_duplicate(tmp_path):
    site = make_site(tmp_path)
    with pytest.raises(CrashAfterWrite):
        site.plan(store=CrashingStore(site.store))
    assert len(site.blocks()) == 1 and site.store.own_blocks(site.person.email) == []
    result = site.plan()
    assert result.diff.counts()["adopt"] == 1  # found by its tag, recorded without a write
    ids = [b.uid for b in site.blocks()]
    assert len(ids) == len(set(ids)) == 10
    writes = site.server.write_count
    site.plan()
    assert site.server.write_count == writes


def test_crash_between_move_and_store_update_is_not_mistaken_for_a_user_edit(tmp_path):
    site = make_site(tmp_path)
    site.plan()
    site.server.put(meeting("new", "2026-12-15 08:00", "2026-12-15 09:00"))
    with pytest.raises(CrashAfterWrite):
        site.plan(store=CrashingStore(site.store))
    result = site.plan()
    assert [c.op for c in result.diff.changes] == ["adopt"]
    [block] = focus(site, "2026-12-15")
    assert block.start == at("2026-12-15 09:10")
    assert all(r.state == "active" for r in site.store.own_blocks(site.person.email))


def test_duplicate_blocks_with_one_tag_are_reduced_to_one(tmp_path):
    site = make_site(tmp_path)
    site.plan()
    block = focus(site, "2026-12-18")[0]
    site.server.put(dataclasses.replace(block, ref=None), "copy-1")  # the same tag written twice
    site.plan()
    assert [b.uid for b in site.blocks()].count(block.uid) == 1


def test_foreign_events_are_never_touched(tmp_path):
    mine = Event(uid="my-own-focus", start=at("2026-12-16 13:00"), end=at("2026-12-16 16:00"), kind=Kind.FOCUS)
    site = make_site(tmp_path, [meeting("m", "2026-12-16 07:30", "2026-12-16 12:00"), mine])
    before = {pid: e for pid, e in site.server.events.items()}
    site.plan()
    site.server.put(meeting("m2", "2026-12-17 07:30", "2026-12-17 16:00"))
    site.plan()
    after = site.server.events
    assert all(after[pid] == e for pid, e in before.items())
    assert focus(site, "2026-12-16") == []  # no room left next to the meeting and the person's own focus


def test_past_blocks_are_left_alone(tmp_path):
    site = make_site(tmp_path)
    site.plan()
    block = focus(site, "2026-12-14")[0]
    site.now = at("2026-12-14 08:00")  # the block is under way
    site.server.put(meeting("urgent", "2026-12-14 08:30", "2026-12-14 09:00"))
    site.plan()
    assert focus(site, "2026-12-14")[0].start == block.start


def test_deletion_guard_stops_a_mass_delete_unless_forced(tmp_path):
    site = make_site(tmp_path)
    site.plan()
    count = len(focus(site, "2026-12-14")) + sum(len(focus(site, d)) for d in (
        "2026-12-15", "2026-12-16", "2026-12-17", "2026-12-18", "2026-12-21", "2026-12-22", "2026-12-23",
        "2026-12-28", "2026-12-29"))
    assert count == 10
    site.settings = PlanSettings(numbers=dataclasses.replace(site.settings.numbers, max_deletes=5))
    site.settings = dataclasses.replace(site.settings, focus=False)  # a config change drops every focus block
    writes = site.server.write_count
    with pytest.raises(TooManyDeletes, match="would delete 10 of their blocks"):
        site.plan()
    assert site.server.write_count == writes and len(site.blocks()) == 10
    dry = site.plan(apply=False)
    assert dry.diff.deletes == 10 and site.server.write_count == writes
    site.plan(force=True)
    assert site.blocks() == []


def test_dry_run_writes_nothing(tmp_path):
    site = make_site(tmp_path)
    result = site.plan(apply=False)
    assert result.diff.counts()["create"] == 10
    assert site.server.write_count == 0 and site.store.own_blocks(site.person.email) == []


def test_recovery_after_a_long_evening_and_break_after_back_to_back(tmp_path):
    site = make_site(tmp_path, [
        Event("late", at("2026-12-14 15:00"), at("2026-12-14 18:30")),  # 150 min after hours
        meeting("a", "2026-12-16 09:00", "2026-12-16 10:00"),
        meeting("b", "2026-12-16 10:05", "2026-12-16 11:00"),
    ], now="2026-12-14 06:00")
    site.plan()
    kinds = {(b.start, b.end, b.uid.split("-")[-2]) for b in site.blocks()}
    assert (at("2026-12-15 07:30"), at("2026-12-15 08:30"), "recovery") in kinds
    assert (at("2026-12-16 11:00"), at("2026-12-16 11:15"), "break") in kinds
    # focus on the 15th avoids the recovery hour
    assert focus(site, "2026-12-15")[0].start == at("2026-12-15 08:30")


def test_no_blocks_on_weekends_holidays_or_leave(tmp_path):
    leave = Event("cuti", dt.date(2026, 12, 16), dt.date(2026, 12, 17), all_day=True, kind=Kind.OUT_OF_OFFICE)
    site = make_site(tmp_path, [leave])
    plan = site.plan().plan
    dates = {b.start.date() for b in site.blocks()}
    assert dt.date(2026, 12, 16) not in dates and dt.date(2026, 12, 19) not in dates
    assert dt.date(2026, 12, 25) not in dates  # Christmas
    assert len(plan.workdays) == 10 and dt.date(2026, 12, 16) not in plan.workdays
