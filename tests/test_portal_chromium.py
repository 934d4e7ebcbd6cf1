"""The opt-in portal end to end in a real headless Chromium (Debian's ``chromium`` driven by
Debian's ``chromedriver`` through Selenium; nothing is downloaded), against the fake Google
and Microsoft authorization servers, whose authorize endpoints approve the test user at once
and redirect back with a code.

The portal is served over https with a private test CA; the fakes too. Only this test
browser ignores certificate errors. One browser for the module; each scenario starts with
no cookies. Screenshots of every page are kept in pytest's tmp folder (paths printed).
Never skipped: without Chromium or chromedriver the tests fail and say what to install.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from balanced_calendar.store import NotEnrolled
from tests.portal_site import ANDI, BUDI, LINA, SITI, Site, start_site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with start_site(tmp_path_factory.mktemp("portal-browser")) as running:
        yield running


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("portal-screenshots")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    exe, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if exe is None or driver is None:
        pytest.fail("Chromium and chromedriver are needed: `apt-get install -y chromium chromium-driver` "
                    "(Debian's packages; .ci/run does this) — the portal's browser tests are never skipped")
    options = webdriver.ChromeOptions()
    options.binary_location = exe
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--ignore-certificate-errors", "--window-size=1000,1400", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    chrome.set_page_load_timeout(30)
    try:
        yield chrome
    finally:
        chrome.quit()


class Pages:
    """The browser on the portal, with a screenshot after every page."""

    def __init__(self, browser, site: Site, shots: Path, scenario: str) -> None:
        self.b, self.site, self.shots, self.scenario, self.n = browser, site, shots, scenario, 0
        browser.delete_all_cookies()

    def shot(self, name: str) -> Path:
        self.n += 1
        path = self.shots / f"{self.scenario}-{self.n:02d}-{name}.png"
        self.b.save_screenshot(str(path))
        print(f"screenshot: {path}")
        return path

    def open(self, path: str, name: str) -> None:
        self.b.get(self.site.url + path)
        self.shot(name)

    def by_id(self, element: str):
        from selenium.webdriver.common.by import By

        return self.b.find_element(By.ID, element)

    def click(self, element: str, name: str) -> None:
        self.by_id(element).click()
        self.shot(name)

    def text(self, element: str) -> str:
        return self.by_id(element).text

    @property
    def path(self) -> str:
        from urllib.parse import urlsplit

        return urlsplit(self.b.current_url).path


def enrolled(site: Site, email: str) -> bool:
    try:
        site.store(lambda rt: rt.store.get_person(email))
    except NotEnrolled:
        return False
    return True


def test_google_opt_in_settings_scope_upgrade_and_withdrawal(browser, site, shots):
    from selenium.webdriver.support.ui import Select

    page = Pages(browser, site, shots, "google")
    page.open("/", "landing-id")
    assert "Hak Anda (UU 27/2022)" in page.b.page_source
    page.click("lang-switch", "landing-en")
    assert "Your rights (UU 27/2022)" in page.b.page_source
    page.by_id("email").send_keys(SITI)
    page.by_id("agree").click()
    page.click("optin-google", "settings-after-opt-in")
    assert page.path == "/settings" and page.text("welcome") == "You are taking part."
    person = site.store(lambda rt: rt.store.get_person(SITI))
    assert person.protect is False and person.language == "en"
    assert site.store(lambda rt: rt.credentials(SITI, "google"))["refresh_token"]
    # the cookie the browser holds is the hardened one
    cookie = next(c for c in page.b.get_cookies() if c["name"] == "__Host-bc-session")
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    # a settings change
    Select(page.by_id("language")).select_by_value("id")
    Select(page.by_id("timezone")).select_by_value("Asia/Makassar")
    target = page.by_id("focus_target")
    target.clear()
    target.send_keys("90")
    page.click("save", "settings-saved")
    assert page.text("flash") == "Pengaturan disimpan."
    person = site.store(lambda rt: rt.store.get_person(SITI))
    assert person.language == "id" and person.timezone == "Asia/Makassar"

    # the scope upgrade: a separate, explicit step that signs in again with write access
    assert page.by_id("blocks-off")
    page.by_id("blocks-agree").click()
    page.click("blocks-allow", "blocks-allowed")
    assert page.path == "/settings" and page.by_id("blocks-on")
    assert site.store(lambda rt: rt.store.get_person(SITI)).protect is True
    assert "https://www.googleapis.com/auth/calendar.events" in site.store(lambda rt: rt.store.consents(SITI))[-1].scopes

    # a member is not a leader
    page.open("/leader", "leader-denied")
    assert "pimpinan tim" in page.text("error")

    # withdrawal: one button, a confirmation, the data gone
    page.open("/settings", "settings-before-withdrawal")
    page.click("withdraw-button", "withdrawn")
    assert page.text("withdrawn") == "Semua data Anda telah dihapus. Terima kasih."
    assert not enrolled(site, SITI)
    raw = b"".join(p.read_bytes() for p in (site.folder / "state").glob("*.sqlite3*"))
    assert SITI.encode() not in raw


def test_microsoft_opt_in_and_leader_access(browser, site, shots):
    page = Pages(browser, site, shots, "microsoft")
    page.open("/?lang=en", "landing")
    page.by_id("email").send_keys(ANDI)
    page.by_id("agree").click()
    page.click("optin-microsoft", "settings-after-opt-in")
    assert page.path == "/settings" and enrolled(site, ANDI)
    assert "RefreshToken" in site.store(lambda rt: rt.credentials(ANDI, "microsoft"))["msal_cache"]
    page.click("leader-link", "leader-overview")
    assert page.by_id("team-umum") and "team-keuangan" not in page.b.page_source
    page.click("team-umum", "leader-report")
    assert page.path == "/leader/umum" and "Umum" in page.b.page_source and ANDI not in page.b.page_source
    page.open("/leader/keuangan", "other-team-denied")
    assert "team leaders only" in page.text("error")


def test_forged_form_tampered_state_and_replayed_answer_are_refused(browser, site, shots, tmp_path):
    page = Pages(browser, site, shots, "guards")
    page.open("/?lang=en", "landing")
    page.by_id("email").send_keys(BUDI)
    page.by_id("agree").click()
    page.click("optin-microsoft", "settings")
    assert enrolled(site, BUDI)

    # another site's form posting to the portal: no token, and the Lax cookie stays home
    attacker = tmp_path / "attacker.html"
    attacker.write_text(f'<html><body><form method="post" action="{site.url}/withdraw">'
                        f'<input type="hidden" name="csrf" value="guessed"><button id="go">win a prize</button>'
                        f'</form></body></html>')
    browser.get(attacker.as_uri())
    page.click("go", "forged-form-refused")
    # refused, and in the default language: the browser did not send the session cookie at all
    assert "tidak berasal dari halaman ini" in page.text("error") and enrolled(site, BUDI)
    page.open("/settings", "still-signed-in")  # and the forged request did not replace the session
    assert page.text("welcome") == "You are taking part."

    # a tampered state
    page.open("/signin/microsoft/callback?code=stolen-code&state=forged", "tampered-state")
    assert "(state" in page.text("error")  # "state mismatch" / "state tidak cocok"

    # a replayed answer: the Google consent screen's redirect, loaded a second time
    page.open("/?lang=en", "landing-again")
    page.by_id("signin-email").send_keys(LINA)
    page.click("signin-google", "leader-after-sign-in")
    assert page.path == "/leader"
    answer = site.google.answers[-1]
    browser.get(answer)
    page.shot("replayed-answer")
    assert "(state" in page.text("error")  # "state mismatch" / "state tidak cocok"
