"""The service config: one TOML file (DESIGN.md §10), validated completely.

Every problem of the whole file is collected with its key path (``people[3].team``,
``connectors.google.client_secrets_file``) and raised at once as one :class:`ConfigError`
(STYLE.md §5). Unknown keys are errors. Secrets never sit in the file: a key such as
``password`` or ``client_secret`` holding a value is refused; secrets are named by ``*_file``
paths, which must exist and be readable by their owner only (mode 0600). Those files are
only ``stat``-ed here, never read.

Relative paths resolve against the folder of the config file. Teams are checked against
differencing (DESIGN.md §8): two overlapping teams whose member sets differ by fewer than
``reports.k`` people would let a leader subtract one report from the other, so the config is
refused.
"""

from __future__ import annotations

import email.utils
import ipaddress
import os
import re
import stat
import types
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from balanced_calendar.model import ConfigError, InputError
from balanced_calendar.texts import LANGUAGES
from balanced_calendar.timezones import load_zone
from balanced_calendar.tomlcheck import Checker, join, load_toml, non_negative, positive

DEFAULT_STATE_DIR = Path("/var/lib/balanced-calendar")
DEFAULT_TIMEZONE = "Asia/Jakarta"
DEFAULT_LANGUAGE = "id"
DEFAULT_POLICY = "asn-id"
DEFAULT_K = 5
LOG_LEVELS = ("debug", "info", "warning", "error")
#: connectors configured by a section of their own, whether or not already registered
PROVIDER_CONNECTORS = ("caldav", "exchange", "google", "microsoft")
#: connectors a person cannot use without their ``[connectors.<name>]`` section
NEEDS_SECTION = frozenset(PROVIDER_CONNECTORS)
SMTP_PORTS = {"starttls": 587, "ssl": 465, "none": 25}

TOP_KEYS = ("service", "mail", "connectors", "people", "teams", "reports")
SERVICE_KEYS = ("state_dir", "timezone", "language", "policy", "vault_key_file", "sync_interval_minutes",
                "sync_jitter_seconds", "workers", "sync_past_weeks", "sync_future_weeks", "log_level")
MAIL_KEYS = ("transport", "maildir", "host", "port", "security", "username", "password_file", "from",
             "timeout")
PERSON_KEYS = ("email", "connector", "calendar", "timezone", "language", "team", "protect", "digest",
               "leader")
TEAM_KEYS = ("id", "name", "leaders", "parent")
REPORT_KEYS = ("k", "weeks_trend")
COMMON_CONNECTOR_KEYS = ("max_concurrency", "timeout")
CONNECTOR_KEYS: Mapping[str, tuple[str, ...]] = {
    "google": ("mode", "client_secrets_file", "service_account_file", "api_endpoint"),
    "microsoft": ("mode", "tenant_id", "client_id", "client_secret_file", "authority", "graph_endpoint"),
    "exchange": ("service_endpoint", "auth", "username", "password_file"),
    "caldav": ("url", "username", "password_file"),
    "ics": (),
}

_SECRET_KEY = re.compile(
    r"(?:^|_)(?:password|passwd|passphrase|secret|secrets|token|api_key|private_key|vault_key)$", re.I)
_ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_LOOPBACK_NAMES = ("localhost", "localhost.localdomain")


# -- the result --------------------------------------------------------------------------
@dataclass(frozen=True)
class ServiceConfig:
    """``[service]``: where state lives, defaults for people, policy and sync pacing."""

    state_dir: Path = DEFAULT_STATE_DIR
    timezone: str = DEFAULT_TIMEZONE
    language: str = DEFAULT_LANGUAGE
    #: a preset name (``asn-id``, ``default``) or the absolute path of a policy TOML file
    policy: str = DEFAULT_POLICY
    #: ``None``: the key comes from the systemd credential ``vault-key`` (preferred)
    vault_key_file: Path | None = None
    sync_interval_minutes: int = 15
    sync_jitter_seconds: int = 120
    workers: int = 4
    sync_past_weeks: int = 8
    sync_future_weeks: int = 2
    log_level: str = "info"


@dataclass(frozen=True)
class MailConfig:
    """``[mail]``: how digests and reports leave the host.

    ``maildir`` transport drops messages into ``maildir`` (for a local MTA or inspection);
    ``smtp`` sends through ``host``:``port``. ``sender`` is the TOML key ``from``.
    """

    transport: str = "maildir"
    maildir: Path = DEFAULT_STATE_DIR / "outbox-maildir"
    host: str | None = None
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password_file: Path | None = None
    sender: str | None = None
    timeout: float = 30.0


@dataclass(frozen=True)
class ConnectorConfig:
    """Settings every connector section accepts; the base of the provider-specific ones.

    Registered connectors without options of their own (``ics``, ``memory``) use this class.
    """

    name: str
    max_concurrency: int = 4
    timeout: float = 30.0


@dataclass(frozen=True)
class GoogleConfig(ConnectorConfig):
    """``[connectors.google]``: ``user`` mode (OAuth per person) or ``domain`` (service account
    with domain-wide delegation)."""

    mode: str = "user"
    client_secrets_file: Path | None = None
    service_account_file: Path | None = None
    #: ``None``: the Google client's default endpoint
    api_endpoint: str | None = None


@dataclass(frozen=True)
class MicrosoftConfig(ConnectorConfig):
    """``[connectors.microsoft]``: ``user`` mode (delegated consent) or ``app`` (application
    permissions with a client secret)."""

    mode: str = "user"
    tenant_id: str = "organizations"
    client_id: str = ""
    client_secret_file: Path | None = None
    authority: str = "https://login.microsoftonline.com"
    graph_endpoint: str = "https://graph.microsoft.com/v1.0"


@dataclass(frozen=True)
class ExchangeConfig(ConnectorConfig):
    """``[connectors.exchange]``: Exchange Server on premises through EWS."""

    service_endpoint: str = ""
    auth: str = "ntlm"
    username: str | None = None
    password_file: Path | None = None


@dataclass(frozen=True)
class CaldavConfig(ConnectorConfig):
    """``[connectors.caldav]``: a CalDAV server (Zimbra, Nextcloud, Radicale, …)."""

    url: str = ""
    username: str | None = None
    password_file: Path | None = None


@dataclass(frozen=True)
class PersonConfig:
    """One ``[[people]]`` entry; defaults filled in from ``[service]``.

    ``calendar`` is the provider's calendar id, or for ``ics`` a URL or an absolute path.
    """

    email: str
    connector: str
    calendar: str = "primary"
    timezone: str = DEFAULT_TIMEZONE
    language: str = DEFAULT_LANGUAGE
    team: str | None = None
    protect: bool = False
    digest: bool = True
    leader: bool = False

    @property
    def ics_source(self) -> str | None:
        """For an ``ics`` person, the configured file or URL; ``None`` when not configured."""
        if self.connector == "ics" and self.calendar not in ("", "primary"):
            return self.calendar
        return None


@dataclass(frozen=True)
class TeamConfig:
    """One ``[[teams]]`` entry.

    ``members`` are the people whose ``team`` is this id plus the members of its child teams
    (teams whose ``parent`` is this id); ``leaders`` are the addresses listed in the entry plus
    members of this team with ``leader = true``.
    """

    id: str
    name: str
    leaders: tuple[str, ...] = ()
    parent: str | None = None
    members: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ReportsConfig:
    """``[reports]``: the anonymity threshold ``k`` and the trend length."""

    k: int = DEFAULT_K
    weeks_trend: int = 8


@dataclass(frozen=True)
class Config:
    """The whole validated config file."""

    service: ServiceConfig
    mail: MailConfig
    #: configured sections plus section-less connectors (``ics``) that people use
    connectors: Mapping[str, ConnectorConfig]
    people: tuple[PersonConfig, ...]
    teams: tuple[TeamConfig, ...]
    reports: ReportsConfig
    source: Path = field(default=Path("config.toml"))

    def person(self, email_address: str) -> PersonConfig | None:
        """The person with this address (case-insensitive), or ``None``."""
        wanted = email_address.lower()
        return next((p for p in self.people if p.email == wanted), None)

    def team(self, team_id: str) -> TeamConfig | None:
        """The team with this id, or ``None``."""
        return next((t for t in self.teams if t.id == team_id), None)


# -- entry points ------------------------------------------------------------------------
def load_config(path: Path) -> Config:
    """Read and validate the config file at ``path``.

    Raises :class:`ConfigError` listing every problem (a missing file and a TOML syntax
    error are problems too).
    """
    path = Path(path)
    data = load_toml(path)
    return parse_config(data, source=str(path), base_dir=path.absolute().parent)


def parse_config(data: Mapping[str, Any], *, source: str, base_dir: Path) -> Config:
    """Validate an already parsed TOML mapping; relative paths resolve against ``base_dir``.

    Raises :class:`ConfigError` with every ``(key_path, message)`` problem found.
    """
    c = Checker(source)
    v = _Validator(c, Path(base_dir).absolute())
    top = v.table(data, "", TOP_KEYS)
    service = v.service(top.get("service", {}))
    mail = v.mail(top.get("mail", {}), service)
    connectors = v.connectors(top.get("connectors", {}))
    reports = v.reports(top.get("reports", {}))
    raw_teams = v.teams(top.get("teams", []))
    people = v.people(top.get("people", []), service, connectors, {t["id"] for t in raw_teams})
    teams = v.finish_teams(raw_teams, people, reports.k)
    for name in sorted({p.connector for p in people} - set(connectors)):
        if name not in NEEDS_SECTION:
            connectors[name] = ConnectorConfig(name=name)
    c.raise_if_any()
    return Config(service=service, mail=mail, connectors=types.MappingProxyType(connectors),
                  people=tuple(people), teams=teams, reports=reports, source=Path(source))


def check_config(path: Path) -> list[str]:
    """``balanced-calendar config check``: validate ``path`` and summarise it in human lines.

    Raises :class:`ConfigError` (all problems at once) when the file is not usable. The
    summary carries counts, never addresses. Lines starting with ``note:`` are not errors.
    """
    config = load_config(path)
    s, m = config.service, config.mail
    lines = [f"{config.source}: OK"]
    lines.append(f"  service: state in {s.state_dir}; policy {s.policy}; timezone {s.timezone}; "
                 f"language {s.language}; sync every {s.sync_interval_minutes} min with {s.workers} workers")
    lines.append("  vault key: " + (str(s.vault_key_file) if s.vault_key_file
                                    else "systemd credential 'vault-key'"))
    if m.transport == "smtp":
        lines.append(f"  mail: smtp via {m.host}:{m.port} ({m.security})")
    else:
        lines.append(f"  mail: maildir {m.maildir}")
    lines.append("  connectors: " + (", ".join(sorted(config.connectors)) or "none"))
    lines.append(f"  people: {len(config.people)} ({sum(p.protect for p in config.people)} with protection, "
                 f"{sum(p.digest for p in config.people)} with digest)")
    lines.append(f"  teams: {len(config.teams)}; reports need k = {config.reports.k} members")
    if not config.people:
        lines.append("note: no [[people]] configured: the service has nothing to audit")
    for team in config.teams:
        if len(team.members) < config.reports.k:
            lines.append(f"note: team {team.id!r} has {len(team.members)} member(s), fewer than "
                         f"k = {config.reports.k}: its report will be suppressed")
        if not team.leaders:
            lines.append(f"note: team {team.id!r} has no leaders: nobody receives its report")
    return lines


# -- validation --------------------------------------------------------------------------
class _Validator:
    """Section readers sharing one :class:`Checker` and the config folder."""

    def __init__(self, checker: Checker, base_dir: Path) -> None:
        self.c = checker
        self.base_dir = base_dir

    # -- generic helpers -----------------------------------------------------------------
    def table(self, data: Any, path: str, allowed: Iterable[str]) -> Mapping[str, Any]:
        """Like :meth:`Checker.table`, but a plaintext secret gets its own message."""
        allowed = tuple(allowed)
        if isinstance(data, Mapping):
            secrets = [k for k in data if isinstance(k, str) and _SECRET_KEY.search(k)
                       and k not in allowed]
            for key in secrets:
                instead = f"{key}_file" if f"{key}_file" in allowed else "a *_file key"
                self.c.problem(join(path, key),
                               f"plaintext secrets are not allowed in the config: put the value in a file "
                               f"only the service user can read (chmod 600) and name it with {instead}")
            data = {k: v for k, v in data.items() if k not in secrets}
        return self.c.table(data, path, allowed)

    def choice(self, data: Mapping[str, Any], path: str, key: str, options: Iterable[str],
               default: Any) -> Any:
        options = tuple(options)
        return self.c.get(data, path, key, str, default,
                          check=lambda v: None if v in options else f"must be one of: {', '.join(options)}")

    def path(self, data: Mapping[str, Any], path: str, key: str, default: Path | None = None) -> Path | None:
        """A file-system path; relative values resolve against the config folder."""
        value = self.c.get(data, path, key, str, None, check=_not_blank)
        if value is None:
            return default
        return self.resolve(value)

    def resolve(self, value: str) -> Path:
        p = Path(value)
        return p if p.is_absolute() else Path(os.path.normpath(self.base_dir / p))

    def secret_file(self, data: Mapping[str, Any], path: str, key: str, *, required: bool = False,
                    why: str = "") -> Path | None:
        """A ``*_file`` secret: must exist, be a regular file and be private (0600). Never read."""
        where = join(path, key)
        if key not in data:
            if required:
                self.c.problem(where, f"is required{why}: the path of a file holding the secret")
            return None
        file = self.path(data, path, key)
        if file is None:
            return None
        try:
            info = file.stat()
        except FileNotFoundError:
            self.c.problem(where, f"{file} does not exist")
            return file
        except PermissionError:
            self.c.problem(where, f"{file} cannot be checked: permission denied (run the check as root "
                                  f"or as the service user)")
            return file
        except OSError as exc:
            self.c.problem(where, f"{file} cannot be checked: {exc.strerror}")
            return file
        if not stat.S_ISREG(info.st_mode):
            self.c.problem(where, f"{file} is not a regular file")
        elif info.st_mode & 0o077:
            self.c.problem(where, f"{file} is accessible by group or others (mode "
                                  f"{stat.S_IMODE(info.st_mode):04o}); run: chmod 600 {file}")
        return file

    def url(self, data: Mapping[str, Any], path: str, key: str, default: Any = None, *,
            required: bool = False) -> Any:
        """An ``https://`` endpoint (``http://`` only for a loopback host: credentials travel)."""
        if required and key not in data:
            self.c.problem(join(path, key), "is required")
            return default
        return self.c.get(data, path, key, str, default, check=_endpoint_problem)

    def count(self, data: Mapping[str, Any], path: str, key: str, default: int,
              check: Any = positive) -> int:
        return self.c.get(data, path, key, int, default, check=check)

    def seconds(self, data: Mapping[str, Any], path: str, key: str, default: float) -> float:
        return float(self.c.get(data, path, key, (int, float), default, check=positive))

    def zone(self, data: Mapping[str, Any], path: str, key: str, default: str) -> str:
        name = self.c.get(data, path, key, str, None)
        if name is None:
            return default
        try:
            return load_zone(name).key
        except InputError as exc:
            self.c.problem(join(path, key), f"{exc.message}; {exc.hint}" if exc.hint else exc.message)
            return default

    # -- sections ------------------------------------------------------------------------
    def service(self, data: Any) -> ServiceConfig:
        p = "service"
        t = self.table(data, p, SERVICE_KEYS)
        state_dir = self.path(t, p, "state_dir", DEFAULT_STATE_DIR) or DEFAULT_STATE_DIR
        timezone = self.zone(t, p, "timezone", DEFAULT_TIMEZONE)
        language = self.choice(t, p, "language", LANGUAGES, DEFAULT_LANGUAGE)
        policy = self.policy(t)
        vault_key_file = self.secret_file(t, p, "vault_key_file")
        log_level = self.c.get(t, p, "log_level", str, "info",
                               check=lambda v: None if v.lower() in LOG_LEVELS
                               else f"must be one of: {', '.join(LOG_LEVELS)}")
        return ServiceConfig(
            state_dir=state_dir, timezone=timezone, language=language, policy=policy,
            vault_key_file=vault_key_file,
            sync_interval_minutes=self.count(t, p, "sync_interval_minutes", 15),
            sync_jitter_seconds=self.count(t, p, "sync_jitter_seconds", 120, non_negative),
            workers=self.count(t, p, "workers", 4),
            sync_past_weeks=self.count(t, p, "sync_past_weeks", 8, non_negative),
            sync_future_weeks=self.count(t, p, "sync_future_weeks", 2, non_negative),
            log_level=log_level.lower(),
        )

    def policy(self, t: Mapping[str, Any]) -> str:
        """A preset name or a policy file; the policy's own problems are folded in."""
        from balanced_calendar.policyfile import load_policy, preset_names

        spec = self.c.get(t, "service", "policy", str, DEFAULT_POLICY, check=_not_blank)
        if spec is None:
            return DEFAULT_POLICY
        is_path = spec.endswith(".toml") or "/" in spec
        if is_path:
            spec = str(self.resolve(spec))
        try:
            load_policy(spec)
        except ConfigError as exc:
            for inner, message in exc.problems:
                self.c.problem("service.policy", f"{exc.source}: {inner or '<top>'}: {message}")
        except InputError as exc:
            self.c.problem("service.policy", f"{exc.message}; use a preset ({', '.join(preset_names())}) "
                                             f"or the path of a policy TOML file")
        return spec

    def mail(self, data: Any, service: ServiceConfig) -> MailConfig:
        p = "mail"
        t = self.table(data, p, MAIL_KEYS)
        transport = self.choice(t, p, "transport", ("maildir", "smtp"), "maildir")
        maildir = self.path(t, p, "maildir") or service.state_dir / "outbox-maildir"
        security = self.choice(t, p, "security", tuple(SMTP_PORTS), "starttls")
        port = self.c.get(t, p, "port", int, SMTP_PORTS[security],
                          check=lambda v: None if 0 < v < 65536 else "must be a TCP port (1–65535)")
        host = self.c.get(t, p, "host", str, None, check=_not_blank)
        username = self.c.get(t, p, "username", str, None, check=_not_blank)
        password_file = self.secret_file(t, p, "password_file")
        sender = self.c.get(t, p, "from", str, None, check=_sender_problem)
        timeout = self.seconds(t, p, "timeout", 30.0)
        if transport == "smtp":
            for key in ("host", "from"):
                if key not in t:
                    self.c.problem(join(p, key), 'is required with transport = "smtp"')
            if username is not None and "password_file" not in t:
                self.c.problem(join(p, "password_file"), "is required when username is set")
            if "password_file" in t and "username" not in t:
                self.c.problem(join(p, "username"), "is required when password_file is set")
            if security == "none" and "password_file" in t and host and not _is_loopback(host):
                self.c.problem(join(p, "security"), 'security = "none" would send the SMTP password '
                                                    'unencrypted; use "starttls" or "ssl"')
        return MailConfig(transport=transport, maildir=maildir, host=host, port=port, security=security,
                          username=username, password_file=password_file, sender=sender, timeout=timeout)

    def connectors(self, data: Any) -> dict[str, ConnectorConfig]:
        from connectors import available

        known = sorted(set(available()) | set(PROVIDER_CONNECTORS))
        if not isinstance(data, Mapping):
            self.c.problem("connectors", f"must be a table of [connectors.<name>] sections, "
                                         f"not {type(data).__name__}")
            return {}
        result: dict[str, ConnectorConfig] = {}
        for name, section in data.items():
            p = join("connectors", name)
            if name not in known:
                self.c.problem(p, f"unknown connector (known: {', '.join(known)})")
                continue
            reader = getattr(self, f"_connector_{name}", None)
            extra = CONNECTOR_KEYS.get(name, ())
            t = self.table(section, p, COMMON_CONNECTOR_KEYS + extra)
            common = {"name": name, "max_concurrency": self.count(t, p, "max_concurrency", 4),
                      "timeout": self.seconds(t, p, "timeout", 30.0)}
            result[name] = reader(t, p, common) if reader else ConnectorConfig(**common)
        return result

    def _connector_google(self, t: Mapping[str, Any], p: str, common: dict[str, Any]) -> GoogleConfig:
        mode = self.choice(t, p, "mode", ("user", "domain"), "user")
        if t.get("mode", "user") not in ("user", "domain"):
            mode = None  # already reported; do not guess which file is required
        return GoogleConfig(
            **common, mode=mode or "user",
            client_secrets_file=self.secret_file(t, p, "client_secrets_file", required=mode == "user",
                                                 why=' with mode = "user" (the OAuth client JSON)'),
            service_account_file=self.secret_file(t, p, "service_account_file", required=mode == "domain",
                                                  why=' with mode = "domain" (the service account JSON key)'),
            api_endpoint=self.url(t, p, "api_endpoint"),
        )

    def _connector_microsoft(self, t: Mapping[str, Any], p: str, common: dict[str, Any]) -> MicrosoftConfig:
        mode = self.choice(t, p, "mode", ("user", "app"), "user")
        if t.get("mode", "user") not in ("user", "app"):
            mode = None  # already reported
        if mode == "app" and "tenant_id" not in t:
            self.c.problem(join(p, "tenant_id"), 'is required with mode = "app" (the directory (tenant) id)')
        return MicrosoftConfig(
            **common, mode=mode or "user",
            tenant_id=self.c.get(t, p, "tenant_id", str, "organizations", check=_not_blank),
            client_id=self.c.get(t, p, "client_id", str, check=_not_blank) or "",
            client_secret_file=self.secret_file(t, p, "client_secret_file", required=mode == "app",
                                                why=' with mode = "app"'),
            authority=self.url(t, p, "authority", MicrosoftConfig.authority),
            graph_endpoint=self.url(t, p, "graph_endpoint", MicrosoftConfig.graph_endpoint),
        )

    def _connector_exchange(self, t: Mapping[str, Any], p: str, common: dict[str, Any]) -> ExchangeConfig:
        auth = self.choice(t, p, "auth", ("ntlm", "basic", "oauth"), "ntlm")
        needs_password = t.get("auth", "ntlm") in ("ntlm", "basic")
        why = f' with auth = "{auth}"'
        if needs_password and "username" not in t:
            self.c.problem(join(p, "username"), f"is required{why}")
        return ExchangeConfig(
            **common, auth=auth,
            service_endpoint=self.url(t, p, "service_endpoint", "", required=True),
            username=self.c.get(t, p, "username", str, None, check=_not_blank),
            password_file=self.secret_file(t, p, "password_file", required=needs_password, why=why),
        )

    def _connector_caldav(self, t: Mapping[str, Any], p: str, common: dict[str, Any]) -> CaldavConfig:
        if "username" in t and "password_file" not in t:
            self.c.problem(join(p, "password_file"), "is required when username is set")
        if "password_file" in t and "username" not in t:
            self.c.problem(join(p, "username"), "is required when password_file is set")
        return CaldavConfig(
            **common,
            url=self.url(t, p, "url", "", required=True),
            username=self.c.get(t, p, "username", str, None, check=_not_blank),
            password_file=self.secret_file(t, p, "password_file"),
        )

    def reports(self, data: Any) -> ReportsConfig:
        p = "reports"
        t = self.table(data, p, REPORT_KEYS)
        k = self.c.get(t, p, "k", int, DEFAULT_K,
                       check=lambda v: None if v >= 2 else "must be at least 2 (a team of one is a person)")
        return ReportsConfig(k=k, weeks_trend=self.count(t, p, "weeks_trend", 8))

    def teams(self, data: Any) -> list[dict[str, Any]]:
        """First pass over ``[[teams]]``: ids, names, parents, listed leaders (checked later)."""
        if not isinstance(data, list):
            self.c.problem("teams", "must be an array of tables ([[teams]])")
            return []
        result: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(data):
            p = join("teams", i)
            t = self.table(item, p, TEAM_KEYS)
            team_id = self.c.get(t, p, "id", str, check=lambda v: None if _SLUG.match(v) else
                                 "must be a short slug: lower-case letters, digits, '-' or '_'")
            name = self.c.get(t, p, "name", str, None, check=_not_blank)
            leaders = self.c.get(t, p, "leaders", list, [])
            parent = self.c.get(t, p, "parent", str, None)
            if team_id is None:
                continue
            if team_id in seen:
                self.c.problem(join(p, "id"), f"duplicate team id {team_id!r} (also teams[{seen[team_id]}])")
                continue
            seen[team_id] = i
            result.append({"index": i, "id": team_id, "name": name or team_id,
                           "leaders": leaders or [], "parent": parent, "has_leaders": "leaders" in t})
        ids = {t["id"] for t in result}
        for team in result:
            p = join("teams", team["index"])
            parent = team["parent"]
            if parent is None:
                continue
            if parent not in ids:
                self.c.problem(join(p, "parent"), f"unknown team {parent!r}" + _known(ids))
                team["parent"] = None
            elif parent == team["id"]:
                self.c.problem(join(p, "parent"), "a team cannot be its own parent")
                team["parent"] = None
        by_id = {t["id"]: t for t in result}
        in_reported_cycle: set[str] = set()
        for team in result:
            chain, current = [team["id"]], team["parent"]
            while current is not None and current not in chain:
                chain.append(current)
                current = by_id[current]["parent"]
            if current == team["id"] and team["id"] not in in_reported_cycle:
                in_reported_cycle.update(chain)
                self.c.problem(join(join("teams", team["index"]), "parent"),
                               "parents form a cycle: " + " → ".join(chain + [current]))
        for team in result:  # break cycles so member sets can be computed
            if team["parent"] is not None and _ancestors(by_id, team["parent"], limit=len(result)) is None:
                team["parent"] = None
        return result

    def people(self, data: Any, service: ServiceConfig, connectors: Mapping[str, ConnectorConfig],
               team_ids: set[str]) -> list[PersonConfig]:
        from connectors import available

        known = sorted(set(available()) | set(PROVIDER_CONNECTORS))
        if not isinstance(data, list):
            self.c.problem("people", "must be an array of tables ([[people]])")
            return []
        result: list[PersonConfig] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(data):
            p = join("people", i)
            t = self.table(item, p, PERSON_KEYS)
            address = self.c.get(t, p, "email", str, check=_address_problem)
            if address is not None:
                address = address.lower()
                if address in seen:
                    self.c.problem(join(p, "email"), f"duplicate person (also people[{seen[address]}])")
                    address = None
                else:
                    seen[address] = i
            connector = self.c.get(t, p, "connector", str)
            if connector is not None:
                if connector not in known:
                    self.c.problem(join(p, "connector"), f"unknown connector {connector!r} "
                                                         f"(known: {', '.join(known)})")
                    connector = None
                elif connector in NEEDS_SECTION and connector not in connectors:
                    self.c.problem(join(p, "connector"),
                                   f"needs a [connectors.{connector}] section in this file")
            calendar = self.calendar(t, p, connector)
            team = self.c.get(t, p, "team", str, None)
            if team is not None and team not in team_ids:
                self.c.problem(join(p, "team"), f"unknown team {team!r}" + _known(team_ids))
                team = None
            leader = self.c.get(t, p, "leader", bool, False)
            if leader and "team" not in t:
                self.c.problem(join(p, "leader"), "a leader needs a team: set team = \"<team id>\"")
            person = PersonConfig(
                email=address or "", connector=connector or "", calendar=calendar,
                timezone=self.zone(t, p, "timezone", service.timezone),
                language=self.choice(t, p, "language", LANGUAGES, service.language),
                team=team,
                protect=self.c.get(t, p, "protect", bool, False),
                digest=self.c.get(t, p, "digest", bool, True),
                leader=bool(leader),
            )
            if address and connector:
                result.append(person)
        return result

    def calendar(self, t: Mapping[str, Any], p: str, connector: str | None) -> str:
        """The provider calendar id; for ``ics`` a required URL or path (resolved)."""
        if connector != "ics":
            return self.c.get(t, p, "calendar", str, "primary", check=_not_blank) or "primary"
        value = self.c.get(t, p, "calendar", str, None, check=_not_blank)
        if value is None:
            if "calendar" not in t:
                self.c.problem(join(p, "calendar"), "is required for connector \"ics\": "
                                                    "an http(s):// or webcal:// URL or a file path")
            return ""
        scheme = urllib.parse.urlsplit(value).scheme.lower()
        if scheme in ("http", "https", "webcal"):
            if not urllib.parse.urlsplit(value).netloc:
                self.c.problem(join(p, "calendar"), f"{value!r} is not a usable URL")
            return value
        if scheme and len(scheme) > 1:
            self.c.problem(join(p, "calendar"), f"unsupported URL scheme {scheme!r}: use https://, "
                                                f"http://, webcal:// or a file path")
            return value
        return str(self.resolve(value))

    def finish_teams(self, raw: list[dict[str, Any]], people: list[PersonConfig], k: int) -> tuple[TeamConfig, ...]:
        """Members and leaders of every team, then the differencing check (DESIGN.md §8)."""
        addresses = {person.email for person in people}
        direct: dict[str, set[str]] = {t["id"]: set() for t in raw}
        for person in people:
            if person.team in direct:
                direct[person.team].add(person.email)
        children: dict[str, list[str]] = {t["id"]: [] for t in raw}
        for team in raw:
            if team["parent"] is not None:
                children[team["parent"]].append(team["id"])

        def members(team_id: str) -> set[str]:
            found = set(direct[team_id])
            for child in children[team_id]:
                found |= members(child)
            return found

        teams: list[TeamConfig] = []
        for team in raw:
            p = join("teams", team["index"])
            leaders: list[str] = []
            for j, leader in enumerate(team["leaders"]):
                where = join(join(p, "leaders"), j)
                if not isinstance(leader, str):
                    self.c.problem(where, f"must be an email address, not {type(leader).__name__} {leader!r}")
                elif leader.lower() not in addresses:
                    self.c.problem(where, f"{leader!r} is not one of the [[people]] in this file")
                elif leader.lower() not in leaders:
                    leaders.append(leader.lower())
            for person in people:
                if person.leader and person.team == team["id"] and person.email not in leaders:
                    leaders.append(person.email)
            teams.append(TeamConfig(id=team["id"], name=team["name"], leaders=tuple(leaders),
                                    parent=team["parent"], members=frozenset(members(team["id"]))))
        self.differencing(teams, [t["index"] for t in raw], k if isinstance(k, int) and k >= 2 else DEFAULT_K)
        return tuple(teams)

    def differencing(self, teams: list[TeamConfig], indexes: list[int], k: int) -> None:
        """Refuse overlapping teams whose member sets differ by 1 … k-1 people."""
        for a in range(len(teams)):
            for b in range(a + 1, len(teams)):
                first, second = teams[a], teams[b]
                if not first.members & second.members:
                    continue
                differ = len(first.members ^ second.members)
                if 0 < differ < k:
                    self.c.problem(join("teams", indexes[b]),
                                   f"teams.{first.id} and teams.{second.id} differ by {differ} member(s); "
                                   f"with k={k} a report pair would reveal individuals (make them differ "
                                   f"by at least {k} people, or merge them)")


# -- small checks ------------------------------------------------------------------------
def _not_blank(value: str) -> str | None:
    return "must not be empty" if not value.strip() else None


def _address_problem(value: str) -> str | None:
    return None if _ADDRESS.match(value) else f"{value!r} is not an email address"


def _sender_problem(value: str) -> str | None:
    name, address = email.utils.parseaddr(value)
    if not address or not _ADDRESS.match(address):
        return f"{value!r} is not an email address (\"Name <user@example.org>\" is fine)"
    return None


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _endpoint_problem(value: str) -> str | None:
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.hostname:
        return f"{value!r} is not an http(s) URL"
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        return "must use https:// (http:// is only allowed for a loopback host such as 127.0.0.1)"
    return None


def _known(ids: Iterable[str]) -> str:
    ids = sorted(ids)
    return f" (declared: {', '.join(ids)})" if ids else " (no [[teams]] are declared)"


def _ancestors(by_id: Mapping[str, Mapping[str, Any]], start: str, *, limit: int) -> list[str] | None:
    """The parent chain from ``start`` upwards, or ``None`` when it loops."""
    chain: list[str] = []
    current: str | None = start
    while current is not None:
        if current in chain or len(chain) > limit:
            return None
        chain.append(current)
        current = by_id[current]["parent"]
    return chain
