"""PostgreSQL part of :class:`~balanced_calendar.store.audit.AuditStore`: day figures and findings.

Rows are serialised exactly as the SQLite store does (:mod:`..sqlite.audit`'s JSON).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from balanced_calendar.model import AuditResult, Finding, InputError
from balanced_calendar.store.audit import PersonAudit
from balanced_calendar.store.postgres.core import PostgresCore
from balanced_calendar.store.sqlite.audit import _dumps, _finding_day
from balanced_calendar.store.sqlite.core import email_key

# The members asked for, as one bound array (one query however many there are).
_MEMBERS = "SELECT id, pseudonym FROM people WHERE email_key = ANY(%(emails)s)"


class PostgresAudit(PostgresCore):
    """The ``audit_days`` and ``findings`` tables."""

    def save_audit(self, email: str, result: AuditResult) -> None:
        first, last = result.start.isoformat(), result.end.isoformat()
        day_rows = []
        for day in result.days:
            date = str(day["date"])
            if not first <= date <= last:
                raise InputError(f"audit day {date} lies outside the audited range {first}..{last}")
            day_rows.append((date, _dumps(day)))
        finding_rows = [(_finding_day(f, result.start, result.end), f.rule, _dumps(dict(f.fields)))
                        for f in result.findings]
        with self._tx() as tx:
            pid = self._person_id(tx, email)
            tx.execute("DELETE FROM audit_days WHERE person_id = %s AND day BETWEEN %s AND %s", (pid, first, last))
            tx.execute("DELETE FROM findings WHERE person_id = %s AND day BETWEEN %s AND %s", (pid, first, last))
            tx.executemany("INSERT INTO audit_days(person_id, day, figures) VALUES (%s, %s, %s)",
                           [(pid, d, figures) for d, figures in day_rows])
            tx.executemany("INSERT INTO findings(person_id, day, rule, fields) VALUES (%s, %s, %s, %s)",
                           [(pid, *row) for row in finding_rows])

    def load_audit_days(self, email: str, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        with self._read() as conn:
            pid = self._person_id(conn, email)
            rows = conn.execute("SELECT figures FROM audit_days WHERE person_id = %s AND day BETWEEN %s AND %s "
                                "ORDER BY day", (pid, start.isoformat(), end.isoformat())).fetchall()
        return [json.loads(row[0]) for row in rows]

    def load_findings(self, email: str, start: dt.date, end: dt.date) -> list[Finding]:
        with self._read() as conn:
            pid = self._person_id(conn, email)
            rows = conn.execute("SELECT rule, fields FROM findings WHERE person_id = %s AND day BETWEEN %s AND %s "
                                "ORDER BY day, id", (pid, start.isoformat(), end.isoformat())).fetchall()
        return [Finding(rule=rule, fields=json.loads(fields)) for rule, fields in rows]

    def team_audit(self, emails: Iterable[str], start: dt.date, end: dt.date) -> list[PersonAudit]:
        params = {"emails": sorted({email_key(e) for e in emails}),
                  "first": start.isoformat(), "last": end.isoformat()}
        with self._read() as conn:
            members = conn.execute(_MEMBERS, params).fetchall()
            days = conn.execute(
                f"""SELECT m.pseudonym, a.figures FROM audit_days a JOIN ({_MEMBERS}) m ON m.id = a.person_id
                    WHERE a.day BETWEEN %(first)s AND %(last)s ORDER BY m.pseudonym, a.day""", params).fetchall()
            findings = conn.execute(
                f"""SELECT m.pseudonym, f.rule, f.fields FROM findings f JOIN ({_MEMBERS}) m ON m.id = f.person_id
                    WHERE f.day BETWEEN %(first)s AND %(last)s ORDER BY m.pseudonym, f.day, f.id""",
                params).fetchall()
        result = {pseudonym: PersonAudit(pseudonym=pseudonym) for _, pseudonym in sorted(members, key=lambda r: r[1])}
        for pseudonym, figures in days:
            result[pseudonym].days.append(json.loads(figures))
        for pseudonym, rule, fields in findings:
            result[pseudonym].findings.append(Finding(rule=rule, fields=json.loads(fields)))
        return list(result.values())
