"""Everything a job needs, opened once: config, store, vault, policy, clock, connectors.

This is the composition root's toolbox (``cli.py`` and ``daemon.py`` use it); no other
module builds connectors from config.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from balanced_calendar.config import Config
from balanced_calendar.model import Policy, UserError
from balanced_calendar.policyfile import load_policy
from balanced_calendar.store import PersonRecord, Store, open_store
from balanced_calendar.vault import Vault, check_store_key, load_key
from connectors import connector_class
from connectors.base import Connector

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
    def connector_for(self, person: PersonRecord) -> Connector:
        """A connector reading ``person``'s calendar with their stored credentials."""
        factory = _FACTORIES.get(person.connector)
        if factory is None:
            raise UserError(f"connector {person.connector!r} is not available in this version",
                            hint="enroll the person with a supported connector: " + ", ".join(sorted(_FACTORIES)))
        return factory(person, self)


def _ics(person: PersonRecord, rt: Runtime) -> Connector:
    configured = rt.config.person(person.email)
    source = (configured.ics_source if configured else None) or rt.credentials(person.email, "ics").get("source")
    if not source:
        raise UserError("no ICS file or URL is known for this person",
                        hint="set calendar = \"PATH or URL\" in their [[people]] entry or re-enroll with --calendar")
    settings = rt.config.connectors.get("ics")
    timeout = settings.timeout if settings is not None else 30.0
    return connector_class("ics")(source, owner=person.email, calendar=person.calendar, timeout=timeout)


_FACTORIES: dict[str, Callable[[PersonRecord, Runtime], Connector]] = {"ics": _ics}


def open_runtime(config: Config, *, environ: Mapping[str, str] = os.environ, clock: Clock = utc_now) -> Runtime:
    """Open the store and vault for ``config``.

    Raises :class:`UserError` when the key is missing, unsafe or does not match the store.
    """
    key = load_key(config.service.vault_key_file, environ)
    vault = Vault(key)
    store = open_store(config.service.state_dir)
    try:
        check_store_key(vault, store)
        policy = load_policy(config.service.policy)
    except BaseException:
        store.close()
        raise
    return Runtime(config=config, store=store, vault=vault, policy=policy, clock=clock)
