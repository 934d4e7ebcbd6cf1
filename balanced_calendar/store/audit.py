"""Audit results: per-day figures and findings, per person and for teams (docs/audit-json.md, docs/privacy.md)."""

from __future__ import annotations

import datetime as dt
from abc import abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from balanced_calendar.model import AuditResult, Finding


@dataclass(frozen=True, slots=True)
class PersonAudit:
    """One team member's stored audit over a date range, known only by pseudonym.

    ``days`` are the same dicts :meth:`AuditStore.load_audit_days` returns (by date),
    ``findings`` the same as :meth:`AuditStore.load_findings` (by date, then original order).
    There is deliberately no address, name or team field: the team report aggregates these.
    """

    pseudonym: str
    days: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


class AuditStore(Protocol):
    """Stored results of :func:`audit` runs, replaced range by range."""

    @abstractmethod
    def save_audit(self, email: str, result: AuditResult) -> None:
        """Replace the person's day figures and findings for ``result.start..result.end``.

        Raises :class:`NotEnrolled`, or :class:`~balanced_calendar.model.InputError` for a
        day outside the audited range.
        """

    @abstractmethod
    def load_audit_days(self, email: str, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        """Stored day figures (the ``days`` objects of docs/audit-json.md) in ``[start, end]``, by date.

        Raises :class:`NotEnrolled`.
        """

    @abstractmethod
    def load_findings(self, email: str, start: dt.date, end: dt.date) -> list[Finding]:
        """Stored findings anchored in ``[start, end]``, by date then original order.

        Week findings (``meeting_overload``) are anchored at the first audited day of their week.
        Raises :class:`NotEnrolled`.
        """

    @abstractmethod
    def team_audit(self, emails: Iterable[str], start: dt.date, end: dt.date) -> list[PersonAudit]:
        """The stored audits of several people over ``[start, end]``, for the team report.

        One :class:`PersonAudit` per *enrolled* address in ``emails`` (matched
        case-insensitively, duplicates collapsed), ordered by pseudonym; addresses that are
        not enrolled are skipped silently (never :class:`NotEnrolled`): a member who
        withdrew simply stops contributing. An enrolled member with nothing stored in the
        range gets empty ``days`` and ``findings``. Read in one snapshot with one query per
        table, however many people are asked for.
        """
