"""Writes a :class:`~balanced_calendar.planner.reconcile.Diff` through the Connector interface only.

Order of writes, so that a crash at any point never leaves a duplicate or a lost block:

* create and move: the calendar first, then the store. A crash in between leaves a block
  the next run finds by its tag, exactly as wanted, and adopts without writing;
* delete: the store first, then the calendar. A crash in between leaves a block with no
  record that is not wanted: the next run deletes it.

How an own block looks in a provider (Google ``eventType=focusTime``, a Graph extended
property, ``X-BALANCED-CALENDAR-ID``) is the connector's business: the planner hands it an
:class:`~balanced_calendar.model.Event` of kind ``own_block`` with a title and no one else
in it, so nobody is invited and nobody is notified.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from balanced_calendar.model import Conflict, Event, Kind, NotOurs, Response, ShowAs, UserError
from balanced_calendar.planner.reconcile import Change, Diff
from balanced_calendar.store import BlockStore, OwnBlock
from connectors.base import Connector

log = logging.getLogger(__name__)


class TooManyDeletes(UserError):
    """A run would delete more of one person's blocks than the guard allows."""


@dataclass(frozen=True)
class Applied:
    """What a run wrote: per op the number done; ``skipped`` changes the calendar refused."""

    done: dict[str, int]
    skipped: int = 0


def check_guard(diff: Diff, pseudonym: str, limit: int, force: bool) -> None:
    """Raises :class:`TooManyDeletes` when ``diff`` deletes more than ``limit`` blocks, unless ``force``."""
    if diff.deletes > limit and not force:
        raise TooManyDeletes(
            f"planning {pseudonym} would delete {diff.deletes} of their blocks (more than {limit}); "
            f"nothing was written",
            hint="check the calendar and the config; run `balanced-calendar plan --apply --force` to go ahead")


def _record(email: str, change: Change, tz: dt.tzinfo, provider_id: str, etag: str | None,
            state: str = "active") -> OwnBlock:
    return OwnBlock(email=email, block_id=change.block_id, date=change.date,
                    start=dt.datetime.fromtimestamp(change.start, tz), end=dt.datetime.fromtimestamp(change.end, tz),
                    kind=change.kind, provider_id=provider_id, state=state, title=change.title,  # type: ignore[arg-type]
                    etag=etag)


def apply_diff(diff: Diff, connector: Connector, store: BlockStore, *, email: str, pseudonym: str,
               tz: dt.tzinfo, limit: int, force: bool = False) -> Applied:
    """Write ``diff`` (see the module doc for the order). Raises :class:`TooManyDeletes`
    before any write when the guard stops it; a block the user changed meanwhile
    (:class:`Conflict`) is marked edited and left alone; an event that is not ours
    (:class:`NotOurs`) is never touched."""
    check_guard(diff, pseudonym, limit, force)
    done = {op: 0 for op in ("create", "move", "delete", "adopt", "tombstone", "edited")}
    skipped = 0
    for change in diff.changes:
        try:
            if change.op == "create":
                ref = connector.create_block(_event(change, tz, connector.calendar))
                store.upsert_own_block(_record(email, change, tz, ref.provider_id, ref.etag))
            elif change.op == "move":
                assert change.ref is not None
                ref = connector.update_block(_event(change, tz, connector.calendar), change.ref)
                store.upsert_own_block(_record(email, change, tz, ref.provider_id, ref.etag))
            elif change.op == "delete":
                assert change.ref is not None
                if change.reason != "duplicate":
                    store.remove_own_block(email, change.block_id)
                connector.delete_block(change.ref)
            elif change.op == "adopt":
                assert change.ref is not None
                store.upsert_own_block(_record(email, change, tz, change.ref.provider_id, change.ref.etag))
            elif change.op == "tombstone":
                store.add_tombstone(email, change.block_id, change.date)
                store.remove_own_block(email, change.block_id)
            elif change.op == "edited":
                assert change.ref is not None
                store.upsert_own_block(_record(email, change, tz, change.ref.provider_id, change.ref.etag,
                                               state="edited_by_user"))
            done[change.op] += 1
        except Conflict:
            skipped += 1
            log.info("%s: block %s changed in the calendar meanwhile; left alone", pseudonym, change.op)
            if change.ref is not None:
                store.upsert_own_block(_record(email, change, tz, change.ref.provider_id, change.ref.etag,
                                               state="edited_by_user"))
        except NotOurs:
            skipped += 1
            log.warning("%s: an event at a block's place is not ours; left untouched", pseudonym)
    return Applied(done, skipped)


def _event(change: Change, tz: dt.tzinfo, calendar: str) -> Event:
    """The own block ``change`` writes: busy, the owner alone, no one invited."""
    return Event(uid=change.block_id, start=dt.datetime.fromtimestamp(change.start, tz),
                 end=dt.datetime.fromtimestamp(change.end, tz), response=Response.ORGANIZER,
                 show_as=ShowAs.BUSY, kind=Kind.OWN_BLOCK, others=0, organizer_is_self=True,
                 calendar=calendar, title=change.title)
