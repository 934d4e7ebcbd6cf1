"""The stable id of an own block, carried in the calendar's ownership tag.

``bc-<person pseudonym>-<YYYYMMDD>-<kind>-<slot>``: the same person, date, kind and slot
always give the same id, so a planner run that crashed after a provider write finds the
block it wrote by its tag instead of writing it twice. The id holds no address; a
connector may read the kind from it (e.g. to map focus blocks to a provider's own focus
time) with :func:`parse_block_id`.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

PREFIX = "bc-"


class BlockKey(NamedTuple):
    pseudonym: str
    date: dt.date
    kind: str  # focus | recovery | break
    slot: int


def block_id(pseudonym: str, date: dt.date, kind: str, slot: int) -> str:
    """The id of ``kind`` block number ``slot`` (0-based) of ``date`` for this person."""
    return f"{PREFIX}{pseudonym}-{date:%Y%m%d}-{kind}-{slot}"


def parse_block_id(text: str) -> BlockKey | None:
    """The parts of a block id, or ``None`` when ``text`` is not one."""
    if not text.startswith(PREFIX):
        return None
    head, sep, rest = text[len(PREFIX):].rpartition("-")
    if not sep or not rest.isdigit():
        return None
    head, sep, kind = head.rpartition("-")
    head, sep2, day = head.rpartition("-")
    if not (sep and sep2 and head and kind):
        return None
    try:
        date = dt.datetime.strptime(day, "%Y%m%d").date()
    except ValueError:
        return None
    return BlockKey(head, date, kind, int(rest))
