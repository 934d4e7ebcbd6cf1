"""Shared pieces of the Microsoft 365 tests: the fake's fixture, settings, the contract
scenario as Graph events."""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connectors.microsoft import MicrosoftSettings
from connectors.plugin import MemoryCredentials, PersonRef
from tests.contract.scenario import OWNER, SCENARIO, SECRET_TITLE, SpecEvent
from tests.fakes.graph import CLIENT_ID, CLIENT_SECRET, TENANT, Running, graph_date, graph_time, serve


def running_fake(folder: Path) -> Iterator[Running]:
    yield from serve(folder)


def secret_file(folder: Path) -> Path:
    path = folder / "client-secret"
    if not path.exists():  # atomic: connectors built in parallel threads never read a half-written file
        spare = folder / f".client-secret.{os.getpid()}.{threading.get_ident()}"
        spare.write_text(CLIENT_SECRET)
        os.chmod(spare, 0o600)
        os.replace(spare, path)
    return path


def settings(run: Running, folder: Path, **extra: Any) -> MicrosoftSettings:
    raw: dict[str, Any] = {"name": "microsoft", "mode": "app", "tenant_id": TENANT, "client_id": CLIENT_ID,
                           "client_secret_file": str(secret_file(folder)), "authority": run.base,
                           "graph_endpoint": run.graph, "ca_file": str(run.ca_file)}
    raw.update(extra)
    return MicrosoftSettings.model_validate(raw)


def person(email: str = OWNER, *, protect: bool = True, zone_fixed: bool = True) -> PersonRef:
    return PersonRef(email=email, calendar="primary", timezone="Asia/Jakarta", protect=protect, zone_fixed=zone_fixed)


def _party(address: str) -> dict[str, Any]:
    return {"emailAddress": {"address": address, "name": address.split("@")[0].title()}}


def graph_event(spec: SpecEvent, owner: str = OWNER) -> dict[str, Any]:
    """One scenario event the way Graph lists it (with a title, location and body to drop)."""
    all_day = not isinstance(spec.start, dt.datetime)
    times = (graph_date, graph_date) if all_day else (graph_time, graph_time)
    organizer = spec.organizer or owner
    attendees = []
    if spec.organizer:
        attendees.append({**_party(owner), "type": "required",
                          "status": {"response": (spec.owner_partstat or "none").title()}})
        attendees += [{**_party(o), "type": "required", "status": {"response": "accepted"}}
                      for o in spec.others if o != spec.organizer]
    answer = {"ACCEPTED": "Accepted", "DECLINED": "Declined", "TENTATIVE": "TentativelyAccepted"}.get(
        spec.owner_partstat or "", "notResponded")
    return {
        "id": spec.uid, "subject": SECRET_TITLE, "bodyPreview": SECRET_TITLE,
        "location": {"displayName": "Ruang 301"}, "type": "singleInstance",
        "start": times[0](spec.start), "end": times[1](spec.end), "isAllDay": all_day,
        "isCancelled": spec.status == "CANCELLED",
        "showAs": "oof" if spec.busystatus == "OOF" else "free" if spec.transparent else "busy",
        "isOrganizer": spec.organizer is None, "organizer": _party(organizer), "attendees": attendees,
        "responseStatus": {"response": "organizer" if spec.organizer is None else answer}, "categories": [],
    }


def load_scenario(run: Running, owner: str = OWNER) -> None:
    run.fake.mailbox(owner)
    for spec in SCENARIO:
        run.fake.put(owner, graph_event(spec, owner))


def connector(run: Running, folder: Path, credentials: MemoryCredentials | None = None, *,
              who: PersonRef | None = None, **extra: Any):
    from connectors.microsoft.connector import MicrosoftConnector

    return MicrosoftConnector(settings(run, folder, **extra), who or person(), credentials or MemoryCredentials())
