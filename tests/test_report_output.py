"""What ``make demo`` leaves for leaders: every team report and the organisation page, opened in
a real headless Chromium (Debian's ``chromium``), with no external request, no console message,
and no demo person's name or address anywhere in any report output.

The screenshots are kept as test artifacts under the test's tmp dir (their paths are printed).
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import struct
import subprocess
from pathlib import Path

import pytest
from test_digest_chromium import FLAGS, chromium, external, run_chromium
from test_digest_cli import cli


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, str]:  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("demo") / "d"
    proc = cli("demo", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout


def report_mails(out: Path) -> list[email.message.EmailMessage]:
    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
             for p in (out / "outbox" / "new").iterdir()]
    return [m for m in mails if m["Message-ID"].startswith("<report.")]  # type: ignore[misc]


def test_demo_writes_every_team_report_and_prints_the_organisation_page(demo):
    out, stdout = demo
    roster = json.loads((out / "roster.json").read_text())
    page = Path(re.search(r"organisation page (\S+)", stdout).group(1))  # type: ignore[union-attr]
    assert page.is_file() and page.parent == out / "reports"
    for team in roster["teams"]:
        for suffix in (".id.html", ".en.html", ".json", ".csv"):
            assert list((out / "reports").glob(f"team-{team['id']}-*{suffix}")), (team["id"], suffix)
    org = json.loads(next((out / "reports").glob("organisation-*.json")).read_text())
    assert org["status"] == "published" and org["members"] == len(roster["people"])
    # one mail per team leader, with the report attached
    mails = report_mails(out)
    leaders = sorted(e for t in roster["teams"] for e in t["leaders"])
    assert sorted(m["To"] for m in mails) == leaders
    attached = [part for m in mails for part in m.iter_attachments()]
    assert len(attached) == len(mails) and all(p.get_content_type() == "text/html" for p in attached)


def test_no_demo_name_or_address_appears_in_any_report_output(demo):
    out, _ = demo
    roster = json.loads((out / "roster.json").read_text())
    words = set()
    for person in roster["people"]:
        words |= {person["email"], person["email"].split("@")[0], person["name"]}
        words |= {part for part in person["name"].split() if len(part) > 2}
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")\b")
    texts = {str(p): p.read_text(encoding="utf-8") for p in (out / "reports").iterdir()}
    for m in report_mails(out):  # everything of a report mail except its To: header
        texts[f"mail {m['Subject']}"] = m["Subject"] + m.get_body(("plain",)).get_content() + "".join(
            part.get_content() for part in m.iter_attachments())
    assert len(texts) >= 4 * len(roster["teams"]) + 4
    found = {name: sorted(set(pattern.findall(text))) for name, text in texts.items() if pattern.search(text)}
    assert found == {}
    # the scan itself finds a name when one is there
    assert pattern.search(f"report of {roster['people'][0]['name']}")


def run_with_console(tmp: Path, name: str, url: str) -> tuple[str, list[str]]:
    """The rendered DOM of ``url`` and Chromium's console messages (``--enable-logging=stderr``)."""
    proc = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={tmp / ('console-' + name)}",
                           "--enable-logging=stderr", "--v=0", "--dump-dom", url],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]


def test_reports_open_in_chromium_without_external_requests_or_console_messages(demo, tmp_path):
    out, _ = demo
    control = tmp_path / "control.html"
    control.write_text('<html><body><script>console.error("control")</script></body></html>')
    assert any('"control"' in line for line in run_with_console(tmp_path, "control", control.as_uri())[1])

    pages = [next((out / "reports").glob("organisation-*.en.html")), next((out / "reports").glob("team-*.id.html"))]
    for i, page in enumerate(pages):
        html = page.read_text(encoding="utf-8")
        assert "<script" not in html and not re.search(r'(?:src|href)="https?:', html)
        shot = tmp_path / f"report-{i}.png"
        _stdout, requests = run_chromium(tmp_path, f"shot{i}", page.as_uri(), f"--screenshot={shot}")
        assert external(requests) == [], requests
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (600, 2000)
        dom, console = run_with_console(tmp_path, f"page{i}", page.as_uri())
        assert console == []
        assert '<main id="report">' in dom and "<svg" in dom  # the page and its inline chart rendered
        print(f"screenshot: {shot}")


def test_the_portal_runs_on_the_demo_store_where_a_leader_opts_in_and_reads_their_team(demo, tmp_path):
    """`make demo` prints how to click through the portal on its own store: a leader of a demo
    team opts in through the fake Google sign-in and reads that team's demo report."""
    from test_portal_flows import Visitor

    from tests.portal_site import DEMO_GOOGLE, start_site

    out, stdout = demo
    week = re.search(r"organisation-(\d{4}-W\d\d)\.id\.html", stdout).group(1)  # type: ignore[union-attr]
    with start_site(tmp_path / "portal", demo=out) as site:
        people_before = len(site.store(lambda rt: rt.store.list_people()))
        team = next(t for t in site.rt.config.teams if DEMO_GOOGLE in t.leaders)
        leader = Visitor(site)
        assert leader.sign(DEMO_GOOGLE, "google").status_code == 200
        enrolled = site.store(lambda rt: [p.email for p in rt.store.list_people()])
        assert DEMO_GOOGLE in enrolled and len(enrolled) == people_before + 1  # the demo's people stay
        report = leader.get(f"/leader/{team.id}?week={week}")
        assert report.status_code == 200 and team.name in report.text and week in report.text
        assert leader.get("/leader/" + next(t.id for t in site.rt.config.teams if t.id != team.id)).status_code == 403
