"""Each privacy guard of the team report, attacked: the test plays a curious leader who tries to
learn one member's figures, and shows that the attack fails (docs/reports.md, docs/privacy.md)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from helpers import all_day, ev
from report_helpers import (MONDAY_8, WEEK, WEEK_LABEL, WEEK_START, address, enroll_and_audit, person_events, report,
                            write_site)
from test_digest_cli import cli

from balanced_calendar.config import ConfigError, load_config
from balanced_calendar.enrollment import unenroll
from balanced_calendar.runtime import open_runtime

#: Monday 2026-11-02 08:00 WIB: the report of 2026-W44 is due
MONDAY_BEFORE = MONDAY_8 - dt.timedelta(days=7)


def test_a_team_under_k_is_withheld_and_the_organisation_page_does_not_leak_it(tmp_path):
    config = write_site(tmp_path, {"big": 5, "small": 4})
    enroll_and_audit(config)
    small = report(config, "small")
    assert small["status"] == "suppressed" and small["reason"] == "too_few"
    assert small["figures"] is None and small["members"] is None
    assert all(p["status"] == "suppressed" and p["shares"] is None for p in small["trend"])
    html = cli("report", "--config", str(config), "--team", "small", "--week", WEEK_LABEL, "--lang", "en")
    assert "This report is withheld." in html.stdout and "Fewer than 5 members" in html.stdout

    # Attack: organisation − big = small. The organisation page covers only teams that pass the
    # guard, so it is exactly "big" and the difference is empty.
    org, big = report(config, "@org"), report(config, "big")
    assert org["members"] == big["members"] == 5
    assert org["figures"] == big["figures"]
    assert [t["status"] for t in org["teams"]] == ["published", "suppressed"]


def test_a_heat_map_cell_never_shows_a_lone_late_worker(tmp_path):
    def late(email, i):  # member 0 also works alone on Saturday night
        extra = [ev("2026-11-07", "22:00", "23:00")] if i == 0 else []
        return person_events(i) + extra

    plain, night = write_site(tmp_path / "plain", {"ops": 6}), write_site(tmp_path / "night", {"ops": 6})
    enroll_and_audit(plain)
    enroll_and_audit(night, late)
    seen_plain, seen_night = report(plain, "ops"), report(night, "ops")
    # Attack: compare the heat map with and without the lone worker's hour. Nothing differs,
    # because a cell counting fewer than k people is hidden (and an empty cell looks the same).
    assert seen_night["figures"]["heatmap"] == seen_plain["figures"]["heatmap"]
    assert seen_night["figures"]["heatmap"][5][22] is None
    shown = [c for row in seen_night["figures"]["heatmap"] for c in row if c is not None]
    assert shown and min(shown) >= 5  # shown cells exist, and every one counts at least k people


def test_two_teams_that_differ_by_one_member_are_refused_at_config_load(tmp_path):
    # Attack: "all" = "ops" + one person; subtracting the two reports would give that person's week.
    config = write_site(tmp_path, {"all": 1, "ops": 5}, parents={"ops": "all"})
    with pytest.raises(ConfigError) as refused:
        load_config(config)
    assert "differ by 1 member(s)" in str(refused.value)


def test_teams_that_differ_by_one_enrolled_member_are_not_both_published(tmp_path):
    # The config is fine (all = 5 own + ops 5: they differ by 5), but only one of all's own
    # members enrolled: all (6 contributing) and ops (5) would differ by one person.
    config = write_site(tmp_path, {"all": 5, "ops": 5}, parents={"ops": "all"})
    enroll_and_audit(config, emails=[address("all", 0)] + [address("ops", i) for i in range(5)])
    everyone, ops = report(config, "all"), report(config, "ops")
    assert everyone["status"] == "published" and everyone["members"] == 6
    # Attack: all − ops = address("all", 0). The second group is withheld, saying why.
    assert ops["status"] == "suppressed" and ops["reason"] == "differencing" and ops["differs_from"] == "all"
    assert ops["figures"] is None
    assert all(p["status"] == "suppressed" for p in ops["trend"])


def test_quartiles_are_shown_only_for_at_least_k_people(tmp_path):
    def leave(email, i):  # members 0 and 1 are on leave the whole reported week: no workday, no focus figure
        if i < 2:
            return person_events(i) + [all_day("2026-11-02", "2026-11-07", kind="out_of_office", show_as="oof")]
        return person_events(i)

    config = write_site(tmp_path, {"ops": 6})
    enroll_and_audit(config, leave)
    hours = report(config, "ops")["figures"]["hours"]
    assert hours["after_hours"]["n"] == 6 and hours["after_hours"]["median"] is not None
    # Attack: with 4 focus values, the quartiles would be close to individual values. Hidden.
    assert hours["focus"] == {"n": 4, "median": None, "q1": None, "q3": None}
    html = cli("report", "--config", str(config), "--team", "ops", "--week", WEEK_LABEL, "--lang", "en").stdout
    assert "hidden (&lt; k)" in html


def test_a_new_member_does_not_change_the_figures_until_k_new_members_join(tmp_path):
    config = write_site(tmp_path, {"ops": 6})
    first_five = [address("ops", i) for i in range(5)]
    enroll_and_audit(config, emails=first_five, now=MONDAY_BEFORE)
    assert report(config, "ops", (2026, 44), now=MONDAY_BEFORE)["members"] == 5  # W44 is reported

    newcomer = address("ops", 5)

    def busy(email, i):  # the newcomer's week stands out: weekend work and an overtime streak
        return person_events(i) + [ev("2026-11-07", "09:00", "15:00")] + [
            ev(f"2026-11-0{d}", "18:00", "22:00") for d in (2, 3, 4)]

    enroll_and_audit(config, busy, emails=[newcomer])
    seen = report(config, "ops")
    # Attack: compare this week with the newcomer against what the five alone would give. Equal:
    # the newcomer waits until k new members can join together.
    alone = write_site(tmp_path / "five", {"ops": first_five})
    enroll_and_audit(alone)
    assert seen["members"] == 5 and seen["waiting_to_join"] == 1
    assert seen["figures"] == report(alone, "ops")["figures"]


def test_a_reported_week_never_changes_when_a_member_leaves(tmp_path):
    config = write_site(tmp_path, {"ops": 6})
    enroll_and_audit(config)
    before = report(config, "ops")
    with open_runtime(load_config(config), environ={}, clock=lambda: MONDAY_8) as rt:
        unenroll(rt, address("ops", 3))
    # Attack: re-read the same week (and its trend) after the withdrawal and subtract. The week's
    # figures were frozen when first reported, so the difference is zero.
    after = report(config, "ops")
    assert json.dumps(after, sort_keys=True) == json.dumps(before, sort_keys=True)
    assert after["members"] == 6


def test_k_can_be_raised_and_hides_what_a_smaller_k_showed_but_never_lowered(tmp_path):
    config = write_site(tmp_path, {"ops": 6})
    enroll_and_audit(config)
    assert report(config, "ops")["status"] == "published"  # k = 5: reported (and frozen)
    text = config.read_text()
    config.write_text(text.replace("[[teams]]", "[reports]\nk = 7\n\n[[teams]]", 1))
    raised = report(config, "ops")
    assert raised["status"] == "suppressed" and raised["figures"] is None
    config.write_text(text.replace("[[teams]]", "[reports]\nk = 4\n\n[[teams]]", 1))
    with pytest.raises(ConfigError) as lowered:
        load_config(config)
    assert "reports.k" in str(lowered.value)


def test_a_week_that_has_not_ended_is_not_reported(tmp_path):
    config = write_site(tmp_path, {"ops": 5})
    enroll_and_audit(config)
    from balanced_calendar.model import UserError

    with pytest.raises(UserError, match="has not ended"):
        report(config, "ops", WEEK, now=dt.datetime.combine(WEEK_START + dt.timedelta(days=6), dt.time(12),
                                                            tzinfo=dt.timezone.utc))
