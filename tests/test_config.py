"""The service config (systemd/README.md) and the systemd unit that runs the service.

Every problem of a config file is reported at once with its key path; secrets only by file
path (0600); overlapping teams that differ by fewer than k people are refused (docs/privacy.md).
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from balanced_calendar.config import (
    Config,
    check_config,
    load_config,
    parse_config,
)
from balanced_calendar.model import ConfigError
from connectors.caldav import CaldavSettings as CaldavConfig
from connectors.google import GoogleSettings as GoogleConfig
from connectors.microsoft import MicrosoftSettings as MicrosoftConfig
from connectors.settings import ConnectorSettings as ConnectorConfig

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "systemd" / "balanced-calendar.toml.example"
UNIT = ROOT / "systemd" / "balanced-calendar.service"


# -- helpers -----------------------------------------------------------------------------
def secret(folder: Path, name: str, mode: int = 0o600) -> Path:
    path = folder / name
    path.write_text("s3cret\n")
    path.chmod(mode)
    return path


def write(folder: Path, text: str, name: str = "config.toml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(path: Path) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.source == str(path)
    return info.value.problems


def paths(path: Path) -> list[str]:
    return [where for where, _ in problems(path)]


def message(path: Path, where: str) -> str:
    found = [msg for p, msg in problems(path) if p == where]
    assert found, f"no problem at {where}: {problems(path)}"
    return found[0]


def secret_file_keys(data: Any) -> Iterator[str]:
    """Every value of a ``*_file`` key in a parsed TOML document."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key.endswith("_file") and isinstance(value, str):
                yield value
            else:
                yield from secret_file_keys(value)
    elif isinstance(data, list):
        for item in data:
            yield from secret_file_keys(item)


def people(n: int, team: str, *, start: int = 0) -> str:
    return "".join(f'[[people]]\nemail = "p{i}@example.org"\nconnector = "ics"\n'
                   f'calendar = "p{i}.ics"\nteam = "{team}"\n\n' for i in range(start, start + n))


# -- the shipped example -----------------------------------------------------------------
@pytest.fixture
def example(tmp_path: Path) -> Path:
    """The shipped example installed in a folder, with its secret files present (0600)."""
    config = tmp_path / "config.toml"
    shutil.copy(EXAMPLE, config)
    names = list(secret_file_keys(tomllib.loads(EXAMPLE.read_text())))
    assert names, "the example should show secret files"
    for name in names:
        assert not Path(name).is_absolute(), "example secret paths are relative to the config folder"
        secret(tmp_path, name)
    return config


def test_shipped_example_config_passes(example: Path) -> None:
    config = load_config(example)
    assert isinstance(config, Config)
    assert config.source == example
    assert config.service.policy == "asn-id"
    assert config.service.timezone == "Asia/Jakarta"
    assert config.service.vault_key_file is None  # the systemd credential is the default
    assert config.mail.transport == "smtp"
    assert config.mail.password_file == example.parent / "smtp-password"
    assert config.mail.sender and "@" in config.mail.sender
    assert set(config.connectors) == {"google", "microsoft", "exchange", "caldav", "ics"}
    assert isinstance(config.connectors["google"], GoogleConfig)
    assert config.connectors["google"].client_secrets_file == example.parent / "google-client.json"
    ms = config.connectors["microsoft"]
    assert isinstance(ms, MicrosoftConfig) and ms.mode == "app"
    assert ms.graph_endpoint == "https://graph.microsoft.com/v1.0"
    assert config.reports.k == 5
    teams = {t.id: t for t in config.teams}
    assert len(teams["platform"].members) == 5 and len(teams["services"].members) == 5
    assert teams["directorate"].members == teams["platform"].members | teams["services"].members | {
        "director@example.go.id"}
    assert teams["services"].leaders == ("fajar@example.go.id",)  # leader = true on the person
    by_mail = {p.email: p for p in config.people}
    assert by_mail["gita@example.go.id"].timezone == "Asia/Jayapura"  # "WIT" alias
    assert by_mail["citra@example.go.id"].language == "en"
    assert by_mail["budi@example.go.id"].language == "id"  # from [service]


def test_check_config_summarises_without_addresses(example: Path) -> None:
    from balanced_calendar.vault import write_key

    (example.parent / "creds").mkdir()
    write_key(example.parent / "creds" / "vault-key")  # the example takes the key from the unit's credential
    lines = check_config(example, environ={"CREDENTIALS_DIRECTORY": str(example.parent / "creds")})
    assert lines[0] == f"{example}: OK"
    assert any("people: 11" in line for line in lines)
    assert not any("@example.go.id" in line for line in lines[1:] if "mail:" not in line)


def test_check_config_raises_for_a_bad_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[service]\nworkers = 0\n")
    with pytest.raises(ConfigError, match=r"service\.workers: must be greater than 0"):
        check_config(path)


def test_minimal_config_uses_defaults_and_resolves_relative_paths(tmp_path: Path) -> None:
    path = write(tmp_path, """
        [service]
        state_dir = "state"

        [[people]]
        email = "Ana@Example.org"
        connector = "ics"
        calendar = "cal/ana.ics"
        """)
    config = load_config(path)
    assert config.service.state_dir == tmp_path / "state"
    assert config.mail.transport == "maildir"
    assert config.mail.maildir == tmp_path / "state" / "outbox-maildir"
    assert config.service.language == "id" and config.reports.k == 5
    person = config.people[0]
    assert person.email == "ana@example.org"
    assert person.calendar == str(tmp_path / "cal" / "ana.ics")
    assert (person.protect, person.digest, person.leader) == (False, True, False)
    assert config.connectors == {"ics": ConnectorConfig(name="ics")}


def test_parse_config_takes_a_mapping() -> None:
    config = parse_config({"service": {"language": "en"}}, source="<memory>", base_dir=Path("/etc/bc"))
    assert config.service.language == "en" and config.people == () and config.teams == ()


# -- every problem at once -----------------------------------------------------------------
def test_many_mistakes_are_all_reported_at_once_with_their_key_paths(tmp_path: Path) -> None:
    secret(tmp_path, "loose-secret", 0o644)
    path = write(tmp_path, """
        colour = "blue"

        [service]
        timezone = "Asia/Atlantis"
        language = "fr"
        policy = "missing-policy.toml"
        workers = 0
        sync_interval_minutes = "15"
        vault_key = "abc"

        [mail]
        transport = "smtp"
        security = "tls"
        password = "hunter2"

        [connectors.google]
        mode = "domain"
        client_secrets_file = "loose-secret"

        [connectors.microsoft]
        mode = "app"
        graph_endpoint = "http://graph.example.org/v1.0"

        [connectors.outlook]
        x = 1

        [reports]
        k = 1

        [[teams]]
        id = "Team A"

        [[teams]]
        id = "b"
        parent = "zzz"
        leaders = ["nobody@example.org"]

        [[people]]
        email = "not-an-address"
        connector = "gmail"

        [[people]]
        email = "x@example.org"
        connector = "caldav"
        team = "c"
        token = "t"

        [[people]]
        email = "X@example.org"
        connector = "ics"
        """)
    assert paths(path) == [
        "colour",
        "service.vault_key",
        "service.timezone",
        "service.language",
        "service.policy",
        "service.sync_interval_minutes",
        "service.workers",
        "mail.password",
        "mail.security",
        "mail.host",
        "mail.from",
        "connectors.google.client_secrets_file",
        "connectors.google.service_account_file",
        "connectors.microsoft.tenant_id",
        "connectors.microsoft.client_id",
        "connectors.microsoft.client_secret_file",
        "connectors.microsoft.graph_endpoint",
        "connectors.outlook",
        "reports.k",
        "teams[0].id",
        "teams[1].parent",
        "people[0].email",
        "people[0].connector",
        "people[1].token",
        "people[1].connector",
        "people[1].team",
        "people[2].email",
        "teams[1].leaders[0]",
    ]
    assert "duplicate person (also people[1])" in message(path, "people[2].email")
    assert "https://" in message(path, "connectors.microsoft.graph_endpoint")


def test_unknown_keys_are_errors_in_every_table(tmp_path: Path) -> None:
    path = write(tmp_path, """
        [service]
        timezon = "Asia/Jakarta"

        [mail]
        sender = "a@example.org"

        [connectors.ics]
        url = "https://example.org"

        [reports]
        minimum = 3

        [[teams]]
        id = "t"
        members = ["a@example.org"]

        [[people]]
        email = "a@example.org"
        connector = "ics"
        calendar = "a.ics"
        protected = true
        """)
    assert paths(path) == ["service.timezon", "mail.sender", "connectors.ics.url", "reports.minimum",
                           "teams[0].members", "people[0].protected"]
    assert "unknown key" in message(path, "service.timezon")
    assert "timezone" in message(path, "service.timezon")  # the allowed keys are listed


def test_toml_syntax_error_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[service\n")
    [(where, msg)] = problems(path)
    assert where == "" and "not valid TOML" in msg


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    assert problems(tmp_path / "nope.toml") == [("", "file not found")]


def test_wrong_shapes_are_reported_not_crashed_on(tmp_path: Path) -> None:
    path = write(tmp_path, """
        service = 3
        connectors = "google"
        people = {email = "a@example.org"}
        teams = 1
        """)
    assert paths(path) == ["service", "connectors", "teams", "people"]


# -- secrets only by file path ---------------------------------------------------------------
def test_plaintext_password_is_refused_with_the_file_key_to_use(tmp_path: Path) -> None:
    path = write(tmp_path, """
        [connectors.caldav]
        url = "https://dav.example.org/"
        username = "svc"
        password = "hunter2"
        """)
    assert paths(path) == ["connectors.caldav.password", "connectors.caldav.password_file"]
    msg = message(path, "connectors.caldav.password")
    assert "plaintext secrets are not allowed" in msg and "password_file" in msg
    assert "hunter2" not in str(problems(path))


def test_client_secret_in_the_file_is_refused(tmp_path: Path) -> None:
    secret(tmp_path, "ms-secret")
    path = write(tmp_path, """
        [connectors.microsoft]
        mode = "app"
        tenant_id = "contoso.onmicrosoft.com"
        client_id = "abc"
        client_secret = "xyz"
        client_secret_file = "ms-secret"
        """)
    assert paths(path) == ["connectors.microsoft.client_secret"]
    assert "client_secret_file" in message(path, "connectors.microsoft.client_secret")


def test_secret_file_readable_by_others_is_refused_with_a_chmod_hint(tmp_path: Path) -> None:
    loose = secret(tmp_path, "smtp-password", 0o644)
    path = write(tmp_path, """
        [mail]
        transport = "smtp"
        host = "smtp.example.org"
        from = "Calendar <calendar@example.org>"
        username = "calendar"
        password_file = "smtp-password"
        """)
    msg = message(path, "mail.password_file")
    assert "mode 0644" in msg and f"chmod 600 {loose}" in msg
    loose.chmod(0o600)
    assert load_config(path).mail.password_file == loose


def test_secret_file_that_does_not_exist_or_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir(mode=0o700)
    path = write(tmp_path, """
        [service]
        vault_key_file = "/nonexistent/vault-key"

        [connectors.google]
        mode = "domain"
        service_account_file = "folder"
        """)
    assert paths(path) == ["service.vault_key_file", "connectors.google.service_account_file"]
    assert "does not exist" in message(path, "service.vault_key_file")
    assert "not a regular file" in message(path, "connectors.google.service_account_file")


def test_secret_files_are_never_read(tmp_path: Path) -> None:
    unreadable = secret(tmp_path, "google.json", 0o000)
    unreadable.chmod(0o000)
    path = write(tmp_path, '[connectors.google]\nclient_secrets_file = "google.json"\n')
    assert load_config(path).connectors["google"].client_secrets_file == unreadable


def test_smtp_needs_username_and_password_file_together(tmp_path: Path) -> None:
    secret(tmp_path, "pw")
    path = write(tmp_path, """
        [mail]
        transport = "smtp"
        host = "smtp.example.org"
        from = "not an address"
        username = "u"
        security = "none"
        """)
    assert paths(path) == ["mail.from", "mail.password_file"]
    path = write(tmp_path, """
        [mail]
        transport = "smtp"
        host = "smtp.example.org"
        from = "c@example.org"
        username = "u"
        password_file = "pw"
        security = "none"
        """)
    assert paths(path) == ["mail.security"]  # a password must not travel unencrypted


# -- connectors ------------------------------------------------------------------------------
def test_unknown_connector_lists_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, """
        [connectors.zimbra]
        url = "https://mail.example.org"

        [[people]]
        email = "a@example.org"
        connector = "outlook"
        """)
    assert paths(path) == ["connectors.zimbra", "people[0].connector"]
    for name in ("caldav", "exchange", "google", "ics", "microsoft"):
        assert name in message(path, "people[0].connector")


def test_provider_connectors_need_their_section(tmp_path: Path) -> None:
    path = write(tmp_path, '[[people]]\nemail = "a@example.org"\nconnector = "google"\n')
    assert "[connectors.google]" in message(path, "people[0].connector")


def test_exchange_and_caldav_requirements(tmp_path: Path) -> None:
    secret(tmp_path, "pw")
    path = write(tmp_path, """
        [connectors.exchange]
        auth = "basic"

        [connectors.caldav]
        url = "ftp://dav.example.org"
        password_file = "pw"
        """)
    assert paths(path) == ["connectors.exchange.username", "connectors.exchange.service_endpoint",
                           "connectors.exchange.password_file", "connectors.caldav.username",
                           "connectors.caldav.url"]


def test_local_http_endpoints_are_allowed_for_tests_and_proxies(tmp_path: Path) -> None:
    secret(tmp_path, "sa.json")
    path = write(tmp_path, """
        [connectors.google]
        mode = "domain"
        service_account_file = "sa.json"
        api_endpoint = "http://127.0.0.1:8089/"
        max_concurrency = 2

        [connectors.caldav]
        url = "http://localhost:5232/"
        """)
    config = load_config(path)
    assert config.connectors["google"].api_endpoint == "http://127.0.0.1:8089/"  # type: ignore[attr-defined]
    assert config.connectors["google"].max_concurrency == 2
    assert config.connectors["caldav"] == CaldavConfig(name="caldav", url="http://localhost:5232/")


# -- people and teams ------------------------------------------------------------------------
def test_unknown_team_and_bad_zone_on_a_person(tmp_path: Path) -> None:
    path = write(tmp_path, """
        [[teams]]
        id = "finance"

        [[people]]
        email = "a@example.org"
        connector = "ics"
        calendar = "https://example.org/a.ics"
        team = "finanse"
        timezone = "Asia/Jakarta "
        language = "jv"
        """)
    assert paths(path) == ["people[0].team", "people[0].timezone", "people[0].language"]
    assert "finance" in message(path, "people[0].team")
    assert "Asia/Jakarta" in message(path, "people[0].timezone")


def test_bad_service_timezone(tmp_path: Path) -> None:
    path = write(tmp_path, '[service]\ntimezone = "Jakarta"\n')
    msg = message(path, "service.timezone")
    assert "unknown time zone 'Jakarta'" in msg and "IANA" in msg


def test_differencing_teams_are_refused(tmp_path: Path) -> None:
    # "all" = "ops" (5 people) + 2 people of its own: all − ops reveals those two.
    path = write(tmp_path, """
        [[teams]]
        id = "all"

        [[teams]]
        id = "ops"
        parent = "all"

        """ + people(5, "ops") + people(2, "all", start=5))
    assert problems(path) == [("teams[1]", "teams.all and teams.ops differ by 2 member(s); with k=5 a "
                                           "report pair would reveal individuals (make them differ by "
                                           "at least 5 people, or merge them)")]


def test_differencing_uses_the_configured_k_and_allows_identical_sets(tmp_path: Path) -> None:
    base = """
        [reports]
        k = 6

        [[teams]]
        id = "all"

        [[teams]]
        id = "ops"
        parent = "all"

        [[teams]]
        id = "sre"
        parent = "ops"

        """
    # all = ops = sre: identical aggregates reveal nobody; all − ops differs by 6 = k: allowed.
    path = write(tmp_path, base + people(5, "sre") + people(6, "all", start=5))
    config = load_config(path)
    sizes = {t.id: len(t.members) for t in config.teams}
    assert sizes == {"all": 11, "ops": 5, "sre": 5}
    path = write(tmp_path, base + people(5, "sre") + people(2, "all", start=5))
    assert paths(path) == ["teams[1]", "teams[2]"]  # ops and sre both differ from all by 2


def test_sibling_teams_do_not_overlap(tmp_path: Path) -> None:
    path = write(tmp_path, '[[teams]]\nid = "a"\n\n[[teams]]\nid = "b"\n\n' + people(1, "a")
                 + people(1, "b", start=1))
    assert [len(t.members) for t in load_config(path).teams] == [1, 1]


def test_team_parent_cycle_and_duplicates(tmp_path: Path) -> None:
    path = write(tmp_path, """
        [[teams]]
        id = "a"
        parent = "b"

        [[teams]]
        id = "b"
        parent = "a"

        [[teams]]
        id = "a"

        [[teams]]
        id = "c"
        parent = "c"
        """)
    assert paths(path) == ["teams[2].id", "teams[3].parent", "teams[0].parent"]
    assert "a → b → a" in message(path, "teams[0].parent")


def test_leaders_must_be_people_and_leader_needs_a_team(tmp_path: Path) -> None:
    path = write(tmp_path, """
        [[teams]]
        id = "t"
        leaders = ["Boss@example.org", "ghost@example.org", 7]

        [[people]]
        email = "boss@example.org"
        connector = "ics"
        calendar = "b.ics"
        leader = true
        """)
    assert paths(path) == ["people[0].leader", "teams[0].leaders[1]", "teams[0].leaders[2]"]


# -- the policy ------------------------------------------------------------------------------
def test_policy_file_problems_are_folded_in(tmp_path: Path) -> None:
    write(tmp_path, """
        extends = "asn-id"
        colour = "red"

        [hours.mon]
        start = "7:30"
        end = "16:00"
        """, name="policy.toml")
    path = write(tmp_path, '[service]\npolicy = "policy.toml"\nworkers = -1\n')
    found = problems(path)
    assert {where for where, _ in found} == {"service.policy", "service.workers"}
    assert found[-1][0] == "service.workers"  # the config's own problems are still reported
    messages = [msg for where, msg in found if where == "service.policy"]
    policy = tmp_path / "policy.toml"
    assert messages[0].startswith(f"{policy}: colour: unknown key")
    assert messages[1].startswith(f"{policy}: hours.mon.start: must be a time")


def test_policy_file_that_is_fine_and_unknown_preset(tmp_path: Path) -> None:
    write(tmp_path, 'extends = "default"\nlanguage = "en"\n', name="policy.toml")
    path = write(tmp_path, '[service]\npolicy = "policy.toml"\n')
    assert load_config(path).service.policy == str(tmp_path / "policy.toml")
    path = write(tmp_path, '[service]\npolicy = "asn"\n')
    msg = message(path, "service.policy")
    assert "unknown policy 'asn'" in msg and "asn-id" in msg


# -- the systemd unit ------------------------------------------------------------------------
def _systemd_analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.fail("systemd-analyze is not installed: the unit file cannot be checked. "
                    "Install it (Debian/Ubuntu: apt-get install systemd).")
    return tool


def test_unit_exposure_is_at_most_2(tmp_path: Path) -> None:
    done = subprocess.run([_systemd_analyze(), "security", "--offline=yes", str(UNIT)],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": ""})
    output = done.stdout + done.stderr
    match = re.search(r"Overall exposure level for balanced-calendar\.service: (\d+(?:\.\d+)?)", output)
    assert match, output
    assert float(match.group(1)) <= 2.0, output


def test_unit_verifies_cleanly(tmp_path: Path) -> None:
    # verify checks that ExecStart= exists; point it at this checkout's console script.
    binary = shutil.which("balanced-calendar") or str(Path(sys.executable).parent / "balanced-calendar")
    assert Path(binary).exists(), "install the project (pip install -e .) to get the console script"
    copy = tmp_path / "balanced-calendar.service"
    copy.write_text(UNIT.read_text().replace("/usr/local/bin/balanced-calendar", binary))
    done = subprocess.run([_systemd_analyze(), "verify", "--man=no", "--generators=no", str(copy)],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": ""})
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stdout + done.stderr


def test_unit_has_the_required_settings() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string(UNIT.read_text())
    service = unit["Service"]
    assert service["Type"] == "notify"
    assert service.get("DynamicUser") == "yes" or service.get("User") == "balanced-calendar"
    assert service["StateDirectory"] == "balanced-calendar"
    assert service["ConfigurationDirectory"] == "balanced-calendar"
    assert service["LoadCredential"] == "vault-key:/etc/balanced-calendar/vault-key"
    assert service["Restart"] == "on-failure"
    assert int(service["WatchdogSec"]) > 0
    assert "--config /etc/balanced-calendar/config.toml" in service["ExecStart"]


# -- provider settings belong to the provider ------------------------------------------------
def test_unknown_key_in_a_provider_section_is_reported_with_its_key_path(tmp_path: Path) -> None:
    secret(tmp_path, "google-client.json")
    path = write(tmp_path, """
        [connectors.google]
        client_secrets_file = "google-client.json"
        scopes = ["calendar"]
        name = "gmail"
        """)
    assert paths(path) == ["connectors.google.scopes", "connectors.google.name"]
    msg = message(path, "connectors.google.scopes")
    assert "unknown key" in msg and "client_secrets_file" in msg and "max_concurrency" in msg
    assert msg.endswith("(allowed: api_endpoint, ca_file, client_secrets_file, "
                        "max_concurrency, max_wait, mode, service_account_file, timeout)")  # not "name": the loader sets it


def _modules_after_loading(config: Path) -> set[str]:
    script = ("import sys; from balanced_calendar.config import load_config; "
              f"load_config({str(config)!r}); print(' '.join(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          check=True, cwd=ROOT)
    return set(done.stdout.split())


def test_provider_settings_are_imported_only_when_their_section_is_present(tmp_path: Path) -> None:
    ics_only = write(tmp_path, '[[people]]\nemail = "a@example.org"\nconnector = "ics"\ncalendar = "a.ics"\n')
    loaded = _modules_after_loading(ics_only)
    assert "connectors.ics" in loaded
    assert not loaded & {"connectors.google", "connectors.microsoft", "connectors.exchange",
                         "connectors.caldav"}
    secret(tmp_path, "google-client.json")
    with_google = write(tmp_path, '[connectors.google]\nclient_secrets_file = "google-client.json"\n',
                        name="google.toml")
    loaded = _modules_after_loading(with_google)
    assert "connectors.google" in loaded and "connectors.caldav" not in loaded
    sdks = {"googleapiclient", "google_auth_oauthlib", "msal", "exchangelib", "caldav"}
    assert not {name.split(".")[0] for name in loaded} & sdks  # settings only: no provider SDK


def test_connector_base_and_plugin_do_not_import_pydantic() -> None:
    done = subprocess.run([sys.executable, "-X", "importtime", "-c",
                           "import connectors.base, connectors.plugin"],
                          capture_output=True, text=True, timeout=120, check=True, cwd=ROOT)
    assert "pydantic" not in done.stderr


# -- teams as plain data -----------------------------------------------------------------------
def test_differencing_refuses_a_pair_that_reveals_one_person() -> None:
    from balanced_calendar.teams import Differencing, differencing

    a = frozenset("abcdef")
    b = a - {"f"}  # report(A) − report(B) is person f
    assert differencing({"A": a, "B": b}, k=5) == [Differencing("A", "B", 1, 5)]
    assert differencing({"A": a, "B": a}, k=5) == []  # identical sets reveal nobody
    assert differencing({"A": a, "C": frozenset("xyz")}, k=5) == []  # no overlap
    assert differencing({"A": a, "B": b}, k=5)[0].message.startswith(
        "teams.A and teams.B differ by 1 member(s); with k=5")


def test_differencing_follows_k() -> None:
    from balanced_calendar.teams import DEFAULT_K, differencing

    big = frozenset(f"p{i}" for i in range(10))
    small = frozenset(f"p{i}" for i in range(5))  # differ by 5
    assert DEFAULT_K == 5 and differencing({"all": big, "ops": small}) == []
    assert [d.differ for d in differencing({"all": big, "ops": small}, k=7)] == [5]


def test_team_tree_members_and_leaders() -> None:
    from balanced_calendar.teams import check_parents, leaders, members

    tree, found = check_parents({"all": None, "ops": "all", "sre": "ops", "x": "y", "loop1": "loop2",
                                 "loop2": "loop1"})
    assert [team for team, _ in found] == ["x", "loop1"]
    assert tree == {"all": None, "ops": "all", "sre": "ops", "x": None, "loop1": None, "loop2": None}
    got = members(tree, {"all": ["boss"], "ops": ["o1"], "sre": ["s1", "s2"]})
    assert got["all"] == {"boss", "o1", "s1", "s2"} and got["ops"] == {"o1", "s1", "s2"}
    assert leaders(["Boss@example.org"], ["boss@example.org", "o1@example.org"]) == (
        "boss@example.org", "o1@example.org")


def test_reports_k_changes_the_differencing_outcome(tmp_path: Path) -> None:
    # "all" = "ops" (5 people) + 5 people of its own: fine with k = 5, refused with k = 7.
    teams = '[[teams]]\nid = "all"\n\n[[teams]]\nid = "ops"\nparent = "all"\n\n'
    body = teams + people(5, "ops") + people(5, "all", start=5)
    assert load_config(write(tmp_path, body)).reports.k == 5
    path = write(tmp_path, "[reports]\nk = 7\n\n" + body)
    assert problems(path) == [("teams[1]", "teams.all and teams.ops differ by 5 member(s); with k=7 a "
                                           "report pair would reveal individuals (make them differ by "
                                           "at least 7 people, or merge them)")]


def test_unknown_key_in_a_persons_planner_table_lists_the_planner_keys(tmp_path: Path) -> None:
    path = write(tmp_path, """
        [[people]]
        email = "a@example.org"
        connector = "ics"
        calendar = "a.ics"
        planner = { focus_minutes = 90 }
        """)
    msg = message(path, "people[0].planner.focus_minutes")
    allowed = msg.split("allowed: ")[1].rstrip(")").split(", ")
    assert allowed == ["focus", "focus_target_minutes", "focus_window", "google_auto_decline", "recovery"]
