"""Accounts and calendars for the Google tests: a throwaway service-account key, an OAuth
client, the contract scenario as Google events, and a connector wired to a :class:`FakeGoogle`."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from balanced_calendar.model import Event
from connectors.google import GoogleSettings
from connectors.google.auth import READ_SCOPES, WRITE_SCOPES, Account
from connectors.google.connector import GoogleConnector
from connectors.plugin import MemoryCredentials
from tests.contract.scenario import OWNER, SECRET_TITLE, SpecEvent
from tests.fakes.google_calendar import FakeGoogle

SA_EMAIL = "balanced-calendar@agency-project.iam.gserviceaccount.com"
CLIENT_ID = "1234-desktop.apps.googleusercontent.com"
CLIENT_SECRET = "fake-client-secret"


def private_file(path: Path, text: str) -> Path:
    path.write_text(text)
    os.chmod(path, 0o600)
    return path


def register_service_account(fake: FakeGoogle, folder: Path, *, scopes: tuple[str, ...] = READ_SCOPES + WRITE_SCOPES
                             ) -> Path:
    """A service-account JSON key (a new RSA key) whose token_uri is the fake's; the fake
    trusts its public key and the admin granted it domain-wide delegation for ``scopes``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    fake.service_accounts[SA_EMAIL] = key.public_key()
    fake.delegated[SA_EMAIL] = set(scopes)
    info = {"type": "service_account", "project_id": "agency-project", "private_key_id": "k1",
            "private_key": pem, "client_email": SA_EMAIL, "client_id": "42", "token_uri": fake.url + "token",
            "auth_uri": fake.url + "auth"}
    return private_file(folder / "service-account.json", json.dumps(info))


def register_client(fake: FakeGoogle, folder: Path) -> Path:
    """An OAuth client of type Desktop app whose endpoints are the fake's."""
    fake.clients[CLIENT_ID] = CLIENT_SECRET
    info = {"installed": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "project_id": "agency-project",
                          "auth_uri": fake.url + "auth", "token_uri": fake.url + "token",
                          "redirect_uris": ["http://localhost"]}}
    return private_file(folder / "client-secret.json", json.dumps(info))


def domain_settings(fake: FakeGoogle, sa_file: Path, **extra: Any) -> GoogleSettings:
    return GoogleSettings(name="google", mode="domain", service_account_file=sa_file, api_endpoint=fake.url,
                          **extra)


def connector(settings: GoogleSettings, email: str = OWNER, *, protect: bool = False,
              secret: dict[str, Any] | None = None, calendar: str = "primary", zone_fixed: bool = True,
              sleep: Any = None, clock: Any = None, auto_decline: str = "off") -> GoogleConnector:
    credentials = secret if isinstance(secret, MemoryCredentials) else MemoryCredentials(secret or {})
    kwargs: dict[str, Any] = {}
    if sleep is not None:
        kwargs["sleep"] = sleep
    if clock is not None:
        kwargs["clock"] = clock
    return GoogleConnector(settings, Account(settings, email, protect, credentials), calendar=calendar,
                           zone_fixed=zone_fixed, auto_decline=auto_decline, **kwargs)


def stamp(value: dt.datetime | dt.date) -> dict[str, str]:
    if isinstance(value, dt.datetime):
        return {"dateTime": value.isoformat(), "timeZone": "Asia/Jakarta"}
    return {"date": value.isoformat()}


def google_item(spec: SpecEvent, owner: str = OWNER) -> dict[str, Any]:
    """A contract scenario event as Google stores it (with a secret title and addresses)."""
    item: dict[str, Any] = {"id": spec.uid, "summary": SECRET_TITLE, "location": "Ruang 301",
                            "description": "catatan rahasia", "start": stamp(spec.start), "end": stamp(spec.end),
                            "status": spec.status.lower(), "iCalUID": spec.uid + "@agency.go.id"}
    if spec.organizer:
        item["organizer"] = {"email": spec.organizer}
        partstat = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative"}
        item["attendees"] = [{"email": owner, "self": True,
                              "responseStatus": partstat.get(spec.owner_partstat or "", "needsAction")}]
        item["attendees"] += [{"email": o, "responseStatus": "accepted", "organizer": o == spec.organizer}
                              for o in spec.others]
    else:
        item["organizer"] = {"email": owner, "self": True}
    if spec.transparent:
        item["transparency"] = "transparent"
    if spec.busystatus == "OOF":
        item["eventType"] = "outOfOffice"
    return item


def by_spec_uid(events: list[Event] | tuple[Event, ...]) -> dict[str, Event]:
    return {e.uid: e for e in events}


# -- TLS with a private CA -----------------------------------------------------------------
def private_ca(folder: Path) -> tuple[Any, Path]:
    """A throwaway CA and a certificate for 127.0.0.1 signed by it: ``(server SSL context,
    CA PEM path)``. Clients trust the fake only when told about the CA."""
    import ssl

    from tests.pki import make_pki

    pki = make_pki(folder / "google-tls", "Agency test CA (Google fake)")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.cert, pki.key)
    return context, pki.ca


# -- an ICS week as Google events ------------------------------------------------------------
def ics_to_google(path: Path, owner: str, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """The VEVENTs of an ICS file as Google would list them with ``singleEvents=true``:
    recurrences expanded into instances (``recurringEventId``), organizer and attendees with
    ``self`` flags and response statuses, transparency, status, titles and places kept (the
    connector must not read them)."""
    import icalendar
    import recurring_ical_events

    calendar = icalendar.Calendar.from_ical(path.read_bytes())
    partstat = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative",
                "NEEDS-ACTION": "needsAction"}
    series = {str(c["UID"]) for c in calendar.walk("VEVENT") if "RRULE" in c}
    items = []
    for component in recurring_ical_events.of(calendar).between(start, end):
        uid = str(component["UID"]).split("@")[0].replace("-", "")
        first, last = component["DTSTART"].dt, component["DTEND"].dt
        recurring = str(component["UID"]) in series
        item: dict[str, Any] = {
            "id": f"{uid}_{first.astimezone(dt.timezone.utc):%Y%m%dT%H%M%SZ}" if recurring else uid,
            "summary": str(component.get("SUMMARY", "")), "start": stamp(first), "end": stamp(last),
            "status": str(component.get("STATUS", "CONFIRMED")).lower(),
        }
        if "LOCATION" in component:
            item["location"] = str(component["LOCATION"])
        if recurring:
            item["recurringEventId"] = uid
            item["originalStartTime"] = stamp(first)
        organizer = str(component.get("ORGANIZER", f"mailto:{owner}")).removeprefix("mailto:")
        item["organizer"] = {"email": organizer, **({"self": True} if organizer == owner else {})}
        attendees = component.get("ATTENDEE", [])
        attendees = attendees if isinstance(attendees, list) else [attendees]
        if attendees:
            item["attendees"] = []
            for attendee in attendees:
                address = str(attendee).removeprefix("mailto:")
                entry: dict[str, Any] = {"email": address, "responseStatus": partstat.get(
                    str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")), "needsAction")}
                if address == owner:
                    entry["self"] = True
                if address == organizer:
                    entry["organizer"] = True
                item["attendees"].append(entry)
        if str(component.get("TRANSP", "")) == "TRANSPARENT":
            item["transparency"] = "transparent"
        items.append(item)
    return items


# -- module fixtures (import them into a test module: ``from tests.fakes.google_support import fake, sa_file``)
@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGoogle]:
    """One Calendar v3 fake for the test module."""
    server = FakeGoogle()
    yield server
    server.close()


@pytest.fixture(scope="module")
def sa_file(fake: FakeGoogle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A service-account key registered with ``fake`` (domain-wide delegation)."""
    return register_service_account(fake, tmp_path_factory.mktemp("google-sa"))
