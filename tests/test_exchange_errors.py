"""What an operator sees when Exchange refuses or slows down: typed errors with their fix,
through the real exchangelib against the local EWS server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from balanced_calendar.model import AuthExpired, ProviderError, RateLimited, UserError
from connectors.exchange import ExchangeSettings
from connectors.plugin import EnrollInput
from tests.contract.scenario import JAKARTA, OWNER
from tests.contract.test_connector_changes import WINDOW
from tests.fakes.ews import FakeEws
from tests.test_exchange_contract import PASSWORD, SERVICE, connector_for, ews, ews_server, settings_for  # noqa: F401


def test_a_short_back_off_is_waited_out_once(ews: FakeEws, tmp_path: Path) -> None:
    from connectors._ews_connector import ExchangeConnector

    ews.busy, ews.busy_ms = 1, 1500
    slept: list[float] = []
    connector = ExchangeConnector(settings_for(ews, tmp_path), owner=OWNER, sleep=slept.append)
    assert "meeting-accepted" in {e.uid for e in connector.read(WINDOW, JAKARTA)}
    assert slept == [1.5]


def test_a_long_back_off_is_rate_limited_with_the_wait(ews: FakeEws, tmp_path: Path) -> None:
    from connectors._ews_connector import ExchangeConnector

    ews.busy, ews.busy_ms = 5, 30_000
    slept: list[float] = []
    connector = ExchangeConnector(settings_for(ews, tmp_path, max_wait=10.0), owner=OWNER, sleep=slept.append)
    with pytest.raises(RateLimited) as caught:
        connector.read(WINDOW, JAKARTA)
    assert caught.value.retry_after == 30.0 and slept == []
    assert "ErrorServerBusy" in caught.value.public and "retry after 30 s" in caught.value.public


def test_a_wrong_password_is_auth_expired_with_the_fix(ews: FakeEws, tmp_path: Path) -> None:
    ews.passwords[SERVICE] = "changed-by-the-domain-admin"
    with pytest.raises(AuthExpired) as caught:
        connector_for(ews, tmp_path).read(WINDOW, JAKARTA)
    assert "password_file" in (caught.value.hint or "")
    assert PASSWORD not in str(caught.value)


def test_impersonation_refused_names_the_role_to_grant(ews: FakeEws, tmp_path: Path) -> None:
    ews.may_impersonate[SERVICE] = set()
    with pytest.raises(ProviderError) as caught:
        connector_for(ews, tmp_path).read(WINDOW, JAKARTA)
    assert "may not impersonate" in caught.value.public
    assert "ApplicationImpersonation" in (caught.value.hint or "")
    assert OWNER not in caught.value.public


def test_an_address_without_mailbox_is_reported(ews: FakeEws, tmp_path: Path) -> None:
    from connectors._ews_connector import ExchangeConnector

    connector = ExchangeConnector(settings_for(ews, tmp_path), owner="nobody@agency.go.id")
    with pytest.raises(ProviderError) as caught:
        connector.read(WINDOW, JAKARTA)
    assert "no mailbox" in caught.value.public and "primary SMTP address" in (caught.value.hint or "")


def test_a_server_that_does_not_answer_in_time_is_an_error_not_an_empty_calendar(ews: FakeEws, tmp_path: Path) -> None:
    ews.delay = 1.5
    with pytest.raises(ProviderError) as caught:
        connector_for(ews, tmp_path, timeout=0.5).read(WINDOW, JAKARTA)
    ews.delay = 0.0
    assert "did not answer" in caught.value.public and "timeout" in (caught.value.hint or "")


@pytest.fixture(scope="module")
def ews_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeEws, Path]]:
    from tests.smtp_server import make_pki

    pki = make_pki(tmp_path_factory.mktemp("ews-pki"))
    fake = FakeEws().start(cert=pki.cert, key=pki.key)
    yield fake, pki.ca
    fake.stop()


def test_an_oauth_bearer_token_signs_in_over_https_and_a_stale_one_is_auth_expired(
        ews_tls: tuple[FakeEws, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from connectors._ews_connector import ExchangeConnector

    fake, ca = ews_tls
    fake.reset()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))  # the agency's own CA, as an operator sets it
    token = tmp_path / "ews-token"
    token.write_text("eyJ0eXAi.fresh-token\n")
    os.chmod(token, 0o600)
    fake.add_service_account("svc-oauth", "", {OWNER}, token="eyJ0eXAi.fresh-token")
    fake.mailbox(OWNER)
    settings = ExchangeSettings.model_validate({"name": "exchange", "auth": "oauth", "service_endpoint": fake.url,
                                                "token_file": str(token)})
    assert fake.url.startswith("https://")
    assert ExchangeConnector(settings, owner=OWNER).read(WINDOW, JAKARTA) == []
    assert "FindItem" in [r.operation for r in fake.requests]
    token.write_text("eyJ0eXAi.expired-token\n")
    with pytest.raises(AuthExpired) as caught:
        ExchangeConnector(settings, owner=OWNER).read(WINDOW, JAKARTA)
    assert "token_file" in (caught.value.hint or "")


def test_enrollment_checks_impersonation_before_anything_is_recorded(ews: FakeEws, tmp_path: Path) -> None:
    from connectors.exchange import PROVIDER

    assert PROVIDER.enrollment is not None
    settings = settings_for(ews, tmp_path)
    done = PROVIDER.enrollment.unattended(EnrollInput(email=OWNER, settings=settings, protect=True))
    assert done.calendar == "primary" and dict(done.secret) == {}
    assert "calendar.events.write.own_blocks" in done.scopes
    ews.may_impersonate[SERVICE] = set()
    with pytest.raises(ProviderError, match="may not impersonate"):
        PROVIDER.enrollment.unattended(EnrollInput(email=OWNER, settings=settings))
    with pytest.raises(UserError, match="no sign-in"):
        PROVIDER.enrollment.start(EnrollInput(email=OWNER, settings=settings), "https://x/cb")
