"""The portal's systemd unit: as hardened as the daemon's (``systemd-analyze security`` exposure
at most 2.0) and clean under ``systemd-analyze verify``; ``serve`` is a command of the CLI."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "balanced-calendar-portal.service"
ENV = {**os.environ, "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": ""}


def _systemd_analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.fail("systemd-analyze is not installed: apt-get install systemd")
    return tool


def test_portal_unit_exposure_is_at_most_2() -> None:
    done = subprocess.run([_systemd_analyze(), "security", "--offline=yes", str(UNIT)],
                          capture_output=True, text=True, timeout=120, check=False, env=ENV)
    output = done.stdout + done.stderr
    match = re.search(r"Overall exposure level for balanced-calendar-portal\.service: (\d+(?:\.\d+)?)", output)
    assert match, output
    assert float(match.group(1)) <= 2.0, output


def test_portal_unit_verifies_cleanly_and_runs_serve(tmp_path: Path) -> None:
    binary = shutil.which("balanced-calendar") or str(Path(sys.executable).parent / "balanced-calendar")
    assert "serve --config /etc/balanced-calendar/config.toml" in UNIT.read_text()
    copy = tmp_path / UNIT.name
    copy.write_text(UNIT.read_text().replace("/usr/local/bin/balanced-calendar", binary))
    done = subprocess.run([_systemd_analyze(), "verify", "--man=no", "--generators=no", str(copy)],
                          capture_output=True, text=True, timeout=120, check=False, env=ENV)
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stdout + done.stderr
    helped = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "--tls-cert" in helped.stdout


def test_serve_without_a_public_address_says_which_key_to_set(tmp_path: Path) -> None:
    from balanced_calendar.vault import write_key

    write_key(tmp_path / "vault-key")
    (tmp_path / "config.toml").write_text('[service]\nstate_dir = "state"\nvault_key_file = "vault-key"\n')
    binary = shutil.which("balanced-calendar") or str(Path(sys.executable).parent / "balanced-calendar")
    done = subprocess.run([binary, "serve", "--config", str(tmp_path / "config.toml")], capture_output=True,
                          text=True, timeout=60, env={k: v for k, v in os.environ.items()
                                                       if k != "CREDENTIALS_DIRECTORY"})
    assert done.returncode != 0 and "[portal] base_url" in done.stderr, done.stderr


def test_portal_config_problems_are_reported_with_their_key_paths(tmp_path: Path) -> None:
    from balanced_calendar.config import ConfigError, parse_config

    with pytest.raises(ConfigError) as caught:
        parse_config({"portal": {"base_url": "http://kalender.agency.go.id", "trusted_proxies": ["proxy"],
                                 "session_minutes": 0, "colour": "blue"}}, source="config.toml", base_dir=tmp_path)
    where = [path for path, _ in caught.value.problems]
    assert where == ["portal.colour", "portal.base_url", "portal.trusted_proxies[0]", "portal.session_minutes"]
    config = parse_config({"portal": {"base_url": "https://kalender.agency.go.id",
                                      "trusted_proxies": ["127.0.0.1", "10.0.0.0/8"]}},
                          source="config.toml", base_dir=tmp_path)
    assert config.portal.trusted_proxies == ["127.0.0.1/32", "10.0.0.0/8"] and config.portal.port == 8470
