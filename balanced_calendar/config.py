"""The service config: one TOML file (systemd/README.md, section 4), validated completely.

Each option is declared once, on a frozen pydantic model, with its type, default and help
text. Every problem of the whole file is collected with its key path (``people[3].team``,
``connectors.google.client_secrets_file``) and raised at once as one :class:`ConfigError`.
Unknown keys are errors. Secrets never sit in the file: a key such as
``password`` or ``client_secret`` holding a value is refused; secrets are named by ``*_file``
paths, which must exist and be readable by their owner only (mode 0600). Those files are
only ``stat``-ed here, never read.

The core names no provider: a ``[connectors.<name>]`` section is validated by the schema its
plug-in names (:attr:`connectors.plugin.Provider.settings`, imported only when needed) and a
person's ``calendar`` by the plug-in's rule. Relative paths resolve against the folder of the
config file. Teams follow :mod:`balanced_calendar.teams` (members, leaders, differencing with
``reports.k``).

How key paths are built: each table is validated on its own (``model_validate`` with the
config folder in the context); pydantic's ``loc`` tuples are joined onto the table's path
(``("leaders", 2)`` under ``teams[0]`` is ``teams[0].leaders[2]``). Within a table, unknown
keys come first, then the problems of each key in declaration order, cross-field rules
(:meth:`~connectors.settings.SettingsModel.rules`) in their key's place.
"""

from __future__ import annotations

import email.utils
import importlib
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import AfterValidator, BeforeValidator, Field, PrivateAttr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from balanced_calendar import teams as team_rules
from balanced_calendar.model import ConfigError, InputError
from balanced_calendar.texts import LANGUAGES
from balanced_calendar.teams import DEFAULT_K
from balanced_calendar.timezones import load_zone
from balanced_calendar.tomlcheck import join, load_toml
from connectors.settings import (
    ConnectorSettings,
    Endpoint,
    LocalPath,
    NonBlank,
    ReadableFile,
    SecretFile,
    SettingsModel,
    config_folder,
    is_loopback,
    resolve,
)

__all__ = ["DEFAULT_K", "Config", "ConfigError", "MailConfig", "PersonConfig", "PortalConfig", "ReportsConfig",
           "ServiceConfig", "TeamConfig", "check_config", "load_config", "parse_config"]

DEFAULT_STATE_DIR = Path("/var/lib/balanced-calendar")
DEFAULT_TIMEZONE = "Asia/Jakarta"
DEFAULT_LANGUAGE = "id"
DEFAULT_POLICY = "asn-id"
Language = Literal["id", "en"]
# the languages are owned by balanced_calendar.texts; the Literal above spells them for the schema
assert set(get_args(Language)) == set(LANGUAGES), "config.Language must list texts.LANGUAGES"
LogLevel = Literal["debug", "info", "warning", "error"]
Security = Literal["starttls", "ssl", "none"]
SMTP_PORTS: Mapping[str, int] = {"starttls": 587, "ssl": 465, "none": 25}

TOP_KEYS = ("service", "mail", "connectors", "people", "teams", "reports", "planner", "portal")

_SECRET_KEY = re.compile(
    r"(?:^|_)(?:password|passwd|passphrase|secret|secrets|token|api_key|private_key|vault_key)$", re.I)
_ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_TYPE_NAMES = {"int_type": "int", "bool_type": "bool", "string_type": "str", "float_type": "int or float",
               "list_type": "list", "tuple_type": "list", "dict_type": "a table", "model_type": "a table"}

M = TypeVar("M", bound=SettingsModel)
Problems = list[tuple[str, str]]


# -- field types -------------------------------------------------------------------------
def _zone(name: str) -> str:
    try:
        return load_zone(name).key
    except InputError as exc:
        raise ValueError(f"{exc.message}; {exc.hint}" if exc.hint else exc.message) from None


def _address(value: str) -> str:
    if not _ADDRESS.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value.lower()


def _sender(value: str) -> str:
    _name, address = email.utils.parseaddr(value)
    if not address or not _ADDRESS.match(address):
        raise ValueError(f"{value!r} is not an email address (\"Name <user@example.org>\" is fine)")
    return value


def _slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError("must be a short slug: lower-case letters, digits, '-' or '_'")
    return value


#: an IANA zone name or an Indonesian alias (WIB/WITA/WIT), stored as the IANA name
Zone = Annotated[str, AfterValidator(_zone)]
#: an email address, stored lower-case
Address = Annotated[str, AfterValidator(_address)]
#: ``user@example.org`` or ``Name <user@example.org>``
Sender = Annotated[str, AfterValidator(_sender)]
#: a team id
Slug = Annotated[str, AfterValidator(_slug)]


# -- the sections ------------------------------------------------------------------------
class ServiceConfig(SettingsModel):
    """``[service]``: where state lives, defaults for people, policy and sync pacing."""

    state_dir: LocalPath = Field(DEFAULT_STATE_DIR, description="the folder of the SQLite store "
                                                                "(systemd StateDirectory=)")
    timezone: Zone = Field(DEFAULT_TIMEZONE,
                           description="default zone of people (IANA name, or WIB/WITA/WIT)")
    language: Language = Field(DEFAULT_LANGUAGE, description="default language of digests")
    policy: str = Field(DEFAULT_POLICY, description='a preset ("asn-id", "default") or the path of a policy '
                                                    "TOML file (stored absolute)")
    vault_key_file: SecretFile | None = Field(
        None, description="the vault key file; unset: the systemd credential 'vault-key' (preferred)")
    sync_interval_minutes: int = Field(15, gt=0, description="how often every calendar is read")
    sync_jitter_seconds: int = Field(120, ge=0,
                                     description="random delay per person so providers see no bursts")
    workers: int = Field(4, gt=0, description="calendars read in parallel")
    sync_past_weeks: int = Field(8, ge=0, description="weeks read back on each sync")
    sync_future_weeks: int = Field(2, ge=0, description="weeks read ahead on each sync")
    log_level: LogLevel = Field("info", description="debug | info | warning | error (any case)")
    job_lease_seconds: int = Field(900, gt=0, description="a job claimed by an instance that died is "
                                                          "taken over by another after this long")
    store_timeout_seconds: float = Field(30.0, ge=1, le=300,
                                         description="PostgreSQL store: how long a call waits for the server "
                                                     "(down, restarting) before its job fails and is retried")
    store: str | None = Field(None, description='unset: SQLite under state_dir; "postgresql://user@host/db" '
                                                "to share one PostgreSQL database between instances "
                                                "(docs/scaling.md); never with a password in it")
    store_password_file: SecretFile | None = Field(
        None, description="the PostgreSQL password of store; unset: the systemd credential 'store-password'")

    @field_validator("store")
    @classmethod
    def _store(cls, url: str | None) -> str | None:
        from balanced_calendar.store.select import check_store_url

        return None if url is None else check_store_url(url)

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("policy")
    @classmethod
    def _policy(cls, spec: str, info: ValidationInfo) -> str:
        """A preset name or a policy file; the policy file's own problems are folded in."""
        from balanced_calendar.policyfile import load_policy, preset_names

        if not spec.strip():
            raise ValueError("must not be empty")
        if spec.endswith(".toml") or "/" in spec:
            spec = str(resolve(spec, config_folder(info)))
        try:
            load_policy(spec)
        except ConfigError as exc:
            raise _many([f"{exc.source}: {inner or '<top>'}: {message}" for inner, message in exc.problems])
        except InputError as exc:
            raise ValueError(f"{exc.message}; use a preset ({', '.join(preset_names())}) or the path of a "
                             f"policy TOML file") from None
        return spec


class MailConfig(SettingsModel):
    """``[mail]``: how digests and reports leave the host.

    ``maildir`` transport drops messages into ``maildir`` (for a local MTA or inspection);
    ``smtp`` sends through ``host``:``port``. ``sender`` is the TOML key ``from``.
    """

    transport: Literal["maildir", "smtp", "graph"] = Field("maildir", description='"smtp", "graph" '
                                                                         '(Microsoft 365 sendMail, with '
                                                                         '[connectors.microsoft] mode = "app"), '
                                                                         'or "maildir" to only drop files locally')
    maildir: LocalPath = Field(DEFAULT_STATE_DIR / "outbox-maildir",
                               description="the maildir of transport = \"maildir\" (default: "
                                           "<state_dir>/outbox-maildir)")
    security: Security = Field("starttls", description='"starttls" (587), "ssl" (465) or "none" '
                                                       "(25, a local relay)")
    port: int = Field(587, description="the SMTP port (default: by security)")
    host: NonBlank | None = Field(None, description='the SMTP server (required with transport = "smtp")')
    username: NonBlank | None = Field(None, description="the SMTP login (together with password_file)")
    sender: Sender | None = Field(None, alias="from", description='the From: address (required with '
                                                                  'transport = "smtp")')
    password_file: SecretFile | None = Field(None, description="the SMTP password of username")
    timeout: float = Field(30.0, gt=0, description="seconds to wait for the SMTP server")
    ca_file: ReadableFile | None = Field(None, description="a PEM file of CA certificates to trust for the SMTP "
                                                        "server (a private agency CA); the system's otherwise")
    unsubscribe_url: Endpoint | None = Field(None, description="https base URL of the one-click unsubscribe "
                                                               "(served by `balanced-calendar serve`); the "
                                                               "token is appended")
    unsubscribe_address: Address | None = Field(None, description="where mailto unsubscribes go "
                                                                  "(default: the from address)")

    @model_validator(mode="before")
    @classmethod
    def _dependent_defaults(cls, data: Any, info: ValidationInfo) -> Any:
        """``port`` follows ``security``; ``maildir`` lives under ``[service] state_dir``."""
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        if "port" not in data and data.get("security", "starttls") in SMTP_PORTS:
            data["port"] = SMTP_PORTS[data.get("security", "starttls")]
        state_dir = (info.context or {}).get("state_dir")
        if "maildir" not in data and state_dir is not None:
            data["maildir"] = Path(state_dir) / "outbox-maildir"
        return data

    @field_validator("port")
    @classmethod
    def _port(cls, value: int) -> int:
        if not 0 < value < 65536:
            raise ValueError("must be a TCP port (1–65535)")
        return value

    @classmethod
    def rules(cls, raw: Mapping[str, Any]) -> list[tuple[str, str]]:
        if raw.get("transport") == "graph":
            return [] if "from" in raw else [("from", 'is required with transport = "graph" (the sending mailbox)')]
        if raw.get("transport") != "smtp":
            return []
        found = [(key, 'is required with transport = "smtp"') for key in ("host", "from") if key not in raw]
        if "username" in raw and "password_file" not in raw:
            found.append(("password_file", "is required when username is set"))
        if "password_file" in raw and "username" not in raw:
            found.append(("username", "is required when password_file is set"))
        host = raw.get("host")
        if (raw.get("security") == "none" and "password_file" in raw and isinstance(host, str)
                and host.strip() and not is_loopback(host)):
            found.append(("security", 'security = "none" would send the SMTP password unencrypted; '
                                      'use "starttls" or "ssl"'))
        return found


class ReportsConfig(SettingsModel):
    """``[reports]``: the anonymity threshold ``k`` and the trend length."""

    k: int = Field(DEFAULT_K, description="a team report needs at least k contributing members; "
                                          "overlapping teams must differ by at least k people (or none)")
    weeks_trend: int = Field(8, gt=0, description="weeks shown in the team report's trend")

    @field_validator("k")
    @classmethod
    def _k(cls, value: int) -> int:
        if value < DEFAULT_K:
            raise ValueError(f"must be at least {DEFAULT_K}: k can be raised, never lowered below the default")
        return value


def _proxy(value: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address or network (e.g. 127.0.0.1 or 10.0.0.0/24)") from None


class PortalConfig(SettingsModel):
    """``[portal]``: the self-service opt-in site (``balanced-calendar serve``)."""

    base_url: Endpoint | None = Field(None, description="the public https address of the portal, e.g. "
                                                        "https://kalender.agency.go.id (redirect URIs and "
                                                        "the digest's one-click unsubscribe link hang off it)")
    listen: NonBlank = Field("127.0.0.1", description="the address the portal listens on (behind a proxy)")
    port: int = Field(8470, gt=0, lt=65536, description="the TCP port the portal listens on")
    trusted_proxies: list[Annotated[str, AfterValidator(_proxy)]] = Field(
        default_factory=list, description="addresses or networks of reverse proxies whose X-Forwarded-For/"
                                          "-Proto/-Host headers are believed (none: the headers are ignored)")
    session_minutes: int = Field(30, gt=0, le=24 * 60, description="a portal sign-in lasts this long")
    signin_per_minute: int = Field(10, gt=0, description="sign-in callbacks allowed per client address "
                                                         "and minute")


class TeamEntry(SettingsModel):
    """One ``[[teams]]`` entry as written (leaders are checked once the people are known)."""

    id: Slug = Field(description="a short slug people refer to with team = ...")
    name: NonBlank | None = Field(None, description="the display name (default: the id)")
    leaders: list[Any] = Field(default_factory=list, description="addresses of [[people]] who receive "
                                                                 "the team report")
    parent: str | None = Field(None, description="the id of the team this one belongs to")


class TeamConfig(TeamEntry):
    """One team, complete: ``members`` and ``leaders`` follow :mod:`balanced_calendar.teams`."""

    name: str
    leaders: tuple[str, ...] = ()
    members: frozenset[str] = frozenset()


def _hhmm_span(value: list[str]) -> tuple[int, int]:
    if len(value) != 2:
        raise ValueError('must be ["HH:MM", "HH:MM"]')
    minutes = []
    for text in value:
        hour, sep, minute = text.partition(":")
        if not (sep and hour.isdigit() and minute.isdigit() and len(minute) == 2
                and 0 <= int(hour) <= 24 and 0 <= int(minute) < 60):
            raise ValueError(f"{text!r} is not a time like 07:30")
        minutes.append(int(hour) * 60 + int(minute))
    if not 0 <= minutes[0] < minutes[1] <= 24 * 60:
        raise ValueError("must end after it starts, within the day")
    return minutes[0], minutes[1]


class PlannerConfig(SettingsModel):
    """``[planner]`` (everyone) or a person's ``planner`` table: focus and recovery blocks.

    Unset keys follow the policy's ``[planner]`` (a person's table: ``[planner]`` first).
    """

    focus: bool | None = Field(None, description="write focus blocks (default true)")
    recovery: bool | None = Field(None, description="write recovery blocks and short breaks (default true)")
    focus_target_minutes: int | None = Field(None, ge=0, le=480,
                                             description="focus minutes to protect per workday (default 120)")
    focus_window: Annotated[tuple[int, int], BeforeValidator(_hhmm_span)] | None = Field(
        None, description='where focus blocks go first, e.g. ["07:30", "11:30"] (default: the policy\'s)')
    google_auto_decline: Literal["off", "new", "all"] | None = Field(
        None, description='Google focus time: decline "new" or "all" invitations over it, or "off" (default)')


class PersonConfig(SettingsModel):
    """One ``[[people]]`` entry; ``timezone`` and ``language`` default to ``[service]``'s.

    ``calendar`` is what the person's provider made of the value (its
    :attr:`~connectors.plugin.Provider.calendar` rule: a calendar id, or for ``ics`` a URL
    or an absolute path).
    """

    email: Address = Field(description="the person's address (stored lower-case)")
    connector: str = Field(description="the provider of their calendar (a [connectors.<name>] name)")
    calendar: str = Field(None, validate_default=True,
                          description='the calendar: a provider calendar id (default "primary"), '
                                      "or what the provider asks for (ics: a URL or a file path)")
    team: str | None = Field(None, description="the id of their team")
    timezone: Zone = Field(DEFAULT_TIMEZONE, description="their zone (default: [service] timezone)")
    language: Language = Field(DEFAULT_LANGUAGE, description="their language (default: [service] language)")
    protect: bool = Field(False, description="write focus and recovery blocks into their calendar")
    digest: bool = Field(True, description="send them the weekly balance digest")
    leader: bool = Field(False, description="also a leader of their team")
    planner: PlannerConfig | None = Field(None, description="their own focus and recovery settings "
                                                            "(keys of [planner])")
    #: the entry itself sets ``timezone`` (else it is ``[service]``'s, and a provider's zone
    #: hint may replace it: docs/architecture.md, "Time zones")
    _zone_fixed: bool = PrivateAttr(default=True)
    #: the keys the entry itself writes (the rest are defaults a portal choice may replace)
    _explicit: frozenset[str] = PrivateAttr(default=frozenset())

    def sets(self, key: str) -> bool:
        """The entry writes ``key`` itself (not a default from ``[service]`` or the schema)."""
        return key in self._explicit

    @property
    def zone_fixed(self) -> bool:
        """The entry sets ``timezone`` itself: it wins over any zone the provider reports."""
        return self._zone_fixed

    @model_validator(mode="wrap")
    @classmethod
    def _remember_zone_source(cls, data: Any, handler: Any) -> Any:
        explicit = not isinstance(data, Mapping) or "timezone" in data
        entry = handler(data)
        entry._zone_fixed = explicit
        entry._explicit = frozenset(data) if isinstance(data, Mapping) else frozenset(type(entry).model_fields)
        return entry

    @model_validator(mode="before")
    @classmethod
    def _service_defaults(cls, data: Any, info: ValidationInfo) -> Any:
        context = info.context or {}
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        for key in ("timezone", "language"):
            if key not in data and key in context:
                data[key] = context[key]
        return data

    @field_validator("connector")
    @classmethod
    def _connector(cls, name: str, info: ValidationInfo) -> str:
        from connectors import known, provider

        if name not in known():
            raise ValueError(f"unknown connector {name!r} (known: {', '.join(known())})")
        sections = (info.context or {}).get("sections")
        if sections is not None and provider(name).needs_section and name not in sections:
            raise ValueError(f"needs a [connectors.{name}] section in this file")
        return name

    @field_validator("calendar", mode="before")
    @classmethod
    def _calendar(cls, value: Any, info: ValidationInfo) -> str:
        from connectors import provider
        from connectors.plugin import default_calendar

        if value is not None and not isinstance(value, str):
            raise ValueError(f"must be str, not {type(value).__name__} {value!r}")
        connector = info.data.get("connector")
        rule = provider(connector).calendar if connector is not None else default_calendar
        return rule(value, config_folder(info))

    @field_validator("team")
    @classmethod
    def _team(cls, team: str | None, info: ValidationInfo) -> str | None:
        ids = (info.context or {}).get("team_ids")
        if team is not None and ids is not None and team not in ids:
            raise ValueError(f"unknown team {team!r}" + team_rules.declared(ids))
        return team

    @classmethod
    def rules(cls, raw: Mapping[str, Any]) -> list[tuple[str, str]]:
        if raw.get("leader") is True and "team" not in raw:
            return [("leader", 'a leader needs a team: set team = "<team id>"')]
        return []


@dataclass(frozen=True)
class Config:
    """The whole validated config file."""

    service: ServiceConfig
    mail: MailConfig
    #: settings of configured sections plus section-less providers (``ics``) that people use
    connectors: Mapping[str, ConnectorSettings]
    people: tuple[PersonConfig, ...]
    teams: tuple[TeamConfig, ...]
    reports: ReportsConfig
    source: Path = field(default=Path("config.toml"))
    planner: PlannerConfig = field(default_factory=lambda: PlannerConfig())
    portal: PortalConfig = field(default_factory=lambda: PortalConfig())

    def person(self, email_address: str) -> PersonConfig | None:
        """The person with this address (case-insensitive), or ``None``."""
        wanted = email_address.lower()
        return next((p for p in self.people if p.email == wanted), None)

    def team(self, team_id: str) -> TeamConfig | None:
        """The team with this id, or ``None``."""
        return next((t for t in self.teams if t.id == team_id), None)

    def __reduce__(self) -> tuple[Any, ...]:
        # picklable for child processes (balanced_calendar.isolate); a mappingproxy is not
        return (_rebuild_config, (self.service, self.mail, dict(self.connectors), self.people, self.teams,
                                  self.reports, self.source, self.planner, self.portal))


def _rebuild_config(service: ServiceConfig, mail: MailConfig, connectors: dict[str, ConnectorSettings],
                    people: tuple[PersonConfig, ...], teams: tuple[TeamConfig, ...], reports: ReportsConfig,
                    source: Path, planner: PlannerConfig | None = None, portal: PortalConfig | None = None) -> Config:
    return Config(service=service, mail=mail, connectors=types.MappingProxyType(connectors), people=people,
                  teams=teams, reports=reports, source=source, planner=planner or PlannerConfig(),
                  portal=portal or PortalConfig())


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
    return _Loader(source, Path(base_dir).absolute()).load(data)


def check_config(path: Path, environ: Mapping[str, str] | None = None) -> list[str]:
    """``balanced-calendar config check``: validate ``path`` and summarise it in human lines.

    Raises :class:`ConfigError` (all problems at once) when the file is not usable, or when
    no usable vault key can be found the way the service looks for it (``environ`` holds
    ``CREDENTIALS_DIRECTORY``; default :data:`os.environ`). The summary carries counts, never
    addresses. Lines starting with ``note:`` are not errors.
    """
    import os

    config = load_config(path)
    s, m = config.service, config.mail
    vault_line, vault_problem = _check_vault_key(s.vault_key_file, os.environ if environ is None else environ)
    if vault_problem:
        raise ConfigError(config.source, [("service.vault_key_file", vault_problem)])
    lines = [f"{config.source}: OK"]
    lines.append(f"  service: state in {s.state_dir}; policy {s.policy}; timezone {s.timezone}; "
                 f"language {s.language}; sync every {s.sync_interval_minutes} min with {s.workers} workers")
    lines.append("  vault key: " + vault_line)
    if m.transport == "smtp":
        lines.append(f"  mail: smtp via {m.host}:{m.port} ({m.security})")
    elif m.transport == "graph":
        lines.append(f"  mail: Microsoft Graph sendMail as {m.sender}")
    else:
        lines.append(f"  mail: maildir {m.maildir}")
    lines.append("  connectors: " + (", ".join(sorted(config.connectors)) or "none"))
    lines.append(f"  people: {len(config.people)} ({sum(p.protect for p in config.people)} with protection, "
                 f"{sum(p.digest for p in config.people)} with digest)")
    enrolled = _enrolled_count(s.state_dir)
    if enrolled is not None:
        lines.append(f"  enrolled: {enrolled} in the store")
    lines.append(f"  teams: {len(config.teams)}; reports need k = {config.reports.k} members")
    if not config.people and not enrolled:
        lines.append("note: no [[people]] configured and nobody enrolled: the service has nothing to audit")
    elif not config.people:
        lines.append(f"note: no [[people]] configured, but {enrolled} enrolled in the store: they are synced "
                     f"with the settings they were enrolled with")
    for team in config.teams:
        if len(team.members) < config.reports.k:
            lines.append(f"note: team {team.id!r} has {len(team.members)} member(s), fewer than "
                         f"k = {config.reports.k}: its report will be suppressed")
        if not team.leaders:
            lines.append(f"note: team {team.id!r} has no leaders: nobody receives its report")
    return lines


def _check_vault_key(key_file: Path | None, environ: Mapping[str, str]) -> tuple[str, str | None]:
    """Where the service would get its vault key, checked as the service loads it (exists,
    mode 0600, parses as a key): ``(summary line, None)``, or ``("", problem)`` when no
    usable key is found. Never shows the key."""
    from balanced_calendar.model import UserError
    from balanced_calendar.vault import CREDENTIAL_NAME, load_key

    creds = environ.get("CREDENTIALS_DIRECTORY")
    credential = Path(creds) / CREDENTIAL_NAME if creds else None
    if key_file is None and (credential is None or not credential.is_file()):
        where = (f"$CREDENTIALS_DIRECTORY/{CREDENTIAL_NAME} ({credential}) is not present" if credential
                 else "$CREDENTIALS_DIRECTORY is not set here")
        return "", (f"no vault key source: without service.vault_key_file the key must come from the systemd "
                    f"credential '{CREDENTIAL_NAME}' (LoadCredential={CREDENTIAL_NAME}:PATH), and {where}; "
                    f"run the check the way the service runs (systemd-run -p LoadCredential=…) or set "
                    f"vault_key_file")
    try:
        load_key(key_file, environ)
    except UserError as exc:
        return "", str(exc).replace("\n  hint: ", "; ")
    if credential is not None and credential.is_file():
        return f"systemd credential '{CREDENTIAL_NAME}' ({credential}): a valid key", None
    return f"{key_file}: a valid key, readable by its owner only", None


def _enrolled_count(state_dir: Path) -> int | None:
    """How many people the store at ``state_dir`` holds, read without writing anything, or
    ``None`` when there is no store yet or it cannot be read."""
    import sqlite3

    from balanced_calendar.store.sqlite.core import DB_NAME

    db = Path(state_dir) / DB_NAME
    if not db.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{db.absolute().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM people").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return None


# -- pydantic errors as key paths ----------------------------------------------------------
def _many(messages: list[str]) -> PydanticCustomError:
    """One field, several problems (a policy file's): expanded again by :func:`_messages`."""
    return PydanticCustomError("many", "{first}", {"first": messages[0], "messages": tuple(messages)})


def _keys(model: type[SettingsModel]) -> dict[str, int]:
    """The TOML keys of ``model`` (aliases, not injected fields) in declaration order."""
    return {info.alias or name: i for i, (name, info) in enumerate(model.model_fields.items())
            if name not in model.injected}


def _nested(model: type[SettingsModel], loc: tuple[str | int, ...]) -> type[SettingsModel] | None:
    """The settings model of the table at ``loc`` inside ``model`` (``None``: ``model`` itself)."""
    inner: type[SettingsModel] | None = None
    for part in loc:
        field_info = (inner or model).model_fields.get(str(part))
        if field_info is None:
            return inner
        found = [t for t in (field_info.annotation, *get_args(field_info.annotation))
                 if isinstance(t, type) and issubclass(t, SettingsModel)]
        if not found:
            return inner
        inner = found[0]
    return inner


def _unknown_key(key: str, allowed: Mapping[str, int] | tuple[str, ...]) -> str:
    if _SECRET_KEY.search(key):
        instead = f"{key}_file" if f"{key}_file" in allowed else "a *_file key"
        return (f"plaintext secrets are not allowed in the config: put the value in a file only the service "
                f"user can read (chmod 600) and name it with {instead}")
    return f"unknown key (allowed: {', '.join(sorted(allowed))})"


def _messages(error: Mapping[str, Any]) -> list[str]:
    """The human message(s) of one pydantic error (never the value of an unknown key)."""
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "many":
        return list(ctx["messages"])
    if kind == "missing":
        return ["is required"]
    if kind == "value_error":
        return [str(ctx["error"])]
    if kind == "literal_error":
        return ["must be one of: " + ", ".join(re.findall(r"'([^']*)'", ctx["expected"]))]
    if kind == "greater_than":
        return [f"must be greater than {ctx['gt']}"]
    if kind == "greater_than_equal":
        return ["must not be negative" if ctx["ge"] == 0 else f"must be at least {ctx['ge']}"]
    if kind in _TYPE_NAMES:
        return [f"must be {_TYPE_NAMES[kind]}, not {type(value).__name__} {value!r}"]
    return [str(error["msg"])]


def _loc_path(path: str, loc: tuple[str | int, ...]) -> str:
    for part in loc:
        path = join(path, part)
    return path


class _Loader:
    """Validates the sections in file order, sharing the problem list and the config folder."""

    def __init__(self, source: str, base_dir: Path) -> None:
        self.source = source
        self.base_dir = base_dir
        self.problems: Problems = []

    def table(self, model: type[M], raw: Any, path: str, *, context: Mapping[str, Any] | None = None,
              inject: Mapping[str, Any] | None = None, extra: Problems = ()) -> M | None:
        """``raw`` validated by ``model``; its problems (plus ``extra`` ones, keyed relative to
        the table) go to :attr:`problems` in key order. ``None`` when the table has problems."""
        if not isinstance(raw, Mapping):
            self.problems.append((path, f"must be a table, not {type(raw).__name__}"))
            return None
        keys = _keys(model)
        written = {key: i for i, key in enumerate(raw)}
        found: list[tuple[tuple[int, int], str, str]] = []  # ((order, position), key path, message)
        data = dict(raw)
        for key in model.injected:
            if key in data:
                found.append(((-1, written[key]), join(path, key), _unknown_key(key, keys)))
                del data[key]
        instance = None
        try:
            instance = model.model_validate({**data, **(inject or {})},
                                            context={"base_dir": self.base_dir, **(context or {})})
        except ValidationError as exc:
            reported: set[tuple[str | int, ...]] = set()
            for error in exc.errors():
                loc = tuple(error["loc"])
                if loc in reported:  # one problem per key (unions report each member)
                    continue
                reported.add(loc)
                if error["type"] == "extra_forbidden":
                    key, inner = str(loc[-1]), _nested(model, loc[:-1])
                    allowed = keys if inner is None else _keys(inner)
                    found.append(((-1, written.get(str(loc[0]), 0)), _loc_path(path, loc), _unknown_key(key, allowed)))
                    continue
                order = keys.get(str(loc[0]), len(keys)) if loc else len(keys)
                found.extend(((order, 0), _loc_path(path, loc), message) for message in _messages(error))
        for key, message in [*model.rules(raw), *extra]:
            found.append(((keys.get(key, len(keys)), 0), join(path, key), message))
        found.sort(key=lambda item: item[0])
        self.problems.extend((where, message) for _, where, message in found)
        return None if found else instance

    def array(self, raw: Any, path: str) -> list[Any]:
        if not isinstance(raw, list):
            self.problems.append((path, f"must be an array of tables ([[{path}]])"))
            return []
        return raw

    # -- the file ----------------------------------------------------------------------
    def load(self, data: Mapping[str, Any]) -> Config:
        for key in data:
            if key not in TOP_KEYS:
                self.problems.append((key, _unknown_key(key, TOP_KEYS)))
        service = self.table(ServiceConfig, data.get("service", {}), "service") or ServiceConfig()
        mail = self.table(MailConfig, data.get("mail", {}), "mail", context={"state_dir": service.state_dir})
        connectors, sections = self.connectors(data.get("connectors", {}))
        if mail is not None and mail.transport == "graph":
            sender = connectors.get("microsoft")
            if "microsoft" not in sections or (sender is not None and getattr(sender, "mode", None) != "app"):
                self.problems.append(("mail.transport", '"graph" sends through the [connectors.microsoft] app '
                                                        'registration: add that section with mode = "app" (and '
                                                        'the Mail.Send application permission)'))
        reports = self.table(ReportsConfig, data.get("reports", {}), "reports")
        planner = self.table(PlannerConfig, data.get("planner", {}), "planner")
        portal = self.table(PortalConfig, data.get("portal", {}), "portal")
        entries, tree = self.teams(data.get("teams", []))
        people, records = self.people(data.get("people", []), service, sections, set(tree))
        teams = self.finish_teams(entries, tree, records, reports.k if reports else DEFAULT_K)
        if self.problems:
            raise ConfigError(self.source, self.problems)
        from connectors import provider

        for name in sorted({p.connector for p in people} - set(connectors)):
            plugin = provider(name)
            if not plugin.needs_section:
                connectors[name] = _import(plugin.settings).model_validate({"name": name})
        assert mail is not None and reports is not None  # no problems were found
        return Config(service=service, mail=mail, connectors=types.MappingProxyType(connectors),
                      people=tuple(people), teams=teams, reports=reports, source=Path(self.source),
                      planner=planner or PlannerConfig(), portal=portal or PortalConfig())

    def connectors(self, raw: Any) -> tuple[dict[str, ConnectorSettings], set[str]]:
        """The ``[connectors.<name>]`` sections, each validated by its provider's schema.

        Returns the valid settings and the names of every known section present.
        """
        from connectors import known, provider

        if not isinstance(raw, Mapping):
            self.problems.append(("connectors", f"must be a table of [connectors.<name>] sections, "
                                                f"not {type(raw).__name__}"))
            return {}, set()
        result: dict[str, ConnectorSettings] = {}
        sections: set[str] = set()
        for name, section in raw.items():
            path = join("connectors", name)
            if name not in known():
                self.problems.append((path, f"unknown connector (known: {', '.join(known())})"))
                continue
            sections.add(name)
            settings = self.table(_import(provider(name).settings), section, path, inject={"name": name})
            if settings is not None:
                result[name] = settings
        return result, sections

    def teams(self, raw: Any) -> tuple[list[tuple[int, TeamEntry]], dict[str, str | None]]:
        """First pass over ``[[teams]]``: entries and the checked tree (id -> parent)."""
        entries: list[tuple[int, TeamEntry]] = []
        parents: dict[str, str | None] = {}
        index: dict[str, int] = {}
        for i, item in enumerate(self.array(raw, "teams")):
            path = join("teams", i)
            team_id = item.get("id") if isinstance(item, Mapping) else None
            valid_id = isinstance(team_id, str) and _SLUG.match(team_id) is not None
            duplicate = valid_id and team_id in index
            extra: Problems = []
            if duplicate:
                extra = [("id", f"duplicate team id {team_id!r} (also teams[{index[team_id]}])")]
            entry = self.table(TeamEntry, item, path, extra=extra)
            if not valid_id or duplicate:
                continue
            index[team_id] = i
            parent = item.get("parent")
            parents[team_id] = parent if isinstance(parent, str) else None
            if entry is not None:
                entries.append((i, entry))
        tree, problems = team_rules.check_parents(parents)
        self.problems.extend((join(join("teams", index[team]), "parent"), message)
                             for team, message in problems)
        return entries, tree

    def people(self, raw: Any, service: ServiceConfig, sections: set[str],
               team_ids: set[str]) -> tuple[list[PersonConfig], list[tuple[str, str | None, bool]]]:
        """``[[people]]``, and ``(email, team, leader)`` of every entry whose address and
        connector are usable (so one bad key of a person does not cascade into team problems)."""
        from connectors import known

        context = {"sections": sections, "team_ids": team_ids, "timezone": service.timezone,
                   "language": service.language}
        people: list[PersonConfig] = []
        records: list[tuple[str, str | None, bool]] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(self.array(raw, "people")):
            address = item.get("email") if isinstance(item, Mapping) else None
            address = address.lower() if isinstance(address, str) and _ADDRESS.match(address) else None
            extra: Problems = []
            if address is not None and address in seen:
                extra = [("email", f"duplicate person (also people[{seen[address]}])")]
                address = None
            elif address is not None:
                seen[address] = i
            person = self.table(PersonConfig, item, join("people", i), context=context, extra=extra)
            if person is not None:
                people.append(person)
            if address is not None and item.get("connector") in known():
                team = item.get("team")
                team = team if isinstance(team, str) and team in team_ids else None
                records.append((address, team, item.get("leader") is True))
        return people, records

    def finish_teams(self, entries: list[tuple[int, TeamEntry]], tree: Mapping[str, str | None],
                     records: list[tuple[str, str | None, bool]], k: int) -> tuple[TeamConfig, ...]:
        """Leaders and members of every team, then the differencing check (docs/privacy.md)."""
        addresses = {address for address, _, _ in records}
        direct: dict[str, set[str]] = {}
        for address, team, _ in records:
            if team is not None:
                direct.setdefault(team, set()).add(address)
        members = team_rules.members(tree, direct)
        teams: list[TeamConfig] = []
        for i, entry in entries:
            listed: list[str] = []
            for j, leader in enumerate(entry.leaders):
                where = join(join(join("teams", i), "leaders"), j)
                if not isinstance(leader, str):
                    self.problems.append((where, f"must be an email address, not {type(leader).__name__} "
                                                 f"{leader!r}"))
                elif leader.lower() not in addresses:
                    self.problems.append((where, f"{leader!r} is not one of the [[people]] in this file"))
                else:
                    listed.append(leader)
            flagged = [address for address, team, leader in records if leader and team == entry.id]
            teams.append(TeamConfig(id=entry.id, name=entry.name or entry.id, parent=tree[entry.id],
                                    leaders=team_rules.leaders(listed, flagged), members=members[entry.id]))
        position = {entry.id: i for i, entry in entries}
        for found in team_rules.differencing({t.id: t.members for t in teams}, k):
            self.problems.append((join("teams", position[found.second]), found.message))
        return tuple(teams)


def _import(target: str) -> type[ConnectorSettings]:
    """The class named by ``"module:Class"`` (a provider's settings schema)."""
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)  # type: ignore[no-any-return]
