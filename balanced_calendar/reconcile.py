"""The config file is the truth for a person's settings; the store follows it.

At start and at every reload the service compares each enrolled person's record with their
``[[people]]`` entry (zone, language, team, ``protect``, ``digest``, calendar) and updates
the record, logging which fields changed (by pseudonym, never address). A person enrolled
but no longer in the config is reported, never erased: erasure is an explicit ``unenroll``.
A changed zone or calendar also resets that person's change token, so the next sync reads
their calendar whole. Settings the entry leaves open follow the person's own portal choices
when ``preferences`` is given (:mod:`balanced_calendar.preferences`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from balanced_calendar.config import Config, PersonConfig
from balanced_calendar.preferences import Preferences
from balanced_calendar.preferences import apply as apply_preferences
from balanced_calendar.store import PersonRecord, Store, SyncState
from connectors import provider

log = logging.getLogger(__name__)

#: record fields the config owns, in the order they are reported
OWNED = ("timezone", "language", "team", "protect", "digest", "calendar")


@dataclass(frozen=True)
class Reconciled:
    """What a reconciliation did: per pseudonym the changed fields; who is not configured."""

    changed: dict[str, tuple[str, ...]]
    not_in_config: tuple[str, ...]


def wanted(person: PersonRecord, cfg: PersonConfig, prefs: Preferences | None = None) -> PersonRecord:
    """``person`` with the settings of their config entry.

    The zone is the entry's, except when the entry sets none and the provider reports the
    person's own zone (``Provider.zone_hints``): then the zone last reported stays.
    """
    plugin = provider(person.connector)
    calendar = plugin.calendar_key(cfg.calendar) if cfg.calendar else person.calendar
    zone = cfg.timezone if cfg.zone_fixed or not plugin.zone_hints else person.timezone
    target = replace(person, timezone=zone, language=cfg.language, team=cfg.team,
                     protect=cfg.protect, digest=cfg.digest, calendar=calendar)
    return target if prefs is None else apply_preferences(target, cfg, prefs)


def reconcile(config: Config, store: Store,
              preferences: Callable[[str], Preferences] | None = None) -> Reconciled:
    """Bring every enrolled person's record in line with ``config``; see the module doc.

    ``preferences`` returns a person's portal choices by address."""
    changed: dict[str, tuple[str, ...]] = {}
    missing: list[str] = []
    for person in store.list_people():
        cfg = config.person(person.email)
        if cfg is None:
            missing.append(person.pseudonym)
            continue
        if cfg.connector != person.connector:
            log.warning("%s: the config names the %s connector but they enrolled with %s; "
                        "re-enroll them to switch", person.pseudonym, cfg.connector, person.connector)
            continue
        target = wanted(person, cfg, preferences(person.email) if preferences is not None else None)
        fields = tuple(name for name in OWNED if getattr(target, name) != getattr(person, name))
        if not fields:
            continue
        store.upsert_person(target)
        if {"timezone", "calendar"} & set(fields):
            old = store.get_sync_state(person.email, person.calendar)
            store.set_sync_state(SyncState(email=person.email, calendar=person.calendar, token=None,
                                           window_start=None, window_end=None, last_sync=old.last_sync,
                                           last_error=old.last_error))
        changed[person.pseudonym] = fields
        log.info("settings of %s follow the config: %s changed", person.pseudonym, ", ".join(fields))
    if missing:
        log.info("%d enrolled people are not in the config (%s); their data stays until "
                    "`balanced-calendar unenroll`", len(missing), ", ".join(missing))
    return Reconciled(changed, tuple(missing))
