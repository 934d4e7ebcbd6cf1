"""Everything a job needs, opened once: config, store, vault, policy, clock, connectors.

This is the composition root's toolbox (``cli.py`` and ``daemon.py`` use it); no other
module builds connectors from config.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from balanced_calendar.config import Config
from balanced_calendar.model import Policy, UserError
from balanced_calendar.planner.settings import auto_decline_for
from balanced_calendar.policyfile import load_policy
from balanced_calendar.store import PersonRecord, Store
from balanced_calendar.store.select import open_service_store
from balanced_calendar.vault import Vault, check_store_key, load_key, pseudonym_key
from connectors import available, provider
from connectors.base import Connector
from connectors.plugin import Context, PersonRef

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class Runtime:
    config: Config
    store: Store
    vault: Vault
    policy: Policy
    clock: Clock = utc_now
    #: builds the HTTP session a provider uses (proxies, a private CA, tests); ``None``: the
    #: provider's own default
    http: Callable[[], Any] | None = None

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- credentials ------------------------------------------------------------------
    def save_credentials(self, email: str, provider: str, secret: Mapping[str, Any]) -> None:
        blob = self.vault.encrypt(json.dumps(dict(secret), sort_keys=True).encode())
        self.store.put_credentials(email, provider, blob)

    def credentials(self, email: str, provider: str) -> dict[str, Any]:
        blob = self.store.get_credentials(email, provider)
        return {} if blob is None else json.loads(self.vault.decrypt(blob))

    # -- connectors -------------------------------------------------------------------
    def settings_for(self, name: str) -> Any:
        """The validated ``[connectors.<name>]`` section, or the provider's defaults."""
        configured = self.config.connectors.get(name)
        if configured is not None:
            return configured
        return default_settings(name)

    def person_ref(self, person: PersonRecord) -> PersonRef:
        """What the connector may know of ``person``; the config is the truth for the calendar."""
        configured = self.config.person(person.email)
        calendar = configured.calendar if configured is not None else person.calendar
        return PersonRef(email=person.email, calendar=calendar, timezone=person.timezone,
                         protect=person.protect, zone_fixed=configured is not None and configured.zone_fixed,
                         focus_auto_decline=auto_decline_for(self.config, person.email))

    def context_for(self, person: PersonRecord) -> Context:
        """What ``person``'s connector is built from (settings, person, credentials, clock)."""
        return Context(settings=self.settings_for(person.connector), person=self.person_ref(person),
                       credentials=VaultCredentials(self, person.email, person.connector),
                       http=self.http, clock=self.clock)

    def connector_for(self, person: PersonRecord) -> Connector:
        """A connector reading ``person``'s calendar with their stored credentials.

        Raises :class:`UserError` when their provider has no connector in this version.
        """
        plugin = provider(person.connector)
        if not plugin.available or plugin.factory is None:
            raise UserError(f"connector {person.connector!r} is not available in this version",
                            hint="enroll the person with one of: " + ", ".join(available()))
        return plugin.factory(self.context_for(person))


class VaultCredentials:
    """One person's provider secrets, encrypted by the vault in the store (a plug-in seam)."""

    def __init__(self, rt: Runtime, email: str, provider_name: str) -> None:
        self._rt = rt
        self._email = email
        self._provider = provider_name

    def get(self) -> dict[str, Any]:
        return self._rt.credentials(self._email, self._provider)

    def put(self, secret: Mapping[str, Any]) -> None:
        self._rt.save_credentials(self._email, self._provider, secret)


def default_settings(name: str) -> Any:
    """The settings of provider ``name`` with every default (no ``[connectors.<name>]``)."""
    target = provider(name).settings
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)(name=name)


def open_runtime(config: Config, *, environ: Mapping[str, str] = os.environ, clock: Clock = utc_now,
                 reconcile_people: bool = True) -> Runtime:
    """Open the store and vault for ``config``; people's stored settings follow the config
    (:mod:`balanced_calendar.reconcile`) unless ``reconcile_people`` is false.

    Raises :class:`UserError` when the key is missing, unsafe or does not match the store.
    """
    key = load_key(config.service.vault_key_file, environ)
    vault = Vault(key)
    # The pseudonym key comes from the vault key and stays out of the database; the vault key
    # is checked before the store uses (or re-keys with) it.
    store = open_service_store(config.service, environ, secret=pseudonym_key(key),
                               verify=lambda opened: check_store_key(vault, opened))
    try:
        policy = load_policy(config.service.policy)
        if reconcile_people:
            from balanced_calendar.reconcile import reconcile

            from balanced_calendar.preferences import load as load_preferences

            reconcile(config, store, lambda email: load_preferences(store, vault, email))
    except BaseException:
        store.close()
        raise
    return Runtime(config=config, store=store, vault=vault, policy=policy, clock=clock)
