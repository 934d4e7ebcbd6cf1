"""Microsoft 365 opt-in and tokens with the real MSAL against the local fake identity platform:
device code, authorization code with PKCE, silent refresh saved back to the vault seam,
revoked consent as AuthExpired with the re-enroll command, TLS trust, and the Graph mail
transport."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from balanced_calendar.mail.errors import PermanentFailure, TemporaryFailure
from balanced_calendar.mail.graph import GraphMailTransport
from balanced_calendar.model import AuthExpired, ProviderError, UserError, Window
from connectors.microsoft import PROVIDER
from connectors.microsoft.connector import MicrosoftConnector
from connectors.plugin import EnrollInput, MemoryCredentials
from tests.contract.scenario import JAKARTA, OWNER, WINDOW_END, WINDOW_START
from tests.fakes.graph import Running
from tests.microsoft_helpers import load_scenario, person, running_fake, settings

WINDOW = Window(WINDOW_START, WINDOW_END)


@pytest.fixture(scope="module")
def graph(tmp_path_factory) -> Iterator[Running]:
    yield from running_fake(tmp_path_factory.mktemp("graph-auth"))


@pytest.fixture()
def fake(graph: Running) -> Running:
    graph.fake.reset()
    load_scenario(graph)
    return graph


def user_settings(run: Running, folder: Path):
    return settings(run, folder, mode="user", client_secret_file=None)


def device_enroll(run: Running, folder: Path, *, who: str = OWNER, protect: bool = False):
    shown: list[str] = []

    def echo(line: str) -> None:  # the person reads the code and signs in as ``who``
        shown.append(line)
        run.fake.approve(re.search(r"code (\w+)", line).group(1), who)

    assert PROVIDER.enrollment is not None
    result = PROVIDER.enrollment.interactive(EnrollInput(email=OWNER, settings=user_settings(run, folder),
                                                        protect=protect, echo=echo))
    return result, shown


def test_device_code_enrollment_stores_the_msal_cache_for_the_vault(fake, tmp_path):
    result, shown = device_enroll(fake, tmp_path)
    assert "https://microsoft.com/devicelogin" in shown[0]
    assert result.scopes == ("Calendars.Read", "MailboxSettings.Read", "offline_access")
    assert result.secret["mode"] == "user" and "RefreshToken" in result.secret["msal_cache"]
    # only the configured hosts were asked: no instance discovery at login.microsoftonline.com
    assert {r.path.split("/")[-1] for r in fake.fake.login_requests()} >= {"openid-configuration", "devicecode", "token"}
    connector = MicrosoftConnector(user_settings(fake, tmp_path), person(protect=False),
                                   MemoryCredentials(result.secret))
    changes = connector.read_changes(WINDOW, JAKARTA, None)
    assert changes.full and len(changes.upserts) == 6
    assert all("/v1.0/me/" in r.path for r in fake.fake.graph_requests())


def test_write_scope_is_asked_only_for_people_who_allow_writes(fake, tmp_path):
    result, _ = device_enroll(fake, tmp_path, protect=True)
    assert "Calendars.ReadWrite" in result.scopes
    granted = [t.scope for t in fake.fake.tokens.values() if t.kind == "user"][-1]
    assert "/Calendars.ReadWrite" in granted and "/Calendars.Read " not in granted + " "
    read_only, _ = device_enroll(fake, tmp_path, protect=False)
    assert "Calendars.ReadWrite" not in read_only.scopes


def test_signing_in_as_someone_else_is_refused(fake, tmp_path):
    with pytest.raises(UserError, match="not the person being enrolled"):
        device_enroll(fake, tmp_path, who="budi@agency.go.id")


def test_expired_access_token_is_refreshed_and_saved_back(fake, tmp_path):
    result, _ = device_enroll(fake, tmp_path)
    credentials = MemoryCredentials(result.secret)
    fake.fake.tokens.clear()  # every access token now gets 401
    fake.fake.log.clear()
    connector = MicrosoftConnector(user_settings(fake, tmp_path), person(protect=False), credentials)
    assert len(connector.read(WINDOW, JAKARTA)) == 6
    assert credentials.get()["msal_cache"] != result.secret["msal_cache"]  # the new refresh token is kept
    assert [r.status for r in fake.fake.graph_requests()][:1] == [401]


def test_revoked_consent_is_auth_expired_with_the_command_that_fixes_it(fake, tmp_path):
    result, _ = device_enroll(fake, tmp_path)
    fake.fake.revoke(OWNER)
    connector = MicrosoftConnector(user_settings(fake, tmp_path), person(protect=False), MemoryCredentials(result.secret))
    with pytest.raises(AuthExpired) as caught:
        connector.read_changes(WINDOW, JAKARTA, None)
    assert "invalid_grant" in caught.value.public
    assert caught.value.hint == f"run: balanced-calendar enroll --provider microsoft --email {OWNER}"
    assert "rt-" not in str(caught.value) and "at-" not in str(caught.value)


def test_web_opt_in_uses_pkce_and_checks_state(fake, tmp_path):
    assert PROVIDER.enrollment is not None
    req = EnrollInput(email=OWNER, settings=user_settings(fake, tmp_path))
    redirect = "https://calendar.agency.go.id/optin/callback"
    start = PROVIDER.enrollment.start(req, redirect)
    assert "code_challenge_method=S256" in start.url and start.url.startswith(fake.base)
    params = fake.fake.authorize(start.url, OWNER)
    with pytest.raises(UserError, match="state mismatch"):
        PROVIDER.enrollment.finish(req, redirect, {**params, "state": "forged"}, start.state, start.verifier)
    with pytest.raises(UserError):
        PROVIDER.enrollment.finish(req, redirect, params, start.state, "a-wrong-verifier-" + "x" * 30)
    params = fake.fake.authorize(start.url, OWNER)
    result = PROVIDER.enrollment.finish(req, redirect, params, start.state, start.verifier)
    assert result.secret["msal_cache"] and result.calendar == "primary"


def test_user_mode_cannot_enroll_unattended(fake, tmp_path):
    assert PROVIDER.enrollment is not None
    with pytest.raises(UserError, match="needs the person to sign in"):
        PROVIDER.enrollment.unattended(EnrollInput(email=OWNER, settings=user_settings(fake, tmp_path)))


def test_tls_trust_comes_from_the_environment_when_no_ca_file_is_set(fake, tmp_path, monkeypatch):
    untrusted = settings(fake, tmp_path, ca_file=None)
    connector = MicrosoftConnector(untrusted, person(), MemoryCredentials())
    with pytest.raises(ProviderError) as caught:
        connector.read(WINDOW, JAKARTA)
    assert "not trusted" in caught.value.public and "ca_file" in (caught.value.hint or "")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake.ca_file))
    from connectors.microsoft.auth import _APPS

    _APPS.clear()
    assert len(MicrosoftConnector(untrusted, person(), MemoryCredentials()).read(WINDOW, JAKARTA)) == 6


# -- mail ------------------------------------------------------------------------------------
def test_graph_transport_sends_the_mime_message_through_send_mail(fake, tmp_path):
    sender = "balanced-calendar@agency.go.id"
    fake.fake.mailbox(sender)
    transport = GraphMailTransport(settings(fake, tmp_path), sender)
    message = b"From: balanced-calendar@agency.go.id\r\nTo: rina@agency.go.id\r\nSubject: Ringkasan\r\n\r\nHalo\r\n"
    transport.send("digest:p-1:2026-W51", sender, OWNER, message)
    assert fake.fake.mailbox(sender).sent == [message]
    fake.fake.throttle(100, retry_after=1)
    with pytest.raises(TemporaryFailure, match="throttling"):
        GraphMailTransport(settings(fake, tmp_path, max_retry_wait=0), sender).send("k2", sender, OWNER, message)
    fake.fake.throttle(0)
    fake.fake.allowed = {"someone.else@agency.go.id"}
    with pytest.raises(PermanentFailure):
        transport.send("k3", sender, OWNER, message)


def test_graph_transport_needs_app_mode(fake, tmp_path):
    with pytest.raises(UserError, match='mode = "app"'):
        GraphMailTransport(user_settings(fake, tmp_path), "x@agency.go.id")
