"""The opt-in portal over real HTTPS, driven like a browser without a browser (httpx, following
the redirects through the fake Google and Microsoft sign-in pages): consent and sign-in,
tokens in the vault and the consent record, settings and how the config wins, the scope
upgrade, withdrawal, RFC 8058 one-click unsubscribe, the leader view, and the guards (CSRF,
cookies, headers, state and code replay, rate limit, session expiry, trusted proxies, logs).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import ssl
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from balanced_calendar.config import load_config
from balanced_calendar.digest.queue import sender_of, unsubscribe_token, wants_digest
from balanced_calendar.enrollment import CONSENT_VERSION, PROTECT_PURPOSES, PURPOSES
from balanced_calendar.preferences import load as load_prefs
from balanced_calendar.runtime import open_runtime
from balanced_calendar.store import NotEnrolled
from tests.fakes.google_calendar import READ, WRITE
from tests.portal_site import ANDI, BUDI, LINA, SITI, STRANGER, Site, start_site


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 21, 2, 0, tzinfo=dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, clock: Clock) -> Iterator[Site]:
    with start_site(tmp_path_factory.mktemp("portal"), clock=clock) as running:
        yield running


class Visitor:
    """One browser profile: a cookie jar that trusts the portal and both fakes."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.http = httpx.Client(verify=ssl.create_default_context(cafile=str(site.ca_bundle)),
                                 follow_redirects=True, timeout=30)

    def get(self, path: str, **kw) -> httpx.Response:
        return self.http.get(self.site.url + path, **kw)

    def csrf(self, path: str = "/") -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.get(path).text)
        assert found, "no form on " + path
        return found.group(1)

    def post(self, path: str, data: dict, *, csrf_from: str | None = "/", **kw) -> httpx.Response:
        if csrf_from is not None and "csrf" not in data:
            data = {"csrf": self.csrf(csrf_from), **data}
        return self.http.post(self.site.url + path, data=data, **kw)

    def sign(self, email: str, provider: str, intent: str = "optin") -> httpx.Response:
        data = {"intent": intent, "email": email, "provider": provider}
        if intent == "optin":
            data["agree"] = "yes"
        return self.post("/signin", data)


def text_of(page: httpx.Response, element: str) -> str:
    found = re.search(rf'id="{element}"[^>]*>([^<]*)', page.text)
    return found.group(1).strip() if found else ""


def person(site: Site, email: str):
    return site.store(lambda rt: rt.store.get_person(email))


def enrolled(site: Site, email: str) -> bool:
    try:
        person(site, email)
    except NotEnrolled:
        return False
    return True


def withdraw_if_enrolled(site: Site, email: str) -> None:
    from balanced_calendar.enrollment import unenroll

    if enrolled(site, email):
        site.store(lambda rt: unenroll(rt, email))


# -- the landing page ------------------------------------------------------------------------
def test_landing_page_names_what_is_read_stored_why_how_long_and_the_rights_in_both_languages(site):
    visitor = Visitor(site)
    page = visitor.get("/")
    assert page.status_code == 200 and '<html lang="id">' in page.text
    assert "UU 27/2022" in page.text and CONSENT_VERSION in page.text
    for heading in ("Apa yang dibaca", "Apa yang disimpan", "Untuk apa", "Berapa lama", "Hak Anda"):
        assert heading in page.text
    assert "Masuk dengan Google" in page.text and "Masuk dengan Microsoft" in page.text
    english = visitor.get("/?lang=en")
    assert '<html lang="en">' in english.text and "Sign in with Microsoft" in english.text
    assert "What is stored" in english.text and "withdraw at any time" in english.text
    assert '<html lang="en">' in visitor.get("/").text  # the choice stays with the session


def test_cookies_and_security_headers(site):
    page = Visitor(site).get("/")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("__Host-bc-session=")
    assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=1800"))
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'none'" in csp and "unsafe-inline" not in csp
    assert "<script" not in page.text and " style=" not in page.text
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["strict-transport-security"].startswith("max-age=")


# -- opt-in --------------------------------------------------------------------------------
def test_google_opt_in_stores_tokens_in_the_vault_and_records_consent(site):
    withdraw_if_enrolled(site, SITI)
    page = Visitor(site).sign(SITI, "google")
    assert page.status_code == 200 and page.url.path == "/settings", page.text
    stored = person(site, SITI)
    assert stored.connector == "google" and stored.protect is False and stored.language == "id"
    secret = site.store(lambda rt: rt.credentials(SITI, "google"))
    assert secret["refresh_token"] in site.google.refresh_tokens
    consent = site.store(lambda rt: rt.store.consents(SITI))[-1]
    assert consent.text_version == CONSENT_VERSION and consent.purposes == PURPOSES
    assert WRITE not in consent.scopes and READ in consent.scopes
    blob = site.store(lambda rt: rt.store.get_credentials(SITI, "google"))
    assert secret["refresh_token"].encode() not in blob  # encrypted at rest
    asked = [s.query for s in site.google.seen if s.op == "auth"][-1]
    assert asked["code_challenge_method"] == "S256" and asked["state"]
    assert asked["redirect_uri"] == site.url + "/signin/google/callback"


def test_microsoft_opt_in_in_english(site):
    withdraw_if_enrolled(site, BUDI)
    visitor = Visitor(site)
    visitor.get("/?lang=en")
    page = visitor.sign(BUDI, "microsoft")
    assert page.url.path == "/settings" and "You are taking part." in page.text
    stored = person(site, BUDI)
    assert stored.connector == "microsoft" and stored.language == "en" and stored.timezone == "Asia/Makassar"
    assert "RefreshToken" in site.store(lambda rt: rt.credentials(BUDI, "microsoft"))["msal_cache"]
    consent = site.store(lambda rt: rt.store.consents(BUDI))[-1]
    assert consent.language == "en" and "Calendars.Read" in consent.scopes and "Calendars.ReadWrite" not in consent.scopes


def test_people_not_in_the_config_or_with_the_wrong_provider_are_refused(site):
    visitor = Visitor(site)
    page = visitor.sign(STRANGER, "google")
    assert page.status_code == 403 and "tidak terdaftar" in page.text
    page = visitor.sign(SITI if not enrolled(site, SITI) else LINA, "microsoft")
    assert page.status_code == 400 and "Google" in text_of(page, "error")
    assert not enrolled(site, STRANGER)
    page = visitor.post("/signin", {"intent": "optin", "email": ANDI, "provider": "microsoft"})  # no consent
    assert page.status_code == 400 and not enrolled(site, ANDI)


def test_another_account_signing_in_is_refused(site):
    withdraw_if_enrolled(site, LINA)
    site.google.signed_in = STRANGER  # the browser is signed in to Google as someone else
    try:
        page = Visitor(site).sign(LINA, "google")
    finally:
        site.google.signed_in = None
    assert page.status_code == 400 and "not the person being enrolled" in page.text
    assert not enrolled(site, LINA)
    site.graph.fake.signed_in = "andi@agency.go.id"
    try:
        page = Visitor(site).sign(BUDI, "microsoft", intent="signin")
    finally:
        site.graph.fake.signed_in = None
    assert page.status_code == 400 and "not the person being enrolled" in page.text


# -- the guards ----------------------------------------------------------------------------
def test_forms_without_the_session_csrf_token_are_refused(site):
    visitor = Visitor(site)
    visitor.sign(SITI, "google") if not enrolled(site, SITI) else visitor.sign(SITI, "google", "signin")
    before = person(site, SITI)
    for path, data in [("/settings", {"language": "en", "timezone": "Asia/Jayapura", "focus_start": "08:00",
                                      "focus_end": "10:00", "focus_target": "60"}),
                       ("/withdraw", {}), ("/signin", {"intent": "optin", "email": SITI, "provider": "google",
                                                       "agree": "yes"})]:
        missing = visitor.post(path, data, csrf_from=None)
        forged = visitor.post(path, {**data, "csrf": "x" * 43}, csrf_from=None)
        assert missing.status_code == forged.status_code == 403, path
    other = Visitor(site)  # a token from another session does not fit this one
    page = visitor.post("/withdraw", {"csrf": other.csrf()}, csrf_from=None)
    assert page.status_code == 403
    assert person(site, SITI) == before


def test_a_tampered_state_and_a_replayed_answer_are_refused(site):
    withdraw_if_enrolled(site, LINA)
    visitor = Visitor(site)
    start = visitor.post("/signin", {"intent": "optin", "email": LINA, "provider": "google", "agree": "yes"},
                         follow_redirects=False)
    assert start.status_code == 303
    consent_screen = visitor.http.get(start.headers["location"], follow_redirects=False)
    answer = consent_screen.headers["location"]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(answer).query))
    tampered = answer.replace("state=" + urllib.parse.quote(query["state"]), "state=forged-state")
    page = visitor.http.get(tampered)
    assert page.status_code == 400 and "state" in text_of(page, "error")
    assert not enrolled(site, LINA)
    # the tampered answer used up the pending sign-in: the genuine one no longer fits either
    assert visitor.http.get(answer).status_code == 400 and not enrolled(site, LINA)

    # a fresh sign-in completes; replaying its answer afterwards is refused
    start = visitor.post("/signin", {"intent": "optin", "email": LINA, "provider": "google", "agree": "yes"},
                         follow_redirects=False)
    answer = visitor.http.get(start.headers["location"], follow_redirects=False).headers["location"]
    assert visitor.http.get(answer).url.path == "/settings" and enrolled(site, LINA)
    assert visitor.http.get(answer).status_code == 400
    # the same code with a new, valid state: the provider refuses a used code
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(answer).query))["code"]
    start = visitor.post("/signin", {"intent": "signin", "email": LINA, "provider": "google"},
                         follow_redirects=False)
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start.headers["location"]).query))["state"]
    replay = visitor.http.get(site.url + "/signin/google/callback?" + urllib.parse.urlencode(
        {"code": code, "state": state}))
    assert replay.status_code == 400 and "code" in text_of(replay, "error")


def test_sign_in_callbacks_are_rate_limited(site):
    visitor = Visitor(site)
    limit = site.portal.limiter.per_minute
    site.portal.limiter._hits.clear()
    answers = [visitor.get("/signin/google/callback?code=x&state=y").status_code for _ in range(limit + 2)]
    site.portal.limiter._hits.clear()
    assert answers[:limit] == [400] * limit and answers[limit:] == [429, 429]


def test_sessions_expire(site, clock):
    visitor = Visitor(site)
    visitor.sign(BUDI, "microsoft", "signin" if enrolled(site, BUDI) else "optin")
    assert visitor.get("/settings").status_code == 200
    clock.now += dt.timedelta(minutes=31)
    try:
        assert visitor.get("/settings").status_code == 401
    finally:
        clock.now -= dt.timedelta(minutes=31)


def test_forwarded_headers_count_only_from_configured_proxies():
    import asyncio

    from balanced_calendar.portal.security import TrustedProxies

    seen = {}

    async def app(scope, receive, send):
        seen.update(client=scope["client"][0], scheme=scope["scheme"])

    proxied = TrustedProxies(app, ["10.0.0.0/8"])
    headers = [(b"x-forwarded-for", b"203.0.113.9, 10.1.1.1"), (b"x-forwarded-proto", b"https")]
    asyncio.run(proxied({"type": "http", "client": ("10.0.0.2", 5000), "scheme": "http", "headers": headers},
                        None, None))
    assert seen == {"client": "203.0.113.9", "scheme": "https"}
    asyncio.run(proxied({"type": "http", "client": ("198.51.100.7", 5000), "scheme": "http",
                         "headers": headers}, None, None))
    assert seen == {"client": "198.51.100.7", "scheme": "http"}


# -- settings, upgrade, withdrawal ---------------------------------------------------------
def test_settings_change_the_person_now_and_survive_a_config_reload_while_config_values_win(site):
    visitor = Visitor(site)
    visitor.sign(BUDI, "microsoft", "signin" if enrolled(site, BUDI) else "optin")
    page = visitor.get("/settings")
    assert re.search(r'name="timezone" id="timezone"\s+disabled', page.text)  # the config sets Budi's zone
    page = visitor.post("/settings", {"language": "en", "timezone": "Asia/Jayapura", "digest": "on",
                                      "focus": "on", "focus_start": "08:00", "focus_end": "10:30",
                                      "focus_target": "90"}, csrf_from="/settings")
    assert page.status_code == 200 and text_of(page, "flash") == "Settings saved."
    stored = person(site, BUDI)
    assert stored.language == "en" and stored.timezone == "Asia/Makassar"
    prefs = site.store(lambda rt: load_prefs(rt.store, rt.vault, BUDI))
    assert prefs.focus_window == (480, 630) and prefs.focus_target_minutes == 90 and prefs.recovery is False
    from balanced_calendar.planner.settings import settings_for
    from balanced_calendar.preferences import own_planner

    plan = site.store(lambda rt: settings_for(rt.policy, rt.config, BUDI, own=own_planner(rt, BUDI)))
    assert plan.numbers.focus_window == (480, 630) and plan.recovery is False
    # the digest is a consent record: switching it off is dated and kept
    visitor.post("/settings", {"language": "en", "timezone": "Asia/Jayapura", "focus_start": "08:00",
                               "focus_end": "10:30", "focus_target": "90"}, csrf_from="/settings")
    assert not site.store(lambda rt: wants_digest(rt.store, rt.store.get_person(BUDI)))
    # a restart (config reload) keeps the portal choices: the config leaves language open
    with open_runtime(load_config(site.config_path), environ={}) as again:
        assert again.store.get_person(BUDI).language == "en"
    # a bad value is refused with the reason, nothing changes
    page = visitor.post("/settings", {"language": "id", "timezone": "Asia/Jayapura", "focus_start": "11:00",
                                      "focus_end": "10:30", "focus_target": "90"}, csrf_from="/settings")
    assert page.status_code == 400 and person(site, BUDI).language == "en"


def test_blocks_are_a_separate_scope_upgrade(site):
    withdraw_if_enrolled(site, SITI)
    visitor = Visitor(site)
    visitor.sign(SITI, "google")
    assert person(site, SITI).protect is False
    page = visitor.post("/signin", {"intent": "upgrade", "provider": "google"}, csrf_from="/settings")
    assert page.status_code == 400 and person(site, SITI).protect is False  # the box was not ticked
    page = visitor.post("/signin", {"intent": "upgrade", "provider": "google", "agree": "yes"},
                        csrf_from="/settings")
    assert page.url.path == "/settings" and 'id="blocks-on"' in page.text
    stored = person(site, SITI)
    assert stored.protect is True
    asked = [s.query for s in site.google.seen if s.op == "auth"][-1]
    assert WRITE in asked["scope"].split()
    consent = site.store(lambda rt: rt.store.consents(SITI))[-1]
    assert WRITE in consent.scopes and set(PROTECT_PURPOSES) <= set(consent.purposes)
    assert site.store(lambda rt: rt.credentials(SITI, "google"))["scopes"].count(WRITE) == 1
    with open_runtime(load_config(site.config_path), environ={}) as again:  # survives a reload
        assert again.store.get_person(SITI).protect is True
    page = visitor.post("/blocks/stop", {}, csrf_from="/settings")
    assert 'id="blocks-off"' in page.text and person(site, SITI).protect is False
    latest = site.store(lambda rt: rt.store.consents(SITI))[-1]  # what they allow now: no blocks
    assert not set(PROTECT_PURPOSES) & set(latest.purposes) and set(PURPOSES) <= set(latest.purposes)


def test_withdrawal_erases_everything_and_confirms(site):
    if not enrolled(site, ANDI):
        Visitor(site).sign(ANDI, "microsoft")
    visitor = Visitor(site)
    visitor.sign(ANDI, "microsoft", "signin")
    assert enrolled(site, ANDI)
    pseudonym = person(site, ANDI).pseudonym
    page = visitor.post("/withdraw", {}, csrf_from="/settings")
    assert page.status_code == 200 and "dihapus" in text_of(page, "withdrawn")
    assert not enrolled(site, ANDI)
    with pytest.raises(NotEnrolled):
        site.store(lambda rt: rt.store.get_credentials(ANDI, "microsoft"))
    assert pseudonym in [e.pseudonym for e in site.store(lambda rt: rt.store.erasure_log())]
    raw = b"".join(p.read_bytes() for p in (site.folder / "state").glob("*.sqlite3*"))
    assert ANDI.encode() not in raw
    assert visitor.get("/settings").status_code == 401  # signed out


# -- one-click unsubscribe -------------------------------------------------------------------
def test_digest_headers_point_at_the_portal_and_one_click_post_turns_the_digest_off(site):
    if not enrolled(site, LINA):
        Visitor(site).sign(LINA, "google")
    lina = person(site, LINA)
    site.store(lambda rt: __import__("balanced_calendar.digest.queue", fromlist=["x"]).set_digest(
        rt.store, lina, True, rt.clock()))
    token = site.store(lambda rt: unsubscribe_token(rt.store, lina.pseudonym))
    assert LINA not in token and "@" not in token
    assert site.store(lambda rt: sender_of(rt)).unsubscribe_url == site.url + "/unsubscribe"
    link = f"{site.url}/unsubscribe/{token}"
    from balanced_calendar.digest.render import unsubscribe_links

    assert site.store(lambda rt: unsubscribe_links(sender_of(rt), token))[1] == link  # the digest's header
    stranger = httpx.Client(verify=ssl.create_default_context(cafile=str(site.ca_bundle)))  # no session
    assert stranger.get(link).status_code == 200  # a link scanner's GET changes nothing
    assert site.store(lambda rt: wants_digest(rt.store, rt.store.get_person(LINA)))
    assert stranger.post(link, content=b"List-Unsubscribe=Other",
                         headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 400
    answer = stranger.post(link, content=b"List-Unsubscribe=One-Click",
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200
    assert not site.store(lambda rt: wants_digest(rt.store, rt.store.get_person(LINA)))
    forged = token[:-2] + ("00" if not token.endswith("00") else "11")
    assert stranger.post(f"{site.url}/unsubscribe/{forged}", content=b"List-Unsubscribe=One-Click",
                         headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 404


# -- the leader view -------------------------------------------------------------------------
def test_leaders_see_only_their_teams_report_and_others_get_403(site):
    leader = Visitor(site)
    leader.sign(LINA, "google", "signin")
    overview = leader.get("/leader")
    assert overview.status_code == 200 and 'id="team-keuangan"' in overview.text and "team-umum" not in overview.text
    report = leader.get("/leader/keuangan?week=2026-W50")
    assert report.status_code == 200 and "Keuangan" in report.text and "2026-W50" in report.text
    assert "<script" not in report.text and LINA not in report.text and SITI not in report.text
    assert "frame-ancestors 'none'" in report.headers["content-security-policy"]
    assert leader.get("/leader/umum").status_code == 403
    member = Visitor(site)
    member.sign(SITI, "google", "signin" if enrolled(site, SITI) else "optin")
    assert member.get("/leader").status_code == 403 and member.get("/leader/keuangan").status_code == 403
    assert Visitor(site).get("/leader").status_code == 401


def test_logs_carry_no_addresses_tokens_or_codes(site, caplog):
    caplog.set_level(logging.DEBUG)
    withdraw_if_enrolled(site, LINA)
    Visitor(site).sign(LINA, "google")
    # what the portal's process logs (the test's own HTTP client logs the provider URLs it visits)
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))
    assert "sign-in completed" in text
    assert "agency.go.id" not in text and "code=" not in text and "state=" not in text
    secret = site.store(lambda rt: rt.credentials(LINA, "google"))
    assert secret["refresh_token"] not in text and json.dumps(secret) not in text
