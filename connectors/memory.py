"""An honest in-memory connector: the fake for planner, digest and report tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import ClassVar

from balanced_calendar.model import Event, Window

from connectors.base import Connector


def _as_instant(value: dt.datetime | dt.date, tz: dt.tzinfo) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time(), tzinfo=tz)


class MemoryConnector(Connector):
    """Holds events in a dict by uid; supports writing own blocks."""

    name: ClassVar[str] = "memory"
    supports_write: ClassVar[bool] = True

    def __init__(self, events: Iterable[Event] = (), **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.events: dict[str, Event] = {e.uid: e for e in events}

    def read(self, window: Window, tz: dt.tzinfo) -> list[Event]:
        return [
            e for e in self.events.values()
            if _as_instant(e.start, tz) < window.end and _as_instant(e.end, tz) > window.start
        ]

    def _create(self, block: Event) -> Event:
        if block.uid in self.events:
            raise ValueError(f"block {block.uid!r} already exists")
        self.events[block.uid] = block
        return block

    def _update(self, block: Event) -> Event:
        self.events[block.uid] = block
        return block

    def _delete(self, block: Event) -> None:
        self.events.pop(block.uid, None)


from connectors.plugin import Provider  # noqa: E402  (the plug-in is one appended block)

PROVIDER = Provider(
    name="memory", connector="connectors.memory:MemoryConnector",
    factory=lambda ctx: MemoryConnector(owner=ctx.person.email, calendar=ctx.person.calendar,
                                        allow_write=ctx.person.protect),
    description="events held in memory: the honest fake for tests and demos")
