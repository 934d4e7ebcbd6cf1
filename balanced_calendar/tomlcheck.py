"""Validate TOML tables completely: collect every problem with its key path, then raise once.

Used by the policy loader (unknown keys are errors, every problem is reported at
once). The service config validates with pydantic and borrows only :func:`load_toml` and
:func:`join` from here.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from balanced_calendar.model import ConfigError

T = TypeVar("T")
_MISSING: Any = object()
_HHMM = re.compile(r"^(\d{2}):(\d{2})$")


def load_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file; a missing file or a syntax error is a :class:`ConfigError`."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(path), [("", "file not found")]) from None
    except PermissionError:
        raise ConfigError(str(path), [("", "permission denied")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [("", f"not valid TOML: {exc}")]) from None


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class Checker:
    """Collects ``(key_path, message)`` problems while reading a nested mapping."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[tuple[str, str]] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def raise_if_any(self) -> None:
        if self.problems:
            raise ConfigError(self.source, self.problems)

    # -- structure -------------------------------------------------------------------
    def table(self, data: Any, path: str, allowed: Iterable[str]) -> Mapping[str, Any]:
        """``data`` as a mapping whose keys are all in ``allowed`` (others are reported)."""
        if not isinstance(data, Mapping):
            self.problem(path, f"must be a table, not {type(data).__name__}")
            return {}
        allowed = set(allowed)
        for key in data:
            if key not in allowed:
                self.problem(join(path, key), f"unknown key (allowed: {', '.join(sorted(allowed))})")
        return data

    def get(self, data: Mapping[str, Any], path: str, key: str, kind: type[T] | tuple[type, ...],
            default: Any = _MISSING, *, check: Callable[[Any], str | None] | None = None) -> Any:
        """Value of ``key`` if present and of ``kind``; otherwise ``default`` (or report missing)."""
        where = join(path, key)
        if key not in data:
            if default is _MISSING:
                self.problem(where, "is required")
                return None
            return default
        value = data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if bool not in kinds and isinstance(value, bool) or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            self.problem(where, f"must be {names}, not {type(value).__name__} {value!r}")
            return None if default is _MISSING else default
        if check is not None:
            message = check(value)
            if message:
                self.problem(where, message)
                return None if default is _MISSING else default
        return value

    # -- typed helpers ---------------------------------------------------------------
    def clock(self, value: Any, path: str) -> int | None:
        """``"HH:MM"`` (00:00–24:00) as minutes since midnight."""
        if not isinstance(value, str) or not (m := _HHMM.match(value)):
            self.problem(path, f"must be a time \"HH:MM\", not {value!r}")
            return None
        hours, minutes = int(m.group(1)), int(m.group(2))
        if minutes > 59 or hours > 24 or (hours == 24 and minutes):
            self.problem(path, f"{value!r} is not a valid time of day")
            return None
        return hours * 60 + minutes

    def span(self, value: Any, path: str) -> tuple[int, int] | None:
        """``["HH:MM", "HH:MM"]`` with start < end."""
        if not isinstance(value, list) or len(value) != 2:
            self.problem(path, f"must be [\"HH:MM\", \"HH:MM\"], not {value!r}")
            return None
        start, end = self.clock(value[0], join(path, 0)), self.clock(value[1], join(path, 1))
        if start is None or end is None:
            return None
        if end <= start:
            self.problem(path, f"ends ({value[1]}) before it starts ({value[0]})")
            return None
        return start, end

    def date(self, value: Any, path: str) -> dt.date | None:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        self.problem(path, f"must be a date YYYY-MM-DD, not {value!r}")
        return None


def positive(value: Any) -> str | None:
    return None if value > 0 else "must be greater than 0"


def non_negative(value: Any) -> str | None:
    return None if value >= 0 else "must not be negative"


def share(value: Any) -> str | None:
    return None if 0 < value <= 1 else "must be a share between 0 and 1"


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; arrays and scalars in ``override`` replace."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
