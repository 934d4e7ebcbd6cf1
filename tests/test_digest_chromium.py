"""The digest's HTML preview opened in a real headless Chromium (Debian's ``chromium`` package,
installed by ``.ci/run``; see README "Weekly digest"): it renders at 600 px, and the page makes no
external request. The screenshot is kept in the test's tmp dir as an artifact.

Never skipped: without Chromium the test fails and says how to install it.

No external request is shown twice:

- the Chromium network log (``--log-net-log``, every host resolving to nothing): every URL request
  the *page* started (Blink's, with a ``file://`` network isolation key, as opposed to Chromium's
  own background requests such as the component updater, whose initiator is "not an origin") must
  be ``file:`` or ``data:``; a control page with an external image and stylesheet proves that the
  check sees page requests;
- the rendered DOM (``--dump-dom``): no ``src``/``href`` is http(s) except the unsubscribe link,
  and the page's Resource Timing entries (recorded into the DOM by a small probe script added to a
  copy of the preview) list no http(s) resource.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from digest_helpers import RINA, enroll_site, write_site
from test_digest_cli import cli

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=600,2000",
         "--host-resolver-rules=MAP * ~NOTFOUND"]

#: added before ``</body>`` of a copy of the preview: records the layout and the loaded resources
PROBE = """<script>window.addEventListener("load", function () {
  var d = document.getElementById("digest"), img = document.querySelector("img");
  var out = document.createElement("pre"); out.id = "probe";
  out.textContent = JSON.stringify({
    scroll_width: document.documentElement.scrollWidth, body_scroll_width: document.body.scrollWidth,
    digest_width: d ? d.getBoundingClientRect().width : null,
    img: img ? {complete: img.complete, natural_width: img.naturalWidth, width: img.getBoundingClientRect().width} : null,
    resources: performance.getEntriesByType("resource").map(function (e) { return e.name; })});
  document.body.appendChild(out);
});</script>
"""


def chromium() -> str:
    exe = shutil.which("chromium")
    if exe is None:
        pytest.fail("Chromium is not installed: `apt-get install -y chromium` (Debian's package; .ci/run does "
                    "this) — the digest preview test needs a real browser and is never skipped")
    return exe


def run_chromium(tmp: Path, name: str, url: str, *extra: str) -> tuple[str, list[dict]]:
    """Run headless Chromium on ``url`` with a fresh profile and a net log; returns stdout and the
    URL requests the page itself started (``{"url", "initiator", "nik"}``)."""
    profile = tmp / f"profile-{name}"
    netlog = tmp / f"net-{name}.json"
    proc = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", f"--log-net-log={netlog}",
                           *extra, url], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"chromium failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    log = json.loads(netlog.read_text())
    types = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    page_requests = []
    for event in log["events"]:
        params = event.get("params") or {}
        if types.get(event["type"]) != "URL_REQUEST_START_JOB" or "url" not in params:
            continue
        nik = str(params.get("network_isolation_key", ""))
        if params.get("initiator") != "not an origin" or nik.startswith("file://"):
            page_requests.append({"url": params["url"], "initiator": params.get("initiator"), "nik": nik})
    return proc.stdout, page_requests


def external(requests: list[dict]) -> list[str]:
    return [r["url"] for r in requests if not r["url"].startswith(("file:", "data:"))]


def probe_of(dom: str) -> dict:
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, "the probe script did not run:\n" + dom[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def test_net_log_check_sees_a_page_request(tmp_path):
    """Control: a page with an external image and stylesheet is caught by both checks."""
    page = tmp_path / "control.html"
    page.write_text('<html><body><img src="https://cdn.example.com/x.png">'
                    '<link rel="stylesheet" href="http://fonts.example.org/a.css">' + PROBE + "</body></html>")
    dom, requests = run_chromium(tmp_path, "control", page.as_uri(), "--dump-dom")
    assert sorted(external(requests)) == ["http://fonts.example.org/a.css", "https://cdn.example.com/x.png"]
    assert sorted(probe_of(dom)["resources"]) == ["http://fonts.example.org/a.css", "https://cdn.example.com/x.png"]


def test_preview_renders_at_600_px_without_external_requests(tmp_path):
    path = write_site(tmp_path / "site")
    enroll_site(path)
    out = cli("digest", "--config", str(path), "--person", RINA, "--week", "2026-W51", "--lang", "en",
              "--preview", str(tmp_path / "preview"))
    assert out.returncode == 0, out.stderr
    preview = Path(out.stdout.split("wrote ", 1)[1].strip())
    html = preview.read_text(encoding="utf-8")
    assert "<script" not in html

    # 1. the screenshot: a 600 px wide PNG, kept as the test's artifact
    shot = tmp_path / "digest.png"
    _stdout, requests = run_chromium(tmp_path, "shot", preview.as_uri(), f"--screenshot={shot}")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (600, 2000)
    assert external(requests) == [], requests
    print(f"screenshot: {shot}")

    # 2. the rendered DOM, with the probe: layout width and the resources the page loaded
    probed = tmp_path / "preview-probe.html"
    probed.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom, requests = run_chromium(tmp_path, "dom", probed.as_uri(), "--dump-dom")
    assert external(requests) == [], requests
    probe = probe_of(dom)
    assert probe["scroll_width"] <= 600 and probe["body_scroll_width"] <= 600, probe  # no horizontal scrolling
    assert 0 < probe["digest_width"] <= 600, probe
    assert probe["img"]["complete"] and probe["img"]["natural_width"] == 560, probe  # the data: chart decoded
    assert probe["img"]["width"] <= 560, probe
    assert [r for r in probe["resources"] if r.startswith(("http:", "https:"))] == [], probe
    links = re.findall(r'(?:src|href)="([^"]*)"', dom)
    unsubscribe = [u for u in links if u.startswith(("http:", "https:", "mailto:"))]
    assert unsubscribe and all("unsubscribe" in u for u in unsubscribe), links
    assert all(u.startswith(("data:image/png;base64,", "mailto:", "https:")) for u in links), links
