"""What the rules say about a person's audited range, and the ``audit`` contract (docs/audit-json.md).

Plain standard-library data. The engine's numpy timeline lives in
:mod:`balanced_calendar.engine.timeline`; findings are kept as per-rule blocks of plain value
rows (:class:`FindingBlock`) and become :class:`Finding` objects only when someone reads them.
"""

from __future__ import annotations

import datetime as dt
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule firing. ``fields`` follow docs/rules.md (e.g. ``date``, ``minutes``)."""

    rule: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, **self.fields}

    @property
    def anchor(self) -> str:
        """The date (or ISO week) the finding belongs to, for sorting and display."""
        for key in ("date", "start", "week"):
            if key in self.fields:
                return str(self.fields[key])
        return ""


class _Lazy(Sequence[Finding]):
    """A sequence of findings built on first read (:meth:`_materialise`), equal to any
    sequence holding the same findings."""

    __slots__ = ()

    @abstractmethod
    def _materialise(self) -> list[Finding]:
        """Every finding, built once and kept."""

    @overload
    def __getitem__(self, index: int) -> Finding: ...
    @overload
    def __getitem__(self, index: slice) -> list[Finding]: ...
    def __getitem__(self, index: int | slice) -> Finding | list[Finding]:
        return self._materialise()[index]

    def __iter__(self) -> Iterator[Finding]:
        return iter(self._materialise())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # compared by content, like a list


class FindingBlock(_Lazy):
    """The findings of one rule, held as ``count`` rows of plain values until read.

    ``rows()`` yields one tuple of values per finding, in the order of ``keys``; it is called
    at most once, the first time the block is read, so texts such as ``HH:MM`` are only
    formatted when a report or the store asks for them.
    """

    __slots__ = ("rule", "keys", "count", "_rows", "_items")

    def __init__(self, rule: str, keys: tuple[str, ...], count: int,
                 rows: Callable[[], Iterable[tuple[Any, ...]]]) -> None:
        self.rule = rule
        self.keys = keys
        self.count = int(count)
        self._rows: Callable[[], Iterable[tuple[Any, ...]]] | None = rows
        self._items: list[Finding] | None = None

    @classmethod
    def of(cls, rule: str, findings: Sequence[Finding]) -> FindingBlock:
        """A block over already built findings (all of rule ``rule``)."""
        block = cls(rule, (), len(findings), tuple)
        block._rows, block._items = None, list(findings)
        return block

    def _materialise(self) -> list[Finding]:
        if self._items is None:
            rule, keys, rows = self.rule, self.keys, self._rows
            assert rows is not None
            self._items = [Finding(rule, dict(zip(keys, row))) for row in rows()]
            self._rows = None
        return self._items

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return f"FindingBlock({self.rule!r}, {self.count} findings)"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its built findings (the row producer is a closure)."""
        return (FindingBlock.of, (self.rule, self._materialise()))


class Findings(_Lazy):
    """Every rule's findings, in rule order then date order; blocks are read lazily."""

    __slots__ = ("blocks", "_items")

    def __init__(self, blocks: Iterable[Sequence[Finding]]) -> None:
        self.blocks: tuple[Sequence[Finding], ...] = tuple(blocks)
        self._items: list[Finding] | None = None

    def _materialise(self) -> list[Finding]:
        if self._items is None:
            self._items = [f for block in self.blocks for f in block]
        return self._items

    def counts(self) -> dict[str, int]:
        """Findings per rule id (rules without findings left out), without building any finding."""
        counts: dict[str, int] = {}
        for block in self.blocks:
            if isinstance(block, FindingBlock):
                if block.count:
                    counts[block.rule] = counts.get(block.rule, 0) + block.count
            else:
                for finding in block:
                    counts[finding.rule] = counts.get(finding.rule, 0) + 1
        return counts

    def __len__(self) -> int:
        if self._items is not None:
            return len(self._items)
        return sum(len(block) for block in self.blocks)

    def __repr__(self) -> str:
        return f"Findings({len(self)} findings)"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Findings, (self.blocks,))


@dataclass(frozen=True)
class AuditResult:
    """The ``audit`` JSON contract of docs/audit-json.md, plus the engine timeline it came from."""

    person: str
    timezone: str
    policy: str
    start: dt.date
    end: dt.date
    days: list[dict[str, Any]]
    findings: Sequence[Finding]
    timeline: Any = None  # balanced_calendar.engine.timeline.Timeline, when the engine made it

    def summary(self) -> dict[str, Any]:
        if isinstance(self.findings, Findings):
            counts = self.findings.counts()
        else:
            counts = {}
            for finding in self.findings:
                counts[finding.rule] = counts.get(finding.rule, 0) + 1
        return {
            "work_minutes": sum(d["work_minutes"] for d in self.days),
            "meeting_minutes": sum(d["meeting_minutes"] for d in self.days),
            "after_hours_minutes": sum(d["after_hours_minutes"] for d in self.days),
            "findings": counts,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "person": self.person,
            "timezone": self.timezone,
            "policy": self.policy,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "days": self.days,
            "findings": [f.as_dict() for f in self.findings],
            "summary": self.summary(),
        }
