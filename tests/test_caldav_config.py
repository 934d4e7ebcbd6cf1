"""Where a CalDAV person's calendar comes from: the config checks and the templates, and an
enrollment that finds the calendar through ``calendar_url`` on a real Radicale."""

from __future__ import annotations

from pathlib import Path

import pytest

from balanced_calendar.model import AuthExpired
from connectors.caldav import CaldavSettings, template_url
from connectors.plugin import EnrollInput
from tests.radicale_server import Calendar, calendar, radicale  # noqa: F401
from tests.test_config import message, paths, secret, write


def test_the_server_kind_knows_where_zimbra_and_nextcloud_keep_calendars():
    zimbra = CaldavSettings(name="caldav", url="https://mail.agency.go.id/dav/", server="zimbra")
    assert template_url(zimbra, "rina@agency.go.id") == "https://mail.agency.go.id/dav/rina@agency.go.id/Calendar/"
    nextcloud = CaldavSettings(name="caldav", url="https://cloud.agency.go.id/remote.php/dav/", server="nextcloud")
    assert template_url(nextcloud, "rina@agency.go.id") == \
        "https://cloud.agency.go.id/remote.php/dav/calendars/rina/personal/"
    generic = CaldavSettings(name="caldav", url="https://dav.agency.go.id/")
    assert template_url(generic, "rina@agency.go.id") is None  # discovered from the principal
    custom = CaldavSettings(name="caldav", url="https://dav.agency.go.id/", server="zimbra",
                            calendar_url="https://dav.agency.go.id/cal/{user}/kerja/")
    assert template_url(custom, "rina@agency.go.id") == "https://dav.agency.go.id/cal/rina/kerja/"


def test_config_check_refuses_unknown_placeholders_plain_http_and_bad_person_calendars(tmp_path: Path):
    secret(tmp_path, "pw")
    path = write(tmp_path, """
        [connectors.caldav]
        url = "https://dav.example.org/"
        server = "sogo"
        calendar_url = "https://dav.example.org/{login}/Calendar/"
        username = "svc"
        password_file = "pw"

        [[people]]
        email = "a@example.org"
        connector = "caldav"
        calendar = "http://dav.example.org/a/Calendar/"
        """)
    assert set(paths(path)) == {"connectors.caldav.server", "connectors.caldav.calendar_url", "people[0].calendar"}
    assert "{user}" in message(path, "connectors.caldav.calendar_url")
    assert "https://" in message(path, "people[0].calendar")


def test_enrollment_uses_the_calendar_url_template_and_checks_the_password(tmp_path, radicale, calendar):  # noqa: F811
    from connectors._dav_enroll import CaldavEnrollment

    pw = tmp_path / "pw"
    pw.write_text(calendar.password)
    pw.chmod(0o600)
    settings = CaldavSettings(name="caldav", url=radicale.url + "/", server="radicale", username=calendar.username,
                              password_file=pw, calendar_url=radicale.url + "/{email}/calendar/")
    echoed: list[str] = []
    done = CaldavEnrollment().unattended(EnrollInput(email=calendar.username, settings=settings, echo=echoed.append))
    assert done.calendar == calendar.url and done.secret == {"calendar": calendar.url}
    assert echoed == []  # found by the template, not by discovery
    pw.write_text("wrong")
    with pytest.raises(AuthExpired) as caught:
        CaldavEnrollment().unattended(EnrollInput(email=calendar.username, settings=settings))
    assert "password_file" in caught.value.public
