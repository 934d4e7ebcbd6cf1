"""A person's own choices from the opt-in portal, and how they meet the config.

The config owns a person's settings; the portal lets the person choose those the config
leaves open. Precedence, per setting (``docs/decisions.md``, "Portal settings"):

1. a value the person's ``[[people]]`` entry writes itself always wins (the portal shows it
   locked);
2. else the person's portal choice;
3. else the config's defaults (``[service]``, ``[planner]``, the policy).

Choices are stored encrypted by the vault next to the person's credentials (store provider
key :data:`KEY`), so erasing the person erases them in the same transaction. They are read
by :func:`balanced_calendar.reconcile.reconcile` (language, zone, blocks on/off) and by the
planner (focus window and target, focus and recovery on/off) at its next run.
The digest on/off choice is not kept here: it is a consent record
(:func:`balanced_calendar.digest.queue.set_digest`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from balanced_calendar.config import PersonConfig, PlannerConfig
    from balanced_calendar.store import PersonRecord, Store
    from balanced_calendar.vault import Vault

#: the credentials key the choices are stored under (never a provider's name)
KEY = "portal:preferences"


@dataclass(frozen=True)
class Preferences:
    """What a person chose in the portal; ``None``: no choice (the config's value applies)."""

    language: str | None = None
    timezone: str | None = None
    protect: bool | None = None
    focus: bool | None = None
    recovery: bool | None = None
    focus_window: tuple[int, int] | None = None  # minutes after midnight
    focus_target_minutes: int | None = None

    def to_json(self) -> bytes:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None}, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Preferences:
        raw: dict[str, Any] = json.loads(data)
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        if values.get("focus_window") is not None:
            values["focus_window"] = tuple(values["focus_window"])
        return cls(**values)

    def planner_layer(self) -> PlannerConfig | None:
        """The choices as a ``planner`` table (between ``[planner]`` and the person's own table)."""
        from balanced_calendar.config import PlannerConfig

        if self.focus is None and self.recovery is None and self.focus_window is None \
                and self.focus_target_minutes is None:
            return None
        window = None
        if self.focus_window is not None:
            window = [f"{m // 60:02d}:{m % 60:02d}" for m in self.focus_window]
        return PlannerConfig(focus=self.focus, recovery=self.recovery, focus_window=window,
                             focus_target_minutes=self.focus_target_minutes)


def load(store: Store, vault: Vault, email: str) -> Preferences:
    """The person's stored choices (empty when they made none)."""
    blob = store.get_credentials(email, KEY)
    return Preferences() if blob is None else Preferences.from_json(vault.decrypt(blob))


def save(store: Store, vault: Vault, email: str, prefs: Preferences) -> None:
    store.put_credentials(email, KEY, vault.encrypt(prefs.to_json()))


def apply(person: PersonRecord, cfg: PersonConfig | None, prefs: Preferences) -> PersonRecord:
    """``person`` with the choices the config leaves open (see the module doc)."""
    changes: dict[str, Any] = {}
    for name in ("language", "timezone", "protect"):
        value = getattr(prefs, name)
        if value is not None and (cfg is None or not cfg.sets(name)):
            changes[name] = value
    return replace(person, **changes) if changes else person


def locked(cfg: PersonConfig | None) -> frozenset[str]:
    """The settings the person's config entry writes itself (shown, not editable)."""
    if cfg is None:
        return frozenset()
    planner = cfg.planner
    keys = {k for k in ("language", "timezone", "protect", "digest") if cfg.sets(k)}
    if planner is not None:
        keys |= {k for k in ("focus", "recovery", "focus_window", "focus_target_minutes")
                 if getattr(planner, k) is not None}
    return frozenset(keys)


def own_planner(rt: Any, email: str) -> PlannerConfig | None:
    """The planner layer of ``email``'s portal choices (``rt``: a :class:`~balanced_calendar.runtime.Runtime`)."""
    return load(rt.store, rt.vault, email).planner_layer()
