"""How the service account signs in to Exchange and whom it trusts: NTLM through the real
Negotiate/Challenge/Authenticate handshake (pyspnego's acceptor in the local EWS server),
OAuth only over https, and the TLS certificate of the server checked against the CAs the
operator trusts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from balanced_calendar.model import AuthExpired, ProviderError
from connectors.base import Connector
from connectors.exchange import ExchangeSettings
from tests.contract.scenario import JAKARTA, OWNER, SCENARIO
from tests.contract.test_connector_changes import WINDOW
from tests.contract.test_connector_contract import ConnectorContract
from tests.fakes.ews import FakeEws, scenario_item
from tests.test_service_cli import RINA, cli

NTLM_USER, NTLM_PASSWORD = "AGENCY\\svc-ntlm", "Ntlm-Pass-2026"


def _secret(folder: Path, name: str, value: str) -> Path:
    path = folder / name
    path.write_text(value + "\n")
    os.chmod(path, 0o600)
    return path


def ntlm_settings(url: str, folder: Path, password: str = NTLM_PASSWORD, username: str = NTLM_USER,
                  **extra: object) -> ExchangeSettings:
    return ExchangeSettings.model_validate({
        "name": "exchange", "auth": "ntlm", "username": username, "service_endpoint": url,
        "password_file": str(_secret(folder, "ews-password", password)), **extra})


def ntlm_connector(fake: FakeEws | str, folder: Path, password: str = NTLM_PASSWORD,
                   username: str = NTLM_USER, **extra: object) -> Connector:
    from connectors._ews_connector import ExchangeConnector

    url = fake if isinstance(fake, str) else fake.url
    return ExchangeConnector(ntlm_settings(url, folder, password, username, **extra), owner=OWNER,
                             allow_write=True)


@pytest.fixture(scope="module")
def ntlm_server() -> Iterator[FakeEws]:
    fake = FakeEws().start()
    yield fake
    fake.stop()


@pytest.fixture()
def ntlm_ews(ntlm_server: FakeEws) -> FakeEws:
    ntlm_server.reset()
    ntlm_server.add_service_account(NTLM_USER, NTLM_PASSWORD, {OWNER})
    for spec in SCENARIO:
        ntlm_server.put(OWNER, scenario_item(spec, OWNER))
    return ntlm_server


class TestExchangeOverNtlm(ConnectorContract):
    """The whole reading contract, every request signed in through an NTLM handshake."""

    @pytest.fixture()
    def connector(self, ntlm_ews: FakeEws, tmp_path: Path) -> Iterator[Connector]:
        yield ntlm_connector(ntlm_ews, tmp_path)
        assert ntlm_ews.ntlm_logins and set(ntlm_ews.ntlm_logins) == {NTLM_USER}


def test_ntlm_signs_in_as_domain_user_and_impersonates_the_person(ntlm_ews: FakeEws, tmp_path: Path) -> None:
    events = ntlm_connector(ntlm_ews, tmp_path).read(WINDOW, JAKARTA)
    assert "meeting-accepted" in {e.uid for e in events}
    # one completed handshake per EWS request, each proving DOMAIN\user, each impersonating the person
    assert len(ntlm_ews.ntlm_logins) == len(ntlm_ews.requests) >= 3
    assert set(ntlm_ews.ntlm_logins) == {NTLM_USER}
    assert {r.mailbox for r in ntlm_ews.requests} == {OWNER}


def test_ntlm_with_a_wrong_password_is_auth_expired_with_the_fix(ntlm_ews: FakeEws, tmp_path: Path) -> None:
    with pytest.raises(AuthExpired) as caught:
        ntlm_connector(ntlm_ews, tmp_path, password="Old-Pass-2025").read(WINDOW, JAKARTA)
    assert "password_file" in (caught.value.hint or "") and "username" in (caught.value.hint or "")
    assert "Old-Pass-2025" not in str(caught.value) and NTLM_PASSWORD not in str(caught.value)
    assert ntlm_ews.ntlm_logins == [] and ntlm_ews.requests == []  # the server never ran an operation


def test_ntlm_password_changed_by_the_domain_admin_is_auth_expired(ntlm_ews: FakeEws, tmp_path: Path) -> None:
    connector = ntlm_connector(ntlm_ews, tmp_path)
    assert connector.read(WINDOW, JAKARTA)
    ntlm_ews.passwords[NTLM_USER] = "Rotated-2027"
    with pytest.raises(AuthExpired, match="HTTP 401"):
        ntlm_connector(ntlm_ews, tmp_path).read(WINDOW, JAKARTA)


def test_ntlm_with_an_unknown_domain_is_refused(ntlm_ews: FakeEws, tmp_path: Path) -> None:
    with pytest.raises(AuthExpired):
        ntlm_connector(ntlm_ews, tmp_path, username="OTHERDOM\\svc-ntlm").read(WINDOW, JAKARTA)


def test_ntlm_enrollment_through_the_cli(ntlm_ews: FakeEws, tmp_path: Path) -> None:
    ntlm_ews.mailbox(RINA)
    ntlm_ews.may_impersonate[NTLM_USER].add(RINA)
    config = _site(tmp_path, f'''
service_endpoint = "{ntlm_ews.url}"
auth = "ntlm"
username = 'AGENCY\\svc-ntlm'
password_file = "ews-password"
''')
    _secret(tmp_path, "ews-password", NTLM_PASSWORD)
    enrolled = cli("enroll", "--config", config, "--provider", "exchange", "--email", RINA, "--yes")
    assert enrolled.returncode == 0, enrolled.stderr
    assert NTLM_USER in ntlm_ews.ntlm_logins
    synced = cli("sync", "--config", config)
    assert synced.returncode == 0 and "synced 1/1 people" in synced.stdout, synced.stdout + synced.stderr
    _secret(tmp_path, "ews-password", "typo-pass")
    refused = cli("sync", "--config", config)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr + refused.stdout
    assert "synced 0/1 people" in refused.stdout, refused.stdout + refused.stderr
    assert "refused the service account's sign-in (HTTP 401)" in refused.stdout
    status = cli("status", "--config", config)
    assert "refused the service account's sign-in" in status.stdout and "typo-pass" not in status.stdout


# -- OAuth only over https -------------------------------------------------------------------
def _site(folder: Path, exchange: str) -> str:
    assert cli("keygen", "--out", str(folder / "vault-key")).returncode == 0
    (folder / "config.toml").write_text(f'''
[service]
state_dir = "state"
vault_key_file = "vault-key"
policy = "asn-id"
timezone = "Asia/Jakarta"

[connectors.exchange]{exchange}
[[people]]
email = "{RINA}"
connector = "exchange"
''')
    return str(folder / "config.toml")


def test_oauth_over_plain_http_is_refused_with_the_fix_before_any_request(tmp_path: Path) -> None:
    fake = FakeEws().start()
    try:
        fake.add_service_account("svc-oauth", "", {RINA}, token="eyJ0eXAi.token")
        fake.mailbox(RINA)
        _secret(tmp_path, "ews-token", "eyJ0eXAi.token")
        config = _site(tmp_path, f'''
service_endpoint = "{fake.url}"
auth = "oauth"
token_file = "ews-token"
''')
        for command in (["enroll", "--config", config, "--provider", "exchange", "--email", RINA, "--yes"],
                        ["sync", "--config", config]):
            refused = cli(*command)
            assert refused.returncode == 2, refused.stdout + refused.stderr
            assert "Traceback" not in refused.stderr
            assert "OAuth tokens are only sent over https; use an https:// service_endpoint" in refused.stderr
            assert "service_endpoint" in refused.stderr
        assert fake.requests == []
    finally:
        fake.stop()


def test_the_connector_itself_never_sends_a_token_over_http(tmp_path: Path) -> None:
    from connectors._ews_connector import ExchangeConnector

    fake = FakeEws().start()
    try:
        fake.add_service_account("svc-oauth", "", {OWNER}, token="eyJ0eXAi.token")
        fake.mailbox(OWNER)
        settings = ExchangeSettings.model_validate({  # not through the config loader
            "name": "exchange", "auth": "oauth", "service_endpoint": fake.url,
            "token_file": str(_secret(tmp_path, "ews-token", "eyJ0eXAi.token"))})
        with pytest.raises(ProviderError, match="only sent over https") as caught:
            ExchangeConnector(settings, owner=OWNER).read(WINDOW, JAKARTA)
        assert "https://" in (caught.value.hint or "")
        assert fake.requests == []
    finally:
        fake.stop()


# -- TLS trust -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ntlm_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeEws, Path]]:
    from tests.smtp_server import make_pki

    pki = make_pki(tmp_path_factory.mktemp("ews-ntlm-pki"))
    fake = FakeEws().start(cert=pki.cert, key=pki.key)
    yield fake, pki.ca
    fake.stop()


@pytest.fixture()
def no_ca_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_certificate_from_an_untrusted_ca_is_a_clear_error_until_ca_file_trusts_it(
        ntlm_tls: tuple[FakeEws, Path], tmp_path: Path, no_ca_env: pytest.MonkeyPatch) -> None:
    from tests.smtp_server import make_pki

    fake, ca = ntlm_tls
    fake.reset()
    fake.add_service_account(NTLM_USER, NTLM_PASSWORD, {OWNER})
    fake.put(OWNER, scenario_item(SCENARIO[0], OWNER))
    assert fake.url.startswith("https://")
    with pytest.raises(ProviderError) as caught:
        ntlm_connector(fake, tmp_path).read(WINDOW, JAKARTA)
    assert "certificate is not trusted" in caught.value.public
    assert "ca_file" in (caught.value.hint or "") and "REQUESTS_CA_BUNDLE" in (caught.value.hint or "")
    assert fake.requests == [] and fake.ntlm_logins == []

    # the agency's CA in ca_file wins even over an unrelated bundle in REQUESTS_CA_BUNDLE
    no_ca_env.setenv("REQUESTS_CA_BUNDLE", str(make_pki(tmp_path / "other-pki").ca))
    events = ntlm_connector(fake, tmp_path, ca_file=str(ca)).read(WINDOW, JAKARTA)
    assert [e.uid for e in events] == [SCENARIO[0].uid]
    assert set(fake.ntlm_logins) == {NTLM_USER}  # NTLM over TLS (with channel bindings sent)

    # and without ca_file the wrong bundle is still refused: the trust is not left behind
    with pytest.raises(ProviderError, match="certificate is not trusted"):
        ntlm_connector(fake, tmp_path).read(WINDOW, JAKARTA)


def test_requests_ca_bundle_also_trusts_the_agency_ca(
        ntlm_tls: tuple[FakeEws, Path], tmp_path: Path, no_ca_env: pytest.MonkeyPatch) -> None:
    fake, ca = ntlm_tls
    fake.reset()
    fake.add_service_account(NTLM_USER, NTLM_PASSWORD, {OWNER})
    fake.put(OWNER, scenario_item(SCENARIO[0], OWNER))
    no_ca_env.setenv("REQUESTS_CA_BUNDLE", str(ca))
    assert [e.uid for e in ntlm_connector(fake, tmp_path).read(WINDOW, JAKARTA)] == [SCENARIO[0].uid]


def test_a_missing_ca_file_is_a_config_error(tmp_path: Path) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="not a readable file"):
        ntlm_settings("https://mail.agency.go.id/EWS/Exchange.asmx", tmp_path, ca_file=str(tmp_path / "none.pem"))


def test_an_untrusted_certificate_through_the_cli_names_the_ca_setting(
        ntlm_tls: tuple[FakeEws, Path], tmp_path: Path, no_ca_env: pytest.MonkeyPatch) -> None:
    fake, ca = ntlm_tls
    fake.reset()
    fake.add_service_account(NTLM_USER, NTLM_PASSWORD, {RINA})
    fake.mailbox(RINA)
    _secret(tmp_path, "ews-password", NTLM_PASSWORD)
    config = _site(tmp_path, f'''
service_endpoint = "{fake.url}"
auth = "ntlm"
username = 'AGENCY\\svc-ntlm'
password_file = "ews-password"
''')
    args = ["enroll", "--config", config, "--provider", "exchange", "--email", RINA, "--yes"]
    refused = cli(*args)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "certificate is not trusted" in refused.stderr and "ca_file" in refused.stderr
    assert cli("people", "--config", config).stdout.count(RINA) == 0  # nothing recorded
    # what the hint says: [connectors.exchange] ca_file
    text = Path(config).read_text().replace('password_file = "ews-password"\n',
                                            f'password_file = "ews-password"\nca_file = "{ca}"\n')
    Path(config).write_text(text)
    trusted = cli(*args)
    assert trusted.returncode == 0, trusted.stderr


def test_a_server_that_is_not_there_is_a_typed_error(tmp_path: Path) -> None:
    fake = FakeEws().start()
    fake.add_service_account(NTLM_USER, NTLM_PASSWORD, {OWNER})
    url = fake.url
    fake.stop()  # nothing listens on the port any more
    with pytest.raises(ProviderError) as caught:
        ntlm_connector(url, tmp_path).read(WINDOW, JAKARTA)
    assert caught.value.hint and "service_endpoint" in caught.value.hint
