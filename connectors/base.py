"""The one abstract connector every provider implements (STYLE.md §1).

Capabilities are class attributes; the guards that depend on them (a read-only
connector refuses writes, a connector only touches its own blocks) live here once.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from typing import ClassVar

from balanced_calendar.model import Event, Kind, ReadOnlyConnector, Window


class Connector(ABC):
    """Reads one person's calendar; writes that person's own blocks where allowed.

    Subclasses implement :meth:`read` and, when ``supports_write``, the ``_create``,
    ``_update`` and ``_delete`` hooks. Errors are raised as the typed errors of
    :mod:`balanced_calendar.model.errors` (``AuthExpired``, ``RateLimited``,
    ``ProviderError``, ``InputError``), never returned as ``None``.
    """

    #: registry name, e.g. "ics"
    name: ClassVar[str]
    #: the provider can hold writes at all (an ICS file or URL cannot)
    supports_write: ClassVar[bool] = False
    #: the provider offers incremental change feeds (sync tokens, ctag/etag)
    supports_incremental: ClassVar[bool] = False
    #: reading is dominated by local parsing, not network waits: sync runs :meth:`read` in a
    #: worker process (the instance must then be picklable before its first read)
    cpu_bound: ClassVar[bool] = False

    def __init__(self, *, owner: str | None = None, calendar: str = "primary",
                 allow_write: bool = False) -> None:
        self.owner = owner.lower() if owner else None
        self.calendar = calendar
        self._allow_write = allow_write

    @property
    def read_only(self) -> bool:
        """True when this instance may not write: provider cannot, or the person did not allow it."""
        return not (self.supports_write and self._allow_write)

    @abstractmethod
    def read(self, window: Window, tz: dt.tzinfo) -> list[Event]:
        """Every event instance overlapping ``window``, normalised (DESIGN.md §3).

        ``tz`` is the person's zone, used for floating times and all-day dates.
        """

    # -- own blocks ------------------------------------------------------------------
    def create_block(self, block: Event) -> Event:
        """Write a new own block; returns it as stored (provider id filled in)."""
        self._check_writable(block)
        return self._create(block)

    def update_block(self, block: Event) -> Event:
        self._check_writable(block)
        return self._update(block)

    def delete_block(self, block: Event) -> None:
        self._check_writable(block)
        self._delete(block)

    def _check_writable(self, block: Event) -> None:
        if self.read_only:
            raise ReadOnlyConnector(
                f"the {self.name} connector for this person is read-only",
                hint="enroll with --protect on a provider that supports writing",
            )
        if block.kind is not Kind.OWN_BLOCK:
            raise ReadOnlyConnector("balanced-calendar only writes its own blocks")

    # Write hooks: a connector with ``supports_write = True`` overrides all three. The guard
    # above keeps read-only connectors from ever reaching these defaults.
    def _create(self, block: Event) -> Event:
        raise self._missing_hook("_create")

    def _update(self, block: Event) -> Event:
        raise self._missing_hook("_update")

    def _delete(self, block: Event) -> None:
        raise self._missing_hook("_delete")

    def _missing_hook(self, hook: str) -> TypeError:
        return TypeError(f"{type(self).__name__} declares supports_write but does not define {hook}()")

    def close(self) -> None:
        """Release sessions and files. Safe to call twice."""

    def __enter__(self) -> Connector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
