"""Vectorised interval arithmetic on int64 epoch seconds (half-open ``[start, end)``)."""

from __future__ import annotations

import numpy as np

I64 = np.int64


def union(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge overlapping or touching intervals; returns sorted, disjoint intervals."""
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    if starts.size == 0:
        return starts.astype(I64), ends.astype(I64)
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    reach = np.maximum.accumulate(ends)
    new = np.empty(starts.size, dtype=bool)
    new[0] = True
    new[1:] = starts[1:] > reach[:-1]
    first = np.flatnonzero(new)
    merged_end = np.maximum.reduceat(ends, first)
    return starts[first], merged_end


def split_by_day(starts: np.ndarray, ends: np.ndarray, bounds: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut intervals at day boundaries.

    ``bounds`` holds the n+1 local midnights of n days. Returns ``(day, piece_start,
    piece_end, source)`` for every non-empty piece inside the range, ``source`` indexing
    the input interval. Pieces keep the input order.
    """
    n_days = bounds.size - 1
    s = np.maximum(starts, bounds[0])
    e = np.minimum(ends, bounds[-1])
    valid = np.flatnonzero(e > s)
    s, e = s[valid], e[valid]
    first = np.searchsorted(bounds, s, side="right") - 1
    last = np.searchsorted(bounds, e, side="left") - 1
    count = last - first + 1
    source = np.repeat(valid, count)
    offsets = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    day = np.repeat(first, count) + offsets
    piece_start = np.maximum(np.repeat(s, count), bounds[day])
    piece_end = np.minimum(np.repeat(e, count), bounds[np.minimum(day + 1, n_days)])
    return day, piece_start, piece_end, source


def overlap(a_start: np.ndarray, a_end: np.ndarray, b_start: np.ndarray, b_end: np.ndarray) -> np.ndarray:
    """Element-wise length of ``[a) ∩ [b)`` (0 when disjoint)."""
    return np.clip(np.minimum(a_end, b_end) - np.maximum(a_start, b_start), 0, None)


def gaps(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The complement of sorted disjoint intervals, with open ends at ±2**62."""
    big = np.array([2**62], dtype=I64)
    return np.concatenate([-big, ends]), np.concatenate([starts, big])


def intersect_sorted(seg_start: np.ndarray, seg_end: np.ndarray, iv_start: np.ndarray, iv_end: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intersect each segment with sorted disjoint intervals.

    Returns ``(segment_index, start, end)`` of every non-empty intersection.
    """
    lo = np.searchsorted(iv_end, seg_start, side="right")
    hi = np.searchsorted(iv_start, seg_end, side="left")
    count = np.clip(hi - lo, 0, None)
    seg = np.repeat(np.arange(seg_start.size), count)
    offsets = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    idx = np.repeat(lo, count) + offsets
    start = np.maximum(iv_start[idx], seg_start[seg])
    end = np.minimum(iv_end[idx], seg_end[seg])
    keep = end > start
    return seg[keep], start[keep], end[keep]
