"""The daemon's digest job: Monday 07:00 in each person's zone, covering the week before.

Plugged into :class:`~balanced_calendar.due.JobRunner` as ``JobKind("digest", Weekly(1, 07:00))``:
the job key ``digest:<pseudonym>:<ISO week>`` and the outbox key are the same, so a restart,
a catch-up or a second instance never sends a week twice. Never sent on a weekend (a catch-up
that would land on Saturday or Sunday is dropped); a week spent entirely on leave gets no digest.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping, Sequence

from balanced_calendar.config import Config
from balanced_calendar.digest.compose import compose
from balanced_calendar.digest.queue import compose_for, queue_digest, wants_digest
from balanced_calendar.due import Handler, JobKind, Subject, Weekly
from balanced_calendar.isolate import run_in_child
from balanced_calendar.mail.outbox import DeliveryReport, deliver_pending, envelope_sender, transport_from
from balanced_calendar.runtime import Runtime, open_runtime
from balanced_calendar.timezones import load_zone

log = logging.getLogger(__name__)

WHEN = Weekly(1, dt.time(7))


def covered_week(now: dt.datetime, zone: str) -> tuple[int, int]:
    """The ISO week before the one ``now`` falls in, in ``zone``."""
    local = now.astimezone(load_zone(zone)).date()
    year, week, _ = (local - dt.timedelta(days=7)).isocalendar()
    return year, week


def run_digests(rt: Runtime, subjects: Sequence[Subject], stop: threading.Event) -> dict[str, str]:
    """Queue the due digests of ``subjects``; returns the subjects that failed, with a reason."""
    failed: dict[str, str] = {}
    by_pseudonym = {p.pseudonym: p for p in rt.store.list_people()}
    now = rt.clock()
    for subject in subjects:
        if stop.is_set():
            failed[subject.id] = "not started"
            continue
        person = by_pseudonym.get(subject.id)
        if person is None or not wants_digest(rt.store, person):
            continue  # withdrawn or unsubscribed meanwhile: nothing to send, the job is done
        local = now.astimezone(load_zone(person.timezone))
        if local.isoweekday() >= 6:
            log.info("digest for %s dropped: it would arrive on a weekend", person.pseudonym)
            continue
        year, week = covered_week(now, person.timezone)
        if compose(rt.store, person, rt.policy, year, week).all_leave:
            log.info("digest for %s skipped: on leave all week", person.pseudonym)
            continue
        try:
            queue_digest(rt, person, year, week)
        except Exception as exc:  # one person's problem never stops the others
            failed[subject.id] = type(exc).__name__
            log.error("digest for %s failed (%s)", person.pseudonym, type(exc).__name__)
    return failed


def deliver_outbox(rt: Runtime) -> DeliveryReport:
    """Try every due outbox message once with the configured transport."""
    return deliver_pending(rt.store, transport_from(rt.config.mail, rt.config.connectors), envelope_sender(rt.config.mail), rt.clock())


#: what a mail job does with an open runtime: queue its messages; returns the failed subjects
MailWork = Callable[[Runtime, Sequence[Subject], threading.Event], dict[str, str]]


def _mail_job_at(work: MailWork, config: Config, environ: Mapping[str, str], now: dt.datetime,
                 subjects: Sequence[Subject], stop: threading.Event | None = None) -> dict[str, str]:
    """``work`` for ``subjects`` as of ``now``, then one delivery round of the outbox (in the
    daemon this runs in a child process: ``work`` must be a module-level function)."""
    with open_runtime(config, environ=environ, clock=lambda: now) as rt:
        failed = work(rt, subjects, stop or threading.Event())
        deliver_outbox(rt)
    return failed


def mail_job_kind(name: str, when: Weekly, work: MailWork, config: Config, environ: Mapping[str, str],
                  clock: Callable[[], dt.datetime], *, isolated: bool = False) -> JobKind:
    """A weekly job kind that queues mail through ``work`` and delivers it (digests, reports).

    ``isolated``: run in a child process that exits afterwards (the daemon), so what composing
    and rendering took (matplotlib, pandas tables, the messages) never stays in the service.
    """
    def handle(subjects: Sequence[Subject], stop: threading.Event) -> dict[str, str]:
        if isolated:
            return run_in_child(_mail_job_at, work, config, dict(environ), clock(), list(subjects))
        return _mail_job_at(work, config, environ, clock(), subjects, stop)

    handler: Handler = handle
    return JobKind(name, when, handler)


def digest_kind(config: Config, environ: Mapping[str, str], clock: Callable[[], dt.datetime], *,
                isolated: bool = False) -> JobKind:
    """The ``digest`` job kind for :class:`~balanced_calendar.service.Service`."""
    return mail_job_kind("digest", WHEN, run_digests, config, environ, clock, isolated=isolated)


def digest_subjects(rt: Runtime) -> list[Subject]:
    """Everyone who wants a digest, with their zone."""
    return [Subject(p.pseudonym, p.timezone) for p in rt.store.list_people() if wants_digest(rt.store, p)]


__all__ = ["compose_for", "covered_week", "deliver_outbox", "digest_kind", "digest_subjects", "run_digests"]
