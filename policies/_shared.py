"""Helpers shared by the rule modules."""

from __future__ import annotations

import numpy as np


def minutes(seconds: np.ndarray | int | float) -> np.ndarray:
    """Whole minutes, rounded half up (events are minute-aligned in practice)."""
    return (np.asarray(seconds, dtype=np.int64) + 30) // 60
