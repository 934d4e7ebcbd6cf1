"""The planner's proposals in the weekly digest: a recovery-leave day after an overtime streak,
a meeting-free day after weekend work — shown in both languages, text and HTML, never written."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import html as html_lib
from email.message import EmailMessage

from digest_helpers import SENDER, digest_for, make_store
from helpers import ev

from balanced_calendar.digest.render import build_message

NOW = dt.datetime(2026, 12, 21, 0, 0, tzinfo=dt.timezone.utc)
CALM_WEEK = [ev(f"2026-12-{day}", "08:00", "15:30") for day in range(14, 19)]


def message(tmp_path, lang: str, **kw) -> EmailMessage:  # type: ignore[no-untyped-def]
    store, person = make_store(tmp_path / lang, **kw)
    msg = build_message(digest_for(store, person, lang), SENDER, "p-tok.abc", NOW)
    return email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)  # type: ignore[return-value]


def parts(msg: EmailMessage) -> tuple[str, str]:
    html = html_lib.unescape(msg.get_body(("html",)).get_content())
    return msg.get_body(("plain",)).get_content(), html


def test_an_overtime_streak_and_saturday_work_propose_monday_in_english(tmp_path):
    store, person = make_store(tmp_path / "data")
    digest = digest_for(store, person, "en")
    # the streak runs Mon 14 – Sat 19 Dec; the first workday after it is Monday 21 Dec
    assert [(p.kind, p.date, p.reason) for p in digest.proposals] == [
        ("meeting_free_day", dt.date(2026, 12, 21), "weekend_work"),
        ("recovery_leave", dt.date(2026, 12, 21), "overtime_streak")]
    for part in parts(message(tmp_path, "en")):
        assert "Proposed by the planner" in part
        assert "Mon, Dec 21: a day of recovery leave after your overtime streak (agree it with your leader)" in part
        assert "Mon, Dec 21: a day without meetings after your weekend work" in part
        assert "your calendar was not changed" in part


def test_the_proposals_in_bahasa_indonesia(tmp_path):
    for part in parts(message(tmp_path, "id")):
        assert "Usulan perencana" in part
        assert "Sen, 21 Des: satu hari cuti pemulihan setelah rangkaian lembur Anda" in part
        assert "Sen, 21 Des: satu hari tanpa rapat setelah kerja akhir pekan Anda" in part
        assert "kalender Anda tidak diubah" in part


def test_a_calm_week_shows_no_proposal(tmp_path):
    store, person = make_store(tmp_path / "data", CALM_WEEK, start="2026-12-14")
    assert digest_for(store, person, "en").proposals == ()
    for part in parts(message(tmp_path, "en", events=CALM_WEEK, start="2026-12-14")):
        assert "Proposed by the planner" not in part and "recovery leave" not in part


def test_a_proposal_falls_in_the_week_ahead_never_on_a_day_already_gone(tmp_path):
    # a streak Monday to Wednesday: Thursday 17 Dec is past when the digest arrives on the 21st
    week = [e for d in range(14, 17) for e in (ev(f"2026-12-{d}", "07:30", "16:00"),
                                               ev(f"2026-12-{d}", "17:00", "20:30"))]
    store, person = make_store(tmp_path / "data", week, start="2026-12-14")
    assert [(p.kind, p.date) for p in digest_for(store, person, "en").proposals] == [
        ("recovery_leave", dt.date(2026, 12, 21))]


def test_a_proposal_skips_the_idul_fitri_holidays(tmp_path):
    # Saturday work on 21 March 2026; Monday 23 and Tuesday 24 are cuti bersama of Idul Fitri
    saturday = [ev("2026-03-21", "09:00", "12:00")]
    store, person = make_store(tmp_path / "data", saturday, start="2026-03-16", end="2026-03-22")
    assert [(p.kind, p.date) for p in digest_for(store, person, "en", week=(2026, 12)).proposals] == [
        ("meeting_free_day", dt.date(2026, 3, 25))]
