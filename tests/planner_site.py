"""A planner test site: one enrolled person, their calendar on a pretend server, a real SQLite store.

``sync()`` copies the calendar into the store as the service's sync does (a full read of
the window), ``plan()`` runs the planner on the store and the calendar through the
connector only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from balanced_calendar.model import Event, Kind, Window
from balanced_calendar.planner.run import PersonPlan, plan_person
from balanced_calendar.planner.settings import PlanSettings, settings_for
from balanced_calendar.policyfile import load_policy
from balanced_calendar.store import PersonRecord, Store, SyncState, open_store
from connectors.base import Connector
from connectors.memory import MemoryCalendar, MemoryConnector

ZONE = "Asia/Jakarta"
EMAIL = "rina@agency.go.id"


def at(when: str, zone: str = ZONE) -> dt.datetime:
    """``"2026-12-14 08:00"`` in ``zone``."""
    return dt.datetime.fromisoformat(when).replace(tzinfo=ZoneInfo(zone))


def meeting(uid: str, start: str, end: str, *, others: int = 3, zone: str = ZONE, **fields: Any) -> Event:
    return Event(uid=uid, start=at(start, zone), end=at(end, zone), others=others, organizer_is_self=False,
                 **fields)


@dataclass
class Site:
    store: Store
    person: PersonRecord
    server: MemoryCalendar
    connector: Connector
    now: dt.datetime
    settings: PlanSettings = field(default_factory=lambda: settings_for(load_policy("asn-id")))
    policy_name: str = "asn-id"

    @property
    def policy(self):  # type: ignore[no-untyped-def]
        return load_policy(self.policy_name)

    def sync(self) -> None:
        tz = ZoneInfo(self.person.timezone)
        start = dt.datetime.combine(self.now.date() - dt.timedelta(days=14), dt.time(), tzinfo=tz)
        end = start + dt.timedelta(days=70)
        events = self.connector.read(Window(start, end), tz)
        self.store.replace_events(self.person.email, self.person.calendar, start, end, events,
                                  SyncState(self.person.email, self.person.calendar, token=None,
                                            window_start=start, window_end=end))

    def plan(self, *, apply: bool = True, force: bool = False, connector: Connector | None = None,
             store: Store | None = None) -> PersonPlan:
        self.sync()
        return plan_person(store or self.store, connector or self.connector, self.person, self.policy,
                           self.settings, self.now, apply=apply, force=force)

    def blocks(self) -> list[Event]:
        """Own blocks in the calendar, by start."""
        return sorted((e for e in self.server.all() if e.kind is Kind.OWN_BLOCK), key=lambda e: e.start)


def make_site(tmp_path: Path, events: list[Event] = (), *, now: str = "2026-12-13 20:00", zone: str = ZONE,
              language: str = "id", connector: Connector | None = None) -> Site:
    """A site on a new in-memory calendar holding ``events``, or on ``connector``'s calendar."""
    store = open_store(tmp_path / "state")
    person = store.upsert_person(PersonRecord(EMAIL, "memory" if connector is None else connector.name,
                                              timezone=zone, language=language, protect=True))
    server = MemoryCalendar(list(events))
    connector = connector or MemoryConnector(server=server, owner=EMAIL, allow_write=True)
    return Site(store, person, server, connector, at(now, zone))
