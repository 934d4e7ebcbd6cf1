"""Microsoft 365 end to end through the CLI, as an operator runs it in app mode: a config in the
documented format, ``enroll --yes``, ``sync``, ``status``, ``audit --person`` against the
local HTTPS fake of Graph; the spec's example week served as Graph events audits exactly like
the same ICS file."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import icalendar
import pytest
import recurring_ical_events

from tests.helpers import SERVICE
from tests.fakes.graph import CLIENT_ID, TENANT, Running, graph_date, graph_time
from tests.microsoft_helpers import running_fake, secret_file
from tests.test_service_cli import EXAMPLE_ICS, RINA, cli

AUDIT_ARGS = ["--start", "2026-12-14", "--end", "2026-12-27", "--format", "json"]


@pytest.fixture(scope="module")
def graph(tmp_path_factory) -> Iterator[Running]:
    yield from running_fake(tmp_path_factory.mktemp("graph-cli"))


def _address(value: Any) -> str:
    return str(value).lower().removeprefix("mailto:")


def ics_as_graph(path: Path, owner: str) -> list[dict[str, Any]]:
    """Every instance of an ICS file the way Graph's calendar view lists it."""
    calendar = icalendar.Calendar.from_ical(path.read_bytes())
    events = []
    for n, instance in enumerate(recurring_ical_events.of(calendar).between(dt.date(2026, 1, 1), dt.date(2028, 1, 1))):
        start, end = instance["DTSTART"].dt, instance["DTEND"].dt
        all_day = not isinstance(start, dt.datetime)
        organizer = _address(instance.get("ORGANIZER", f"mailto:{owner}"))
        attendees = instance.get("ATTENDEE", [])
        attendees = attendees if isinstance(attendees, list) else [attendees]
        mine = next((a for a in attendees if _address(a) == owner), None)
        partstat = str(mine.params.get("PARTSTAT", "NEEDS-ACTION")) if mine is not None else ""
        answer = "organizer" if organizer == owner else {
            "ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentativelyAccepted"}.get(partstat, "notResponded")
        events.append({
            "id": f"AAMkAD{n:04d}", "subject": str(instance.get("SUMMARY", "")), "type": "occurrence",
            "start": (graph_date if all_day else graph_time)(start), "end": (graph_date if all_day else graph_time)(end),
            "isAllDay": all_day, "isCancelled": str(instance.get("STATUS", "")).upper() == "CANCELLED",
            "showAs": "free" if str(instance.get("TRANSP", "")).upper() == "TRANSPARENT" else "busy",
            "isOrganizer": organizer == owner, "organizer": {"emailAddress": {"address": organizer}},
            "attendees": [{"emailAddress": {"address": _address(a)}, "type": "required",
                           "status": {"response": "none"}} for a in attendees if _address(a) != organizer],
            "responseStatus": {"response": answer}, "categories": [],
        })
    return events


@pytest.fixture()
def site(graph: Running, tmp_path: Path) -> Path:
    graph.fake.reset()
    graph.fake.mailbox(RINA).zone = "SE Asia Standard Time"
    for event in ics_as_graph(EXAMPLE_ICS, RINA):
        graph.fake.put(RINA, event)
    assert cli("keygen", "--out", str(tmp_path / "vault-key")).returncode == 0
    secret = secret_file(tmp_path)
    (tmp_path / "config.toml").write_text(f'''
{SERVICE}
[connectors.microsoft]
mode = "app"
tenant_id = "{TENANT}"
client_id = "{CLIENT_ID}"
client_secret_file = "{secret.name}"
authority = "{graph.base}"
graph_endpoint = "{graph.graph}"
ca_file = "{graph.ca_file}"

[[people]]
email = "{RINA}"
connector = "microsoft"
timezone = "Asia/Jakarta"
''')
    return tmp_path


def test_app_mode_enroll_sync_status_and_audit_match_the_same_week_as_ics(site, graph):
    config = str(site / "config.toml")
    enrolled = cli("enroll", "--config", config, "--provider", "microsoft", "--email", RINA, "--yes")
    assert enrolled.returncode == 0, enrolled.stderr
    db = sqlite3.connect(site / "state" / "state.sqlite3")
    assert "Calendars.Read" in db.execute("SELECT scopes FROM consents").fetchone()[0]
    db.close()

    synced = cli("sync", "--config", config)
    assert synced.returncode == 0 and "synced 1/1 people" in synced.stdout, synced.stdout + synced.stderr
    first = len(graph.fake.graph_requests())
    graph.fake.log.clear()
    again = cli("sync", "--config", config)
    assert again.returncode == 0 and "synced 1/1 people" in again.stdout
    assert first >= 1 and len(graph.fake.graph_requests()) == 1  # the steady state: one delta request
    assert all(r.host in ("graph", "login") for r in graph.fake.log)

    from_store = json.loads(cli("audit", "--config", config, "--person", RINA, *AUDIT_ARGS).stdout)
    from_file = json.loads(cli("audit", "--ics", str(EXAMPLE_ICS), "--me", RINA, "--tz", "Asia/Jakarta",
                               *AUDIT_ARGS).stdout)
    assert from_store["days"] == from_file["days"]
    assert from_store["findings"] == from_file["findings"]
    assert from_store["findings"]  # the example week does overload Rina

    status = cli("status", "--config", config)
    assert status.returncode == 0 and RINA not in status.stdout and "never" not in status.stdout
    raw = b"".join(p.read_bytes() for p in (site / "state").glob("state.sqlite3*"))
    for secret in (b"secret title", b"Ruang Rapat", b"budi@agency.go.id", b"at-"):
        assert secret not in raw


def test_a_mailbox_outside_the_application_access_policy_is_refused_at_enroll(site, graph):
    graph.fake.allowed = {"someone.else@agency.go.id"}
    proc = cli("enroll", "--config", str(site / "config.toml"), "--provider", "microsoft", "--email", RINA, "--yes")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "access to this mailbox was denied" in proc.stderr and "application access policy" in proc.stderr
    assert cli("people", "--config", str(site / "config.toml")).stdout.count("0 enrolled") == 1


def test_throttled_sync_is_reported_on_the_person_not_as_an_empty_calendar(site, graph):
    config = str(site / "config.toml")
    (site / "config.toml").write_text((site / "config.toml").read_text().replace(
        'ca_file = ', 'max_retry_wait = 1\nca_file = '))
    assert cli("enroll", "--config", config, "--provider", "microsoft", "--email", RINA, "--yes").returncode == 0
    graph.fake.throttle(100, retry_after=5)
    synced = cli("sync", "--config", config)
    graph.fake.throttle(0)
    assert "synced 0/1 people" in synced.stdout and "throttling" in synced.stdout
    status = cli("status", "--config", config)
    assert "throttling" in status.stdout or "rate" in status.stdout


def _without_person_zone(site: Path) -> None:
    text = (site / "config.toml").read_text()
    head, people = text.split("[[people]]")
    (site / "config.toml").write_text(head + "[[people]]" + people.replace('timezone = "Asia/Jakarta"\n', ""))


def test_the_mailbox_zone_is_kept_for_a_person_whose_config_entry_sets_none(site, graph):
    _without_person_zone(site)
    graph.fake.mailbox(RINA).zone = "W. Europe Standard Time"
    config = str(site / "config.toml")
    assert cli("enroll", "--config", config, "--provider", "microsoft", "--email", RINA, "--yes").returncode == 0
    synced = cli("sync", "--config", config)
    assert "synced 1/1 people" in synced.stdout, synced.stdout + synced.stderr
    db = sqlite3.connect(site / "state" / "state.sqlite3")
    assert db.execute("SELECT timezone FROM people").fetchone()[0] == "Europe/Berlin"
    db.close()
    audit = json.loads(cli("audit", "--config", config, "--person", RINA, *AUDIT_ARGS).stdout)
    assert audit["timezone"] == "Europe/Berlin"
    again = cli("sync", "--config", config)  # a reloaded config does not undo it
    assert "synced 1/1 people" in again.stdout
    assert json.loads(cli("audit", "--config", config, "--person", RINA, *AUDIT_ARGS).stdout)["timezone"] == \
        "Europe/Berlin"


def test_a_zone_set_in_the_config_wins_over_the_mailbox(site, graph):
    graph.fake.mailbox(RINA).zone = "W. Europe Standard Time"
    config = str(site / "config.toml")
    assert cli("enroll", "--config", config, "--provider", "microsoft", "--email", RINA, "--yes").returncode == 0
    graph.fake.log.clear()
    synced = cli("sync", "--config", config)
    assert "synced 1/1 people" in synced.stdout, synced.stdout + synced.stderr
    assert json.loads(cli("audit", "--config", config, "--person", RINA, *AUDIT_ARGS).stdout)["timezone"] == \
        "Asia/Jakarta"
    assert not any("mailboxSettings" in r.path for r in graph.fake.graph_requests())


def test_tls_trust_from_ssl_cert_file_alone(site, graph, monkeypatch):
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    text = (site / "config.toml").read_text()
    (site / "config.toml").write_text(text.replace(f'ca_file = "{graph.ca_file}"\n', ""))
    config = str(site / "config.toml")
    refused = cli("enroll", "--config", config, "--provider", "microsoft", "--email", RINA, "--yes")
    assert refused.returncode != 0 and "not trusted" in refused.stderr
    trusted = {"SSL_CERT_FILE": str(graph.ca_file)}
    assert cli("enroll", "--config", config, "--provider", "microsoft", "--email", RINA, "--yes",
               env=trusted).returncode == 0
    synced = cli("sync", "--config", config, env=trusted)
    assert "synced 1/1 people" in synced.stdout, synced.stdout + synced.stderr


@pytest.mark.parametrize("section", ["", "user"])
def test_config_check_reports_graph_mail_without_an_app_mode_section(site, graph, section):
    text = (site / "config.toml").read_text()
    if section == "user":
        text = text.replace('mode = "app"\n', 'mode = "user"\n')
    else:
        head, rest = text.split("[connectors.microsoft]")
        text = head + "[[people]]" + rest.split("[[people]]")[1]
        text = text.replace('connector = "microsoft"', 'connector = "ics"\ncalendar = "x.ics"')
        (site / "x.ics").write_bytes(EXAMPLE_ICS.read_bytes())
    (site / "config.toml").write_text(text + '\n[mail]\ntransport = "graph"\nfrom = "bc@agency.go.id"\n')
    checked = cli("config", "check", "--config", str(site / "config.toml"))
    assert checked.returncode != 0 and "Traceback" not in checked.stderr, checked.stdout + checked.stderr
    assert "mail.transport" in checked.stderr and 'mode = "app"' in checked.stderr


def test_config_check_accepts_graph_mail_with_an_app_mode_section(site, graph):
    (site / "config.toml").write_text((site / "config.toml").read_text() +
                                      '\n[mail]\ntransport = "graph"\nfrom = "bc@agency.go.id"\n')
    checked = cli("config", "check", "--config", str(site / "config.toml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Microsoft Graph sendMail" in checked.stdout
