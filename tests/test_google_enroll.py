"""Google opt-in in user mode: the web page's two steps (state and PKCE), the installed-app
flow of ``enroll --no-browser``, refresh tokens kept in the vault, asking for the write scope
only for people who allow writes, and what happens when a sign-in is revoked.

The fake plays Google's consent screen and token endpoint over TLS with a private CA.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from balanced_calendar.model import AuthExpired, Event, Kind, UserError, Window
from connectors.google import GoogleSettings
from connectors.google.enroll import GoogleEnrollment
from connectors.plugin import EnrollInput, MemoryCredentials
from tests.contract.scenario import JAKARTA, OWNER, at
from tests.fakes.google_calendar import READ, SETTINGS, WRITE, FakeGoogle
from tests.fakes.google_support import connector, private_ca, register_client, stamp

CALLBACK = "https://opt-in.agency.go.id/google/callback"
WEEK = Window(at(14, 0), at(21, 0))


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, Path]:
    return private_ca(tmp_path_factory.mktemp("google-ca"))


@pytest.fixture(scope="module")
def fake(tls: tuple[ssl.SSLContext, Path]) -> Iterator[FakeGoogle]:
    server = FakeGoogle(tls=tls[0])
    yield server
    server.close()


@pytest.fixture()
def settings(fake: FakeGoogle, tls: tuple[ssl.SSLContext, Path], tmp_path: Path) -> Iterator[GoogleSettings]:
    fake.reset()
    fake.user(OWNER)
    fake.put(OWNER, {"id": "rapat", "start": stamp(at(15, 9)), "end": stamp(at(15, 10)), "summary": "Rahasia"})
    yield GoogleSettings(name="google", mode="user", client_secrets_file=register_client(fake, tmp_path),
                         api_endpoint=fake.url, ca_file=tls[1])
    assert fake.schema_errors == []


def browser(url: str, ca: Path) -> str:
    """The person's browser on the consent screen: where Google sends it back to."""
    class Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            return None

    opener = urllib.request.build_opener(Stay(), urllib.request.HTTPSHandler(
        context=ssl.create_default_context(cafile=str(ca))))
    with pytest.raises(urllib.error.HTTPError) as answer:
        opener.open(url)
    return answer.value.headers["Location"]


def web_opt_in(settings: GoogleSettings, ca: Path, *, protect: bool = False):
    flow = GoogleEnrollment()
    req = EnrollInput(email=OWNER, settings=settings, protect=protect)
    started = flow.start(req, CALLBACK)
    back = browser(started.url, ca)
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(back).query))
    return flow, req, started, params


def test_web_opt_in_with_state_and_pkce(fake, settings, tls):
    flow, req, started, params = web_opt_in(settings, tls[1])
    asked = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(started.url).query))
    assert asked["code_challenge_method"] == "S256" and asked["state"] == started.state
    assert asked["login_hint"] == OWNER and asked["access_type"] == "offline"
    assert set(asked["scope"].split()) == {READ, SETTINGS}
    enrolled = flow.finish(req, CALLBACK, params, started.state, started.verifier)
    assert enrolled.calendar == "primary" and set(enrolled.scopes) == {READ, SETTINGS}
    assert enrolled.secret["refresh_token"] in fake.refresh_tokens
    # the stored refresh token reads the calendar later, through the refresh grant
    secret = MemoryCredentials(dict(enrolled.secret, token=None))
    assert [e.uid for e in connector(settings, secret=secret).read(WEEK, JAKARTA)] == ["rapat"]
    assert [s.query.get("grant_type") for s in fake.seen if s.op == "token"] == ["authorization_code",
                                                                                "refresh_token"]


def test_an_answer_for_another_opt_in_is_refused(fake, settings, tls):
    flow, req, started, params = web_opt_in(settings, tls[1])
    with pytest.raises(UserError, match="state mismatch"):
        flow.finish(req, CALLBACK, params, "someone-elses-state", started.verifier)
    with pytest.raises(UserError, match="refused the sign-in code"):
        flow.finish(req, CALLBACK, params, started.state, "a-guessed-verifier-" + "x" * 30)
    assert fake.count("calendarList.get") == 0


def test_writes_ask_for_the_events_scope_and_a_read_only_consent_cannot_write(fake, settings, tls):
    flow, req, started, params = web_opt_in(settings, tls[1])
    read_only = flow.finish(req, CALLBACK, params, started.state, started.verifier)
    upgraded = connector(settings, protect=True, secret=MemoryCredentials(read_only.secret))
    block = Event(uid="bc-1", start=at(16, 8), end=at(16, 9), kind=Kind.OWN_BLOCK, title="Fokus")
    with pytest.raises(AuthExpired) as caught:
        upgraded.create_block(block)
    assert f"balanced-calendar enroll --provider google --email {OWNER} --protect" in str(caught.value)
    assert fake.count("events.insert") == 0
    flow, req, started, params = web_opt_in(settings, tls[1], protect=True)
    assert WRITE in urllib.parse.parse_qs(urllib.parse.urlsplit(started.url).query)["scope"][0].split()
    writer = flow.finish(req, CALLBACK, params, started.state, started.verifier)
    connector(settings, protect=True, secret=MemoryCredentials(writer.secret)).create_block(block)
    assert fake.count("events.insert") == 1


def test_a_revoked_sign_in_names_the_command_that_fixes_it(fake, settings, tls):
    flow, req, started, params = web_opt_in(settings, tls[1])
    enrolled = flow.finish(req, CALLBACK, params, started.state, started.verifier)
    fake.refresh_tokens.clear()
    with pytest.raises(AuthExpired) as caught:
        connector(settings, secret=MemoryCredentials(dict(enrolled.secret, token=None))).read(WEEK, JAKARTA)
    assert f"run: balanced-calendar enroll --provider google --email {OWNER}\n" in str(caught.value) + "\n"
    assert "invalid_grant" in caught.value.public and OWNER not in caught.value.public
    assert "re-enroll them: balanced-calendar enroll --provider google --email <address>" in caught.value.public


def test_cli_enroll_no_browser_prints_the_address_and_takes_the_loopback_answer(fake, settings, tls, tmp_path):
    exe = Path(sys.executable).with_name("balanced-calendar")
    assert subprocess.run([str(exe), "keygen", "--out", str(tmp_path / "vault-key")]).returncode == 0
    (tmp_path / "config.toml").write_text(f'''
[service]
state_dir = "state"
vault_key_file = "vault-key"
timezone = "Asia/Jakarta"
sync_past_weeks = 520
sync_future_weeks = 520

[connectors.google]
client_secrets_file = "{settings.client_secrets_file}"
api_endpoint = "{fake.url}"
ca_file = "{tls[1]}"
''')
    config = str(tmp_path / "config.toml")
    proc = subprocess.Popen([str(exe), "enroll", "--config", config, "--provider", "google", "--email", OWNER,
                             "--no-browser"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("y\n")
        proc.stdin.flush()
        for line in proc.stdout:
            if line.startswith(fake.url + "auth?"):
                break
        back = browser(line.strip(), tls[1])
        assert back.startswith("http://localhost:")
        with urllib.request.urlopen(back) as page:  # the loopback server takes the code
            assert page.status == 200
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "enrolled rina@agency.go.id" in out
    synced = subprocess.run([str(exe), "sync", "--config", config], capture_output=True, text=True)
    assert "synced 1/1 people" in synced.stdout, synced.stdout + synced.stderr
