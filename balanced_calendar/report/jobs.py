"""The daemon's report job: Monday 08:00 in each team's zone, the week before, to its leaders.

Plugged into :class:`~balanced_calendar.due.JobRunner` as ``JobKind("report", Weekly(1, 08:00))``
with one subject per team that has leaders (the subject's zone is the team's zone,
:func:`~balanced_calendar.report.plan.team_zone`). Each leader gets one message per team-week
through the outbox (key ``report:<team>:<ISO week>:<leader pseudonym>``: no address in it), in
the leader's language: a short text part and the self-contained HTML report as an attachment.
A withheld report is sent too, with its reason, so a leader knows why there are no figures.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import hashlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from balanced_calendar.config import Config
from balanced_calendar.digest import i18n
from balanced_calendar.due import JobKind, Subject, Weekly
from balanced_calendar.report.command import last_week
from balanced_calendar.report.compose import compose_report
from balanced_calendar.report.plan import team_zone, week_label
from balanced_calendar.report.render import render_html
from balanced_calendar.report.words import say
from balanced_calendar.runtime import Runtime
from balanced_calendar.store import NotEnrolled, OutboxMessage
from balanced_calendar.timezones import load_zone

log = logging.getLogger(__name__)

WHEN = Weekly(1, dt.time(8))


def report_key(team: str, label: str, pseudonym: str) -> str:
    return f"report:{team}:{label}:{pseudonym}"


def summary(report: dict[str, Any], lang: str) -> str:
    if report["figures"] is None:
        return say("suppressed", lang) + " " + say(f"reason.{report['reason']}", lang, k=report["k"],
                                                   other=report.get("differs_from") or "")
    figures = report["figures"]
    after = figures["hours"]["after_hours"]["median"]
    return say("mail.summary", lang, n=i18n.number(report["members"], lang),
               streak=f"{round(figures['shares']['overtime_streak'] * 100)} %",
               after="–" if after is None else i18n.hours(after * 60, lang))


def build_message(report: dict[str, Any], lang: str, sender: str, recipient: str, now: dt.datetime) -> EmailMessage:
    """The email of one team report to one leader (text part + the HTML report attached)."""
    name = report["name"]
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = say("subject", lang, name=name, week=report["week"])
    msg["Date"] = format_datetime(now)
    domain = sender.rsplit("@", 1)[-1].strip(">").strip() or "localhost"
    ident = hashlib.sha256(f"{report['team']}:{report['week']}:{recipient}".encode()).hexdigest()[:32]
    msg["Message-ID"] = f"<report.{ident}@{domain}>"
    msg["Content-Language"] = lang
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(say("mail.body", lang, name=name, week=report["week"], summary=summary(report, lang)))
    msg.add_attachment(render_html(report, lang).encode("utf-8"), maintype="text", subtype="html",
                       filename=f"team-{report['team']}-{report['week']}.{lang}.html")
    return msg


def queue_reports(rt: Runtime, team_id: str, year: int, week: int) -> list[str]:
    """Queue the team's report of the week for each of its enrolled leaders (once per key);
    returns the keys newly queued."""
    from balanced_calendar.digest.queue import sender_of

    team = rt.config.team(team_id)
    if team is None or not team.leaders:
        return []
    report = compose_report(rt.store, rt.config, rt.policy, team_id, year, week, rt.clock())
    sender = sender_of(rt).address
    queued = []
    for leader in team.leaders:
        try:
            person = rt.store.get_person(leader)
        except NotEnrolled:
            continue  # a leader receives reports once enrolled (their address is kept by the store only then)
        key = report_key(team_id, week_label(year, week), person.pseudonym)
        if rt.store.outbox_message(key) is not None:
            continue
        now = rt.clock()
        msg = build_message(report, person.language, sender, person.email, now)
        if rt.store.enqueue(OutboxMessage(key=key, recipient=person.email,
                                          message=msg.as_bytes(policy=email.policy.SMTP), created=now)):
            queued.append(key)
    return queued


def run_reports(rt: Runtime, subjects: Sequence[Subject], stop: threading.Event) -> dict[str, str]:
    """Queue the due reports of ``subjects`` (team ids); returns the teams that failed, with a reason."""
    failed: dict[str, str] = {}
    now = rt.clock()
    for subject in subjects:
        if stop.is_set():
            failed[subject.id] = "not started"
            continue
        try:
            year, week = last_week(now, subject.zone)
            queue_reports(rt, subject.id, year, week)
        except Exception as exc:  # one team's problem never stops the others
            failed[subject.id] = type(exc).__name__
            log.error("report for team %s failed (%s)", subject.id, type(exc).__name__)
    return failed


def report_subjects(config: Config) -> list[Subject]:
    """Every team with leaders, in its zone."""
    return [Subject(t.id, team_zone(config, t.id)) for t in config.teams if t.leaders]


def report_kind(config: Config, environ: Mapping[str, str], clock: Callable[[], dt.datetime], *,
                isolated: bool = False) -> JobKind:
    """The ``report`` job kind for :class:`~balanced_calendar.service.Service` (``isolated``:
    aggregate and render in a child process, see :func:`~balanced_calendar.digest.jobs.mail_job_kind`)."""
    from balanced_calendar.digest.jobs import mail_job_kind

    return mail_job_kind("report", WHEN, run_reports, config, environ, clock, isolated=isolated)


def next_report(config: Config, email_address: str, now: dt.datetime) -> dt.datetime | None:
    """The next Monday 08:00 (in the team's zone) a leader of some team gets a report; ``None``
    for someone who leads no team."""
    wanted = email_address.lower()
    times = []
    for team in config.teams:
        if wanted not in team.leaders:
            continue
        local = now.astimezone(load_zone(team_zone(config, team.id)))
        days = (7 - local.weekday()) % 7
        candidate = (local + dt.timedelta(days=days)).replace(hour=8, minute=0, second=0, microsecond=0)
        if candidate <= local:
            candidate += dt.timedelta(days=7)
        times.append(candidate)
    return min(times, key=lambda t: t.astimezone(dt.timezone.utc)) if times else None


__all__ = ["WHEN", "build_message", "next_report", "queue_reports", "report_key", "report_kind",
           "report_subjects", "run_reports"]
