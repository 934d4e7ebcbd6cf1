"""What a provider plug-in is: one object per provider, found through the lazy registry.

A provider module (``connectors/ics.py``, later ``connectors/google/…``) exposes one
``PROVIDER = Provider(...)``. The core never names a provider: the config loader asks the
plug-in for its settings schema and its person-calendar rule, the runtime asks it for a
connector, enrollment asks it for its enrollment flow. Adding a provider is one module plus
one line in :data:`connectors.REGISTRY`.

This module imports only the standard library (it is loaded by every parser worker).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from balanced_calendar.model import Window
    from connectors.base import Connector

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Credentials(Protocol):
    """One person's secrets for one provider, encrypted at rest by the core's vault."""

    def get(self) -> dict[str, Any]:
        """The stored secret mapping (``{}`` when nothing is stored)."""

    def put(self, secret: Mapping[str, Any]) -> None:
        """Replace the stored secret (e.g. a refreshed token)."""


class MemoryCredentials:
    """Credentials held in a dict: for tests and one-off ``audit`` runs."""

    def __init__(self, secret: Mapping[str, Any] | None = None) -> None:
        self.secret: dict[str, Any] = dict(secret or {})

    def get(self) -> dict[str, Any]:
        return dict(self.secret)

    def put(self, secret: Mapping[str, Any]) -> None:
        self.secret = dict(secret)


@dataclass(frozen=True)
class PersonRef:
    """What a connector may know of the person it reads: no consent, no team.

    ``zone_fixed``: the config sets this person's ``timezone``, so a zone hint from the
    provider (``ChangeSet.zone``) is not wanted and the connector may skip looking it up.
    ``focus_auto_decline``: the person's planner ``google_auto_decline`` (``"off"``,
    ``"new"`` or ``"all"``): what a provider with its own focus time (Google) does with
    invitations over their focus blocks. Other providers ignore it.
    """

    email: str
    calendar: str
    timezone: str
    protect: bool = False
    zone_fixed: bool = False
    focus_auto_decline: str = "off"


@dataclass(frozen=True)
class Context:
    """Everything a factory gets: the seams are parameters.

    ``settings`` is the provider's validated ``[connectors.<name>]`` section (an instance of
    :attr:`Provider.settings`); ``http`` builds an HTTP session when the provider needs one
    (``None``: the provider's own default); ``clock`` tells the time.
    """

    settings: Any
    person: PersonRef
    credentials: Credentials
    http: Callable[[], Any] | None = None
    clock: Clock = utc_now


@dataclass(frozen=True)
class PlannedRead:
    """A read a sync is about to make: ``read_changes(window, tz, state)`` for ``context``."""

    context: Context
    window: Window
    tz: dt.tzinfo
    state: str | None


@dataclass(frozen=True)
class EnrollInput:
    """What the person or operator said at enrollment (CLI flags or web form)."""

    email: str
    settings: Any
    calendar: str | None = None
    protect: bool = False
    #: prints a line for the operator (interactive flows show URLs and codes through it)
    echo: Callable[[str], None] = print
    http: Callable[[], Any] | None = None
    clock: Clock = utc_now
    #: an interactive sign-in may open a browser (``False``: only print the address)
    open_browser: bool = True


@dataclass(frozen=True)
class Enrolled:
    """The outcome of an enrollment flow: what the core records.

    ``calendar`` is the provider calendar id (or, for file-like providers, the source that
    :attr:`Provider.secret_calendar` keeps in the vault); ``secret`` goes to the vault only;
    ``scopes`` are the provider scopes actually granted (recorded with the consent).
    """

    calendar: str
    secret: Mapping[str, Any] = field(default_factory=dict)
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuthStart:
    """The first half of an authorization-code flow: send the browser to ``url``.

    The caller keeps ``state`` and ``verifier`` (PKCE) in its session until the callback.
    """

    url: str
    state: str
    verifier: str


class Enrollment(Protocol):
    """A provider's opt-in flow, with three entry points (CLI, unattended, web)."""

    def interactive(self, req: EnrollInput) -> Enrolled:
        """CLI opt-in: may open a browser or print a URL/code through ``req.echo``."""

    def unattended(self, req: EnrollInput) -> Enrolled:
        """``--yes`` for domain-wide or application modes, where no person signs in.

        Raises :class:`~balanced_calendar.model.UserError` when the mode needs a sign-in.
        """

    def start(self, req: EnrollInput, redirect_uri: str) -> AuthStart:
        """Web opt-in, step 1: the authorization URL with ``state`` and PKCE."""

    def finish(self, req: EnrollInput, redirect_uri: str, params: Mapping[str, str],
               state: str, verifier: str) -> Enrolled:
        """Web opt-in, step 2: check ``state``, exchange the code for tokens."""


def default_calendar(value: str | None, base_dir: Path) -> str:
    """A provider calendar id: the value as given, ``primary`` when not set."""
    if value is not None and not value.strip():
        raise ValueError("must not be empty")
    return value or "primary"


@dataclass(frozen=True)
class Provider:
    """One provider plug-in.

    - ``connector``: ``"module:Class"`` of its :class:`~connectors.base.Connector`, imported on
      first use (``None`` while the provider has settings but no connector in this version);
    - ``factory``: builds a connector for one person from a :class:`Context`;
    - ``settings``: ``"module:Class"`` of its settings schema (a pydantic model deriving from
      :class:`connectors.settings.ConnectorSettings`), imported lazily by the config loader;
    - ``needs_section``: people using it need a ``[connectors.<name>]`` section;
    - ``calendar``: turns a ``[[people]]`` ``calendar`` value into the stored one, or raises
      ``ValueError`` with the problem (resolved against the config folder);
    - ``secret_calendar``: the calendar value is a secret (a published URL): the store keeps
      only :attr:`name` as the calendar key and the value lives in the vault;
    - ``enrollment``: its opt-in flow, ``None`` when people are only configured;
    - ``zone_hints``, ``prefetch``: see the attributes.
    """

    name: str
    connector: str | None
    factory: Callable[[Context], Connector] | None = None
    settings: str = "connectors.settings:ConnectorSettings"
    needs_section: bool = False
    calendar: Callable[[str | None, Path], str] = default_calendar
    secret_calendar: bool = False
    enrollment: Enrollment | None = None
    description: str = ""
    #: its connector reports the person's zone from the provider's settings
    #: (``ChangeSet.zone``); for people whose config entry sets no ``timezone`` that zone
    #: is kept instead of ``[service] timezone``
    zone_hints: bool = False
    #: called once per sync with the reads about to happen for all its people, before any
    #: of them starts: a provider may warm what its connectors will ask for through batch
    #: requests (first reads, change-feed polls or settings of many people in one HTTP
    #: batch). It must not raise for one person's problem: that person's own read reports it.
    prefetch: Callable[[Sequence[PlannedRead]], None] | None = None

    @property
    def available(self) -> bool:
        """People can be enrolled with it in this version."""
        return self.connector is not None and self.factory is not None

    def calendar_key(self, calendar: str) -> str:
        """The calendar name the store keys events and sync state by (never a secret)."""
        return self.name if self.secret_calendar else calendar
