"""A store holding one person's audited weeks, as the sync leaves it, for digest tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from helpers import all_day, ev, meeting

from balanced_calendar.digest.compose import Digest, compose
from balanced_calendar.digest.render import Sender
from balanced_calendar.engine import audit_events
from balanced_calendar.model import Event
from balanced_calendar.policyfile import load_policy
from balanced_calendar.store import PersonRecord, Store, SyncState
from balanced_calendar.store.sqlite import open_store
from tests.helpers import SERVICE

RINA = "rina@agency.go.id"
SENDER = Sender(address="balanced-calendar@agency.go.id", unsubscribe_mailto="unsubscribe@agency.go.id",
                unsubscribe_url="https://calendar.agency.go.id/unsubscribe")
POLICY = load_policy("asn-id")
ENROLLED = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)


def overtime_week(monday: str = "2026-12-14") -> list[Event]:
    """A heavy week: long days with evening work, an early meeting Rina organised for 6 people."""
    first = dt.date.fromisoformat(monday)
    events: list[Event] = []
    for i in range(5):
        day = (first + dt.timedelta(days=i)).isoformat()
        events.append(ev(day, "07:30", "16:00"))
        events.append(ev(day, "17:00", "20:30"))
        events.append(meeting(day, "09:00", "10:30"))
    events.append(meeting(first.isoformat(), "07:00", "07:45", others=6, organizer_is_self=True,
                          response="organizer"))
    events.append(ev((first + dt.timedelta(days=5)).isoformat(), "09:00", "12:00"))  # Saturday
    return events


def make_store(tmp: Path, events: list[Event] | None = None, *, start: str = "2026-11-23",
               end: str = "2026-12-20", language: str = "id", email: str = RINA) -> tuple[Store, PersonRecord]:
    """A store where ``email`` is enrolled and audited over ``start..end`` (default: 4 weeks
    ending 2026-W51, with :func:`overtime_week` in W51 and a light week before)."""
    store = open_store(tmp / "state")
    person = store.upsert_person(PersonRecord(email=email, connector="ics", timezone="Asia/Jakarta",
                                              language=language, enrolled_at=ENROLLED))
    if events is None:
        events = overtime_week() + [ev(d, "08:00", "15:30") for d in
                                    ("2026-12-07", "2026-12-08", "2026-12-09", "2026-12-10", "2026-12-11")]
    window = (dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc), dt.datetime(2027, 1, 31, tzinfo=dt.timezone.utc))
    store.replace_events(email, "ics", *window, events, SyncState(email, "ics", None, *window))
    result = audit_events(events, POLICY, zone="Asia/Jakarta", start=dt.date.fromisoformat(start),
                          end=dt.date.fromisoformat(end), person=email)
    store.save_audit(email, result)
    return store, person


def leave_week(monday: str = "2026-12-14") -> list[Event]:
    first = dt.date.fromisoformat(monday)
    return [all_day(monday, (first + dt.timedelta(days=5)).isoformat(), kind="out_of_office", show_as="oof")]


def digest_for(store: Store, person: PersonRecord, lang: str | None = None, *, leader: bool = False,
               week: tuple[int, int] = (2026, 51)) -> Digest:
    return compose(store, person, POLICY, *week, lang=lang, leader=leader)


FIXTURE_ICS = Path(__file__).parent / "fixtures" / "cli" / "design_example_overtime_week.ics"
#: Monday 2026-12-21 07:00 WIB: the digest of 2026-W51 is due
MONDAY_7 = dt.datetime(2026, 12, 21, 0, 0, tzinfo=dt.timezone.utc)


def write_site(tmp: Path, mail: str = "", people: tuple[str, ...] = (RINA,)) -> Path:
    """A service config (vault key, store under ``state``) with ``mail`` as its ``[mail]`` body."""
    from balanced_calendar.vault import write_key

    tmp.mkdir(parents=True, exist_ok=True)
    if not (tmp / "vault-key").exists():
        write_key(tmp / "vault-key")
    entries = "".join(f'[[people]]\nemail = "{e}"\nconnector = "ics"\ncalendar = "{FIXTURE_ICS}"\n'
                      f'team = "keuangan"\n\n' for e in people)
    (tmp / "config.toml").write_text(f'''
{SERVICE}
[mail]
{mail}

[[teams]]
id = "keuangan"
name = "Keuangan"
leaders = ["{people[0]}"]

{entries}''')
    return tmp / "config.toml"


def enroll_site(config_path: Path, now: dt.datetime = MONDAY_7) -> None:
    """Enroll everyone of the config (consent recorded) and store an audited overtime week for each."""
    from balanced_calendar.config import load_config
    from balanced_calendar.enrollment import EnrollRequest, enroll
    from balanced_calendar.runtime import open_runtime

    config = load_config(config_path)
    with open_runtime(config, environ={}, clock=lambda: now) as rt:
        for p in config.people:
            enroll(rt, EnrollRequest(email=p.email, provider="ics"))
            events = overtime_week()
            window = (dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc), dt.datetime(2027, 1, 31, tzinfo=dt.timezone.utc))
            rt.store.replace_events(p.email, "ics", *window, events, SyncState(p.email, "ics", None, *window))
            rt.store.save_audit(p.email, audit_events(events, rt.policy, zone="Asia/Jakarta",
                                                      start=dt.date(2026, 11, 23), end=dt.date(2026, 12, 20),
                                                      person=p.email))
