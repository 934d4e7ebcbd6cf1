"""Pure: desired blocks vs the own blocks found in the calendar -> what to write (docs/planner.md).

The calendar is the truth: own blocks are found there by their tag (the stable block id),
the store only remembers what the planner last wrote there (to tell the user's edits from
its own) and which blocks the user deleted (tombstones). Rules, per block id:

* only **future** blocks are touched: a block that has started is left as it is;
* a block the user **edited** (its time or title is neither what the planner last wrote nor
  what it wants now) is left alone from then on;
* a block the planner wrote that is gone from the calendar was **deleted by the user**: a
  tombstone keeps it from being written again for that date;
* several blocks with one id (a write repeated after a crash) keep one, the rest go;
* a block found with no record but exactly as wanted is **adopted** (no write).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from balanced_calendar.model import BlockRef, Event, Kind
from balanced_calendar.model.blockid import parse_block_id
from balanced_calendar.planner.desired import Desired
from balanced_calendar.store import OwnBlock

Content = tuple[int, int, str | None]


@dataclass(frozen=True, slots=True)
class Found:
    """An own block as the calendar holds it (from ``Connector.read``)."""

    block_id: str
    start: int
    end: int
    title: str | None
    ref: BlockRef

    @classmethod
    def of(cls, event: Event) -> Found:
        assert event.ref is not None and isinstance(event.start, dt.datetime) and isinstance(event.end, dt.datetime)
        return cls(event.uid, int(event.start.timestamp()), int(event.end.timestamp()), event.title, event.ref)

    @property
    def content(self) -> Content:
        return (self.start, self.end, self.title)


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of a diff. ``op``: create | move | delete | adopt | tombstone | edited."""

    op: str
    block_id: str
    date: dt.date
    kind: str
    start: int  # what will be (create, move, adopt) or what is (delete, tombstone, edited)
    end: int
    title: str | None = None
    #: the block in the calendar (move, delete, adopt, edited)
    ref: BlockRef | None = None
    #: where it was before a move
    was: tuple[int, int] | None = None
    reason: str = ""


@dataclass(frozen=True)
class Diff:
    """What one run does for one person; ``unchanged`` blocks are already as wanted."""

    changes: tuple[Change, ...] = ()
    unchanged: int = 0
    #: own blocks nobody may move (started, or edited by the user): new blocks avoid them
    kept: tuple[tuple[int, int], ...] = field(default=())

    def of(self, op: str) -> list[Change]:
        return [c for c in self.changes if c.op == op]

    @property
    def writes(self) -> int:
        """Write requests to the calendar this diff makes."""
        return sum(1 for c in self.changes if c.op in ("create", "move", "delete"))

    @property
    def deletes(self) -> int:
        return sum(1 for c in self.changes if c.op == "delete")

    def counts(self) -> dict[str, int]:
        ops = ("create", "move", "delete", "adopt", "tombstone", "edited")
        return {op: len(self.of(op)) for op in ops} | {"unchanged": self.unchanged}


def own_blocks_of(events: Iterable[Event], pseudonym: str) -> list[Found]:
    """The own blocks of ``pseudonym`` among ``events`` (other people's blocks are not ours)."""
    found = []
    for event in events:
        if event.kind is not Kind.OWN_BLOCK or event.ref is None or event.all_day:
            continue
        key = parse_block_id(event.uid)
        if key is not None and key.pseudonym == pseudonym:
            found.append(Found.of(event))
    return found


def _kind(block_id: str) -> tuple[dt.date, str]:
    key = parse_block_id(block_id)
    assert key is not None
    return key.date, key.kind


def reconcile(desired: Sequence[Desired], found: Sequence[Found], records: Sequence[OwnBlock],
              tombstones: set[tuple[str, dt.date]], *, now: int, read_start: int, read_end: int,
              title: Callable[[str], str]) -> Diff:
    """The diff that brings the calendar to ``desired`` under the rules of the module doc.

    ``found``: own blocks read from the calendar over ``[read_start, read_end)``; ``records``:
    what the store remembers of them; ``title(kind)``: the localised title of a kind.
    """
    wanted = {d.block_id: d for d in desired}
    stored = {r.block_id: r for r in records}
    by_id: dict[str, list[Found]] = {}
    for block in sorted(found, key=lambda f: (f.start, f.ref.provider_id)):
        by_id.setdefault(block.block_id, []).append(block)
    changes: list[Change] = []
    kept: list[tuple[int, int]] = []
    unchanged = 0

    def want(d: Desired) -> Content:
        return (d.start, d.end, title(d.kind))

    for bid, blocks in by_id.items():
        date, kind = _kind(bid)
        record = stored.get(bid)
        primary = next((b for b in blocks if record is not None and b.ref.provider_id == record.provider_id),
                       blocks[0])
        for extra in blocks:
            if extra is not primary and extra.start > now:
                changes.append(Change("delete", bid, date, kind, extra.start, extra.end, extra.title, extra.ref,
                                      reason="duplicate"))
        if primary.start <= now:
            kept.append((primary.start, primary.end))
            continue
        if record is not None and record.state == "edited_by_user":
            kept.append((primary.start, primary.end))
            continue
        d = wanted.get(bid)
        recorded = None if record is None else (int(record.start.timestamp()), int(record.end.timestamp()),
                                                record.title)
        ours = recorded is None or primary.content == recorded or (d is not None and primary.content == want(d))
        if not ours or (bid, date) in tombstones:
            kept.append((primary.start, primary.end))
            if record is None or record.state == "active":
                changes.append(Change("edited", bid, date, kind, primary.start, primary.end, primary.title,
                                      primary.ref, reason="changed in the calendar"))
            continue
        if d is None:
            changes.append(Change("delete", bid, date, kind, primary.start, primary.end, primary.title,
                                  primary.ref, reason="no longer fits"))
        elif primary.content == want(d):
            if record is None or record.provider_id != primary.ref.provider_id or record.etag != primary.ref.etag \
                    or recorded != want(d):
                changes.append(Change("adopt", bid, date, kind, d.start, d.end, title(kind), primary.ref,
                                      reason="found in the calendar"))
            else:
                unchanged += 1
        else:
            changes.append(Change("move", bid, date, kind, d.start, d.end, title(kind), primary.ref,
                                  was=(primary.start, primary.end)))

    for bid, record in stored.items():
        if bid in by_id or record.state != "active":
            continue
        start, end = int(record.start.timestamp()), int(record.end.timestamp())
        if start > now and read_start <= start < read_end:
            changes.append(Change("tombstone", bid, record.date, record.kind, start, end, record.title,
                                  reason="deleted in the calendar"))

    for bid, d in wanted.items():
        record = stored.get(bid)
        if bid in by_id or (bid, d.date) in tombstones or d.start <= now:
            continue
        if record is not None and (record.state != "active" or read_start <= int(record.start.timestamp()) < read_end):
            continue  # edited, deleted, or just found deleted above
        changes.append(Change("create", bid, d.date, d.kind, d.start, d.end, title(d.kind)))
    changes.sort(key=lambda c: (c.start, c.block_id, c.op))
    return Diff(tuple(changes), unchanged, tuple(sorted(kept)))
