"""One person's events as parallel arrays: the engine's input (docs/architecture.md, "The engine").

:class:`EventArrays` is the columnar form of the normalised event (docs/architecture.md). A caller that
already holds columns (the store) builds it directly; :func:`events_to_columns` converts
:class:`~balanced_calendar.model.Event` objects for everyone else.

Encoding:

* ``start``/``end``: int64 seconds since the Unix epoch. Timed events: the instant, floored to
  the second. All-day events: the date's UTC midnight (``days since 1970-01-01 * 86400``),
  ``end`` exclusive as in iCalendar.
* ``status``/``response``/``show_as``/``kind``: uint8, the member's position in its enum's
  declaration order (:data:`STATUS_CODE` … :data:`KIND_CODE`); :data:`OTHER` (255) for a value
  that is no member.
* ``all_day``, ``organizer_is_self``: bool; ``others``: int64.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from itertools import compress
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np

from balanced_calendar.model import Event, Kind, Response, ShowAs, Status

#: code of a value that is no member of its enum
OTHER = 255


def _codes(enum: type[Enum]) -> dict[Any, int]:
    return {member: i for i, member in enumerate(enum)}


STATUS_CODE: dict[Any, int] = _codes(Status)
RESPONSE_CODE: dict[Any, int] = _codes(Response)
SHOW_AS_CODE: dict[Any, int] = _codes(ShowAs)
KIND_CODE: dict[Any, int] = _codes(Kind)


@dataclass(frozen=True)
class EventArrays:
    """A person's event instances (timed and all-day) as equal-length arrays (module docstring)."""

    start: np.ndarray              # int64
    end: np.ndarray                # int64
    all_day: np.ndarray            # bool
    status: np.ndarray             # uint8 code
    response: np.ndarray           # uint8 code
    show_as: np.ndarray            # uint8 code
    kind: np.ndarray               # uint8 code
    others: np.ndarray             # int64
    organizer_is_self: np.ndarray  # bool

    def __post_init__(self) -> None:
        n = self.start.size
        if any(getattr(self, name).shape != (n,) for name in self.__dataclass_fields__):
            raise ValueError("EventArrays columns must be one-dimensional and of equal length")

    def __len__(self) -> int:
        return int(self.start.size)

    @classmethod
    def empty(cls) -> EventArrays:
        i64, u8, b = np.empty(0, np.int64), np.empty(0, np.uint8), np.empty(0, bool)
        return cls(i64, i64, b, u8, u8, u8, u8, i64, b)


# --------------------------------------------------------------------------- enums -> codes

_OTHERS_LIMIT = 1 << 23


class _PackedFields(dict[tuple[Any, ...], int]):
    """(status, response, show_as, kind, organizer_is_self, others) -> one packed int, filled on first sight.

    Bits 0–31: the four codes (8 bits each); bit 32: organizer_is_self; bits 40–62: others,
    or the whole of bits 40–63 set when ``others`` does not fit (read separately then).
    """

    def __missing__(self, key: tuple[Any, ...]) -> int:
        status, response, show_as, kind, organizer_is_self, others = key
        fits = isinstance(others, int) and 0 <= others < _OTHERS_LIMIT
        packed = (STATUS_CODE.get(status, OTHER) | RESPONSE_CODE.get(response, OTHER) << 8
                  | SHOW_AS_CODE.get(show_as, OTHER) << 16 | KIND_CODE.get(kind, OTHER) << 24
                  | bool(organizer_is_self) << 32 | (others if fits else 0xFFFFFF) << 40)
        self[key] = packed
        return packed


_PACKED = _PackedFields()
_PACKED_FIELDS = attrgetter("status", "response", "show_as", "kind", "organizer_is_self", "others")
_IS_ALL_DAY = attrgetter("all_day")
_START = attrgetter("start")
_END = attrgetter("end")

# --------------------------------------------------------------------------- datetimes -> epoch

_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_STATE = itemgetter(1)          # datetime.__reduce__() -> (datetime, (state_bytes, tzinfo))
_REDUCE = dt.datetime.__reduce__
#: tzinfo -> (first day since epoch, UTC offset in seconds of every day from it; NaN when it changes)
_DAY_OFFSETS: dict[Any, tuple[int, np.ndarray]] = {}
_MAX_TABLE_DAYS = 40 * 366
#: days since epoch of the first of every month from 1900 to 2199 (index (year - 1900) * 12 + month - 1)
_MONTH_TABLE_YEAR = 1900
_MONTH_START = np.arange(np.datetime64("1900-01"), np.datetime64("2200-01")).astype("datetime64[D]").astype(np.int64)


def _day_offset(tz: dt.tzinfo, day: dt.date) -> float:
    """The UTC offset of ``day`` in ``tz`` in seconds, or NaN when it is not the same all day."""
    first = dt.datetime.combine(day, dt.time(0), tz).utcoffset()
    noon = dt.datetime.combine(day, dt.time(12), tz).utcoffset()
    last = dt.datetime.combine(day, dt.time(23, 59, 59, 999999), tz).utcoffset()
    if first is None or first != last or first != noon or first.microseconds:
        return float("nan")
    return first.total_seconds()


def _offsets(tz: dt.tzinfo, lo: int, hi: int) -> np.ndarray | None:
    """Offsets of days ``lo..hi`` (days since epoch) in ``tz``, from a per-process table."""
    try:
        cached = _DAY_OFFSETS.get(tz)
    except TypeError:  # an unhashable tzinfo: no table
        return None
    first, size = lo, hi - lo + 1
    if cached is not None:
        known, table = cached
        if known <= lo and hi < known + table.size:
            return table[lo - known:hi - known + 1]
        first = min(lo, known)
        size = max(hi, known + table.size - 1) - first + 1
    if size > _MAX_TABLE_DAYS:
        return None
    epoch = dt.date(1970, 1, 1)
    table = np.array([_day_offset(tz, epoch + dt.timedelta(days=d)) for d in range(first, first + size)])
    _DAY_OFFSETS[tz] = (first, table)
    return table[lo - first:hi - first + 1]


def epoch_seconds(values: Sequence[dt.datetime]) -> np.ndarray:
    """``floor(v.timestamp())`` of every aware datetime, as int64, exactly.

    The wall time is read from each datetime's packed state in one pass; the UTC offset comes
    from a per-zone table of whole days with one offset. Instants on a day whose offset changes,
    with ``fold=1``, or in a zone without a table fall back to ``timestamp()``.
    """
    n = len(values)
    if n == 0:
        return np.empty(0, np.int64)
    try:
        raw, zones = zip(*map(_STATE, map(_REDUCE, values)))
    except ValueError:  # a naive datetime (state without tzinfo) slipped in: let timestamp() decide
        return np.floor(np.fromiter(map(dt.datetime.timestamp, values), np.float64, n)).astype(np.int64)
    b = np.frombuffer(b"".join(raw), dtype=np.uint8).reshape(n, 10).astype(np.int64)
    fold = b[:, 2] >= 128
    months = (b[:, 0] * 256 + b[:, 1] - _MONTH_TABLE_YEAR) * 12 + (b[:, 2] & 0x7F) - 1
    if months.min() >= 0 and months.max() < _MONTH_START.size:
        days = _MONTH_START[months] + b[:, 3] - 1
    else:
        days = ((months + (_MONTH_TABLE_YEAR - 1970) * 12).astype("datetime64[M]").astype("datetime64[D]")
                .astype(np.int64) + b[:, 3] - 1)
    wall = days * 86400 + b[:, 4] * 3600 + b[:, 5] * 60 + b[:, 6]
    offset = np.full(n, np.nan)
    if zones.count(zones[0]) == n:  # the common case: one zone (identity is checked first)
        groups: list[tuple[dt.tzinfo, np.ndarray | slice]] = [(zones[0], slice(None))]
    else:
        try:  # a code per distinct zone (zones hash fast: ZoneInfo by identity)
            code_of = {tz: i for i, tz in enumerate(dict.fromkeys(zones))}
            which = np.fromiter(map(code_of.__getitem__, zones), np.int64, n)
            distinct = list(code_of)
        except TypeError:  # an unhashable tzinfo
            ids, first_of, which = np.unique(np.fromiter(map(id, zones), np.int64, n), return_index=True,
                                             return_inverse=True)
            distinct = [zones[i] for i in first_of]
        groups = [(tz, which == k) for k, tz in enumerate(distinct)]
    for tz, mine in groups:
        mine_days = days[mine]
        lo = int(mine_days.min())
        table = _offsets(tz, lo, int(mine_days.max()))
        if table is not None:
            offset[mine] = table[mine_days - lo]
    out = wall - np.nan_to_num(offset).astype(np.int64)
    for i in np.flatnonzero(np.isnan(offset) | fold).tolist():
        out[i] = int(np.floor(values[i].timestamp()))
    return out


# --------------------------------------------------------------------------- events -> arrays

def events_to_columns(events: Sequence[Event]) -> EventArrays:
    """The :class:`EventArrays` of ``events``, in their order (C-level passes, no per-event Python)."""
    n = len(events)
    if n == 0:
        return EventArrays.empty()
    events = list(events)
    all_day = np.fromiter(map(_IS_ALL_DAY, events), bool, n)
    start = np.empty(n, np.int64)
    end = np.empty(n, np.int64)
    if all_day.any():
        timed = list(compress(events, (~all_day).tolist()))
        whole = list(compress(events, all_day.tolist()))
        day = dt.date.toordinal
        start[all_day] = (np.fromiter(map(day, map(_START, whole)), np.int64, len(whole)) - _EPOCH_ORDINAL) * 86400
        end[all_day] = (np.fromiter(map(day, map(_END, whole)), np.int64, len(whole)) - _EPOCH_ORDINAL) * 86400
    else:
        timed = events
    both = epoch_seconds([*map(_START, timed), *map(_END, timed)])  # one pass for starts and ends
    start[~all_day], end[~all_day] = both[:len(timed)], both[len(timed):]
    packed = np.fromiter(map(_PACKED.__getitem__, map(_PACKED_FIELDS, events)), np.uint64, n)
    codes = packed.astype(np.uint32).view(np.uint8).reshape(n, 4)  # little-endian bytes of bits 0-31
    if np.little_endian is False:  # pragma: no cover - big-endian hosts
        codes = codes[:, ::-1]
    others = (packed >> np.uint64(40)).astype(np.int64)
    if (others == 0xFFFFFF).any():
        others = np.fromiter(map(attrgetter("others"), events), np.int64, n)
    return EventArrays(
        start=start, end=end, all_day=all_day,
        status=codes[:, 0].copy(), response=codes[:, 1].copy(), show_as=codes[:, 2].copy(), kind=codes[:, 3].copy(),
        others=others, organizer_is_self=(packed >> np.uint64(32) & np.uint64(1)).astype(bool),
    )
