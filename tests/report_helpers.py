"""A site with teams whose members are enrolled and audited, for team report tests.

Everyone's calendar is built from a few weekly habits that vary by person and week, so the
figures differ between people and weeks; :func:`person_events` is the one source of events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from helpers import ev, meeting

from balanced_calendar.config import load_config
from balanced_calendar.engine import audit_events
from balanced_calendar.model import Event
from balanced_calendar.runtime import open_runtime
from balanced_calendar.store import SyncState

ZONE = "Asia/Jakarta"
#: the audited range: nine ISO weeks, 2026-W37 … 2026-W45 (no Indonesian holiday inside)
FIRST = dt.date(2026, 9, 7)
LAST = dt.date(2026, 11, 8)
WEEK = (2026, 45)
WEEK_LABEL = "2026-W45"
WEEK_START = dt.date(2026, 11, 2)
#: Monday 2026-11-09 08:00 WIB: the report of 2026-W45 is due
MONDAY_8 = dt.datetime(2026, 11, 9, 1, 0, tzinfo=dt.timezone.utc)


def address(team: str, i: int) -> str:
    return f"{team}.member{i}@agency.example"


def person_events(i: int, first: dt.date = FIRST, last: dt.date = LAST, *, zone: str = ZONE) -> list[Event]:
    """Person ``i``'s calendar: office hours, a daily meeting, and habits that depend on ``i`` and the week."""
    events: list[Event] = []
    day = first
    while day <= last:
        d, wd, week = day.isoformat(), day.weekday(), day.isocalendar()[1]
        if wd < 5:
            events.append(ev(d, "08:00", "12:00", zone=zone))
            events.append(ev(d, "13:00", "15:30", zone=zone))
            events.append(meeting(d, "10:00", "11:00" if (i + wd) % 2 else "11:30", zone=zone))
            if wd == 0:  # everyone stays a little after hours on Mondays (the weekly report)
                events.append(ev(d, "15:30", "16:45", zone=zone))
            if (i + week) % 3 == 0 and wd < 3:  # evenings Mon–Wed: an overtime streak
                events.append(ev(d, "19:00", f"{20 + (i % 3)}:30", zone=zone))
            if (i + week) % 4 == 1 and wd == 1:  # a late night, then an early start: short rest
                events.append(ev(d, "21:00", "23:30", zone=zone))
                next_day = (day + dt.timedelta(days=1)).isoformat()
                events.append(ev(next_day, "06:00", "07:30", zone=zone))
            if (i * 7 + week) % 5 == 2:  # an early meeting outside the meeting window
                events.append(meeting(d, "07:00", "08:00", zone=zone, others=3))
        elif wd == 5 and (i + week) % 4 == 0:  # Saturday work
            events.append(ev(d, "09:00", "11:00", zone=zone))
        day += dt.timedelta(days=1)
    return events


def write_site(tmp: Path, teams: Mapping[str, int | Sequence[str]], *, parents: Mapping[str, str] | None = None,
               extra: str = "", zone: str = ZONE) -> Path:
    """A service config with ``teams`` (id -> member count or addresses); the first member of
    each team leads it. Mail goes to a Maildir under ``tmp``."""
    from balanced_calendar.vault import write_key

    tmp.mkdir(parents=True, exist_ok=True)
    if not (tmp / "vault-key").exists():
        write_key(tmp / "vault-key")
    calendar = tmp / "unused.ics"
    calendar.write_text("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//t//EN\nEND:VCALENDAR\n")
    blocks, people = [], []
    for team, members in teams.items():
        emails = [address(team, i) for i in range(members)] if isinstance(members, int) else list(members)
        parent = (parents or {}).get(team)
        blocks.append(f'[[teams]]\nid = "{team}"\nname = "Team {team}"\n'
                      + (f'parent = "{parent}"\n' if parent else "")
                      + (f'leaders = ["{emails[0]}"]\n' if emails else "") + "\n")
        people += [f'[[people]]\nemail = "{e}"\nconnector = "ics"\ncalendar = "{calendar}"\nteam = "{team}"\n'
                   f'timezone = "{zone}"\n\n' for e in emails]
    (tmp / "config.toml").write_text(f'''
[service]
state_dir = "state"
vault_key_file = "vault-key"
policy = "asn-id"
timezone = "Asia/Jakarta"
language = "en"

[mail]
transport = "maildir"
maildir = "outbox"
from = "balanced-calendar@agency.example"

{extra}
{"".join(blocks)}{"".join(people)}''')
    return tmp / "config.toml"


def members_of(config_path: Path) -> list[str]:
    return [p.email for p in load_config(config_path).people]


def enroll_and_audit(config_path: Path, events_of: Callable[[str, int], list[Event]] | None = None,
                     emails: Sequence[str] | None = None, *, now: dt.datetime = MONDAY_8) -> dict[str, list[Event]]:
    """Enroll ``emails`` (default: everyone in the config) with consent, store their events and
    their audit over FIRST..LAST as a sync would; returns the events by address."""
    from balanced_calendar.enrollment import EnrollRequest, enroll

    config = load_config(config_path)
    chosen = list(emails) if emails is not None else [p.email for p in config.people]
    index = {p.email: i for i, p in enumerate(config.people)}
    stored: dict[str, list[Event]] = {}
    with open_runtime(config, environ={}, clock=lambda: now) as rt:
        for email in chosen:
            enroll(rt, EnrollRequest(email=email, provider="ics"))
            zone = config.person(email).timezone  # type: ignore[union-attr]
            events = events_of(email, index[email]) if events_of else person_events(index[email], zone=zone)
            window = (dt.datetime(2026, 8, 1, tzinfo=dt.timezone.utc), dt.datetime(2027, 1, 31, tzinfo=dt.timezone.utc))
            rt.store.replace_events(email, "ics", *window, events, SyncState(email, "ics", None, *window))
            rt.store.save_audit(email, audit_events(events, rt.policy, zone=zone, start=FIRST, end=LAST,
                                                    person=email))
            stored[email] = events
    return stored


def report(config_path: Path, team: str, week: tuple[int, int] = WEEK, *, now: dt.datetime = MONDAY_8) -> dict:
    """The composed report (the same dict ``report --format json`` prints)."""
    from balanced_calendar.report.compose import compose_report

    config = load_config(config_path)
    with open_runtime(config, environ={}, clock=lambda: now) as rt:
        return compose_report(rt.store, config, rt.policy, team, *week, now)
