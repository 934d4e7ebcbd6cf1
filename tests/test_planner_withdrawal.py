"""Withdrawal (``balanced-calendar unenroll``) removes the person's future own blocks from their
calendar, and only those, before erasing their data; a calendar that cannot be reached never
blocks the erasure, and the blocks left behind are listed with the way to remove them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from click.testing import CliRunner

from balanced_calendar.cli import cli
from balanced_calendar.config import load_config
from balanced_calendar.model import Kind, ProviderError
from balanced_calendar.model.blockid import block_id
from balanced_calendar.runtime import open_runtime
from balanced_calendar.store import NotEnrolled
from connectors.memory import SERVERS, MemoryCalendar
from balanced_calendar.enrollment import withdraw, withdrawal_report
from balanced_calendar.planner.command import plan_one
from test_planner_service import BUDI, NOW, RINA, site  # noqa: F401 - the fixture

__all__ = ["site"]


class DownCalendar(MemoryCalendar):
    """The same calendar while its server is down: every request fails as a provider outage."""

    def all(self):  # type: ignore[no-untyped-def]
        raise ProviderError("memory", "503 Service Unavailable")

    def delete(self, provider_id, if_match):  # type: ignore[no-untyped-def]
        raise ProviderError("memory", "503 Service Unavailable")


def plan(config: Path) -> None:
    with open_runtime(load_config(config), clock=lambda: NOW) as rt:
        plan_one(rt, rt.store.get_person(RINA), apply=True, force=False)


def unenroll(config: Path, who: str = RINA) -> str:
    """What ``balanced-calendar unenroll`` prints, on the tests' clock (Sunday 13 Dec, 20:00)."""
    with open_runtime(load_config(config), clock=lambda: NOW) as rt:
        done = withdraw(rt, who)
    return "\n".join(withdrawal_report(done, email=who, config=str(config)))


def own(calendar: MemoryCalendar) -> dict[str, tuple[dt.datetime, dt.datetime]]:
    return {e.uid: (e.start, e.end) for e in calendar.events.values() if e.kind is Kind.OWN_BLOCK}


def pseudonyms(config: Path) -> dict[str, str]:
    with open_runtime(load_config(config), clock=lambda: NOW) as rt:
        return {who: rt.store.pseudonym(who) for who in (RINA, BUDI)}


def enrolled(config: Path, who: str) -> bool:
    with open_runtime(load_config(config), clock=lambda: NOW) as rt:
        try:
            rt.store.get_person(who)
            return True
        except NotEnrolled:
            return False


def test_withdrawal_removes_only_future_own_blocks_then_erases(site):
    plan(site)
    calendar = SERVERS["plan-rina"]
    planned = own(calendar)
    assert len(planned) == 10
    names = pseudonyms(site)
    # what must stay: a meeting, a block already over, another person's block, a block Rina moved
    past = block_id(names[RINA], dt.date(2026, 12, 11), "focus", 0)
    foreign = block_id(names[BUDI], dt.date(2026, 12, 16), "focus", 0)
    template = next(e for e in calendar.events.values() if e.kind is Kind.OWN_BLOCK)
    calendar.put(dataclasses.replace(template, uid=past, start=NOW - dt.timedelta(days=2),
                                     end=NOW - dt.timedelta(days=2) + dt.timedelta(hours=2)))
    calendar.put(dataclasses.replace(template, uid=foreign))
    moved = sorted(planned)[3]
    start, end = planned[moved]
    calendar.put(dataclasses.replace(template, uid=moved, start=start + dt.timedelta(hours=3),
                                     end=end + dt.timedelta(hours=3)))  # Rina moved it in her calendar app
    writes = calendar.write_count

    output = unenroll(site)
    assert "removed 9 future focus and recovery block(s)" in output
    assert "left 1 block(s) the person changed in their calendar" in output
    assert "warning" not in output and "erased everything of" in output
    assert set(own(calendar)) == {past, foreign, moved}
    assert "m1" in {e.uid for e in calendar.events.values()}  # the meeting is untouched
    assert calendar.write_count == writes + 9
    assert not enrolled(site, RINA) and enrolled(site, BUDI)


def test_an_unreachable_calendar_never_blocks_the_erasure_and_the_blocks_left_are_listed(site):
    plan(site)
    calendar = SERVERS["plan-rina"]
    planned = own(calendar)
    down = DownCalendar()
    down.events, down.etags = calendar.events, calendar.etags
    SERVERS["plan-rina"] = down

    output = unenroll(site)
    assert "warning: could not reach their calendar (memory: 503 Service Unavailable)" in output
    assert "the erasure went ahead" in output and "these 10 future block(s) stay in it" in output
    first = min(planned.values())
    assert f"{first[0]:%Y-%m-%d %H:%M}–{first[1]:%H:%M}  Focus time  (bc-" in output
    assert f"balanced-calendar enroll --config {site} --provider memory --email {RINA} --protect" in output
    assert not enrolled(site, RINA)  # erased all the same
    assert own(calendar) == planned  # the blocks are still there

    # the calendar is back: the retry the message names removes them, found by their tag
    SERVERS["plan-rina"] = calendar
    again = CliRunner().invoke(cli, ["enroll", "--config", str(site), "--provider", "memory", "--email", RINA,
                                     "--protect", "--yes"])
    assert again.exit_code == 0, again.output
    assert "removed 10 future focus and recovery block(s)" in unenroll(site)
    assert own(calendar) == {}


def test_a_person_who_never_allowed_writes_is_erased_without_touching_the_calendar(site):
    who = BUDI
    SERVERS["plan-budi"] = DownCalendar()  # not even asked
    result = CliRunner().invoke(cli, ["unenroll", "--config", str(site), "--email", who])
    assert result.exit_code == 0 and "warning" not in result.output and "removed" not in result.output
    assert "erased everything of p-" in result.output
    assert not enrolled(site, who)
