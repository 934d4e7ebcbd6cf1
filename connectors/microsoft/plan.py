"""Graph requests planned for a sync in app mode, sent 20 to a JSON ``$batch`` on first use.

:func:`connectors.microsoft.connector.prefetch` plans, for each person of a sync, the first
request their read is about to make (the delta poll from the stored link, or the first
delta page) and their mailbox settings when a zone lookup is due. The planned requests are
cut into groups of 20 in the sync's order. The first read that needs an answer of a group
sends the group's batch (one HTTP request holding one slot of each mailbox in it); the
group's other readers wait for it and take their own answers. So answers are fetched while
the sync works through the group (never all of a first sync's pages at once), each is taken
once, and only for the exact URL that was planned: anything else is asked for directly. A
group whose batch fails leaves its people to ask for themselves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.microsoft.auth import AppTokens, reenroll_hint
from connectors.microsoft.http import BATCH_LIMIT, Answer, Call, GraphClient, build_session
from connectors.microsoft.settings import MicrosoftSettings

log = logging.getLogger(__name__)

#: (Graph root, mailbox in lower case, what: ``"delta"`` or ``"mailbox"``)
Key = tuple[str, str, str]


@dataclass(frozen=True)
class Planned:
    """One planned request: ``call.url`` is absolute."""

    key: Key
    call: Call


class Group:
    """Up to 20 planned requests, sent as one batch when the first of them is taken."""

    def __init__(self, settings: MicrosoftSettings, http: Callable[[], Any] | None, planned: Sequence[Planned],
                 sleep: Callable[[float], None]) -> None:
        self.settings, self.http, self.planned, self.sleep = settings, http, list(planned), sleep
        self._lock = threading.Lock()
        self._answers: dict[Key, Answer] | None = None

    def take(self, key: Key) -> Answer | None:
        with self._lock:  # the first taker sends the batch, the others wait for its answers
            if self._answers is None:
                self._answers = self._fetch()
            return self._answers.pop(key, None)

    def _fetch(self) -> dict[Key, Answer]:
        session = build_session(self.settings, self.http)
        mailbox = self.planned[0].call.mailbox
        try:
            graph = GraphClient(self.settings, session, AppTokens(self.settings, session, mailbox),
                                reenroll=reenroll_hint(mailbox, "app"), sleep=self.sleep)
            answers = graph.batch([p.call for p in self.planned])
        except Exception as exc:  # noqa: BLE001 - each person then asks for themselves
            log.warning("a batch of %d Graph requests failed (%s); reading those calendars one by one",
                        len(self.planned), getattr(exc, "public", type(exc).__name__))
            return {}
        finally:
            session.close()
        return {p.key: answer for p, answer in zip(self.planned, answers)}


_PLAN: dict[Key, tuple[Planned, Group]] = {}
_PLAN_LOCK = threading.Lock()


def plan(settings: MicrosoftSettings, http: Callable[[], Any] | None, planned: Sequence[Planned], *,
         sleep: Callable[[float], None] = time.sleep) -> None:
    """Plan ``planned`` (replacing what an earlier sync planned for the same keys)."""
    with _PLAN_LOCK:
        for at in range(0, len(planned), BATCH_LIMIT):
            chunk = planned[at:at + BATCH_LIMIT]
            group = Group(settings, http, chunk, sleep)
            for item in chunk:
                _PLAN[item.key] = (item, group)


def take(key: Key, url: str) -> Answer | None:
    """The planned answer for ``key`` if ``url`` (absolute) is what was planned, else ``None``."""
    with _PLAN_LOCK:
        entry = _PLAN.pop(key, None)
    if entry is None or entry[0].call.url != url:
        return None
    return entry[1].take(key)


def discard(keys: Sequence[Key]) -> None:
    """Forget what was planned for ``keys`` (a read that did not need it)."""
    with _PLAN_LOCK:
        for key in keys:
            _PLAN.pop(key, None)
