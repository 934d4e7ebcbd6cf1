"""Every sentence the audit shows people, in Bahasa Indonesia and English (docs/contributing.md).

One mechanism for all texts: a table ``{"en": ..., "id": ...}`` per text, kept beside what it
describes. Each rule module in :mod:`policies` carries its ``DEFINITION`` (a format string over
the policy's values) and ``DESCRIBE`` (a format string over a finding's fields); the words of
the CLI table live here in :data:`UI`. The CLI, the digest and the team report all read them
through the same three functions::

    definition(rule_id, policy, lang)   # "a workday with at least 30 minutes of work ..."
    describe(finding, lang)             # "2:00 h outside working hours on 2026-12-14"
    text(key, lang, **values)           # a UI text, e.g. text("col.after", "id") == "lembur"

In a format string ``{minutes:h}`` shows a number of minutes as ``h:mm`` (``2:30``).
JSON and CSV output carry no texts: they are a contract and do not depend on the language.

This module imports nothing heavy at load time (the config reads :data:`LANGUAGES` from here);
the rule modules are imported on first use.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from balanced_calendar.model import Finding, Policy

#: every language a person, a policy or the service can choose (the one owner of this list)
LANGUAGES: tuple[str, ...] = ("id", "en")

#: short weekday names, Monday first
WEEKDAYS: dict[str, tuple[str, ...]] = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "id": ("Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min"),
}

#: the words of the CLI (table, legend, totals, ``policy`` command)
UI: dict[str, dict[str, str]] = {
    "title": {"en": "{person} · {zone} · policy {policy} · {start} → {end}",
              "id": "{person} · {zone} · kebijakan {policy} · {start} → {end}"},
    "calendar": {"en": "calendar", "id": "kalender"},
    # titles of the planner's own blocks, as written into people's calendars
    "block.focus": {"en": "Focus time", "id": "Fokus kerja"},
    "block.recovery": {"en": "Recovery time", "id": "Waktu pemulihan"},
    "block.break": {"en": "Break", "id": "Jeda"},
    # table headings
    "col.date": {"en": "date", "id": "tanggal"},
    "col.day": {"en": "day", "id": "hari"},
    "col.type": {"en": "type", "id": "jenis"},
    "col.work": {"en": "work", "id": "kerja"},
    "col.meet": {"en": "meet", "id": "rapat"},
    "col.after": {"en": "after", "id": "lembur"},
    "col.span": {"en": "span", "id": "rentang"},
    "col.free": {"en": "free", "id": "luang"},
    # the legend printed under the table, one entry per heading
    "legend.work": {"en": "counted working time", "id": "waktu kerja terhitung"},
    "legend.meet": {"en": "time in meetings", "id": "waktu rapat"},
    "legend.after": {"en": "work outside working hours", "id": "kerja di luar jam kerja"},
    "legend.span": {"en": "first start – last end of the day",
                    "id": "mulai pertama – selesai terakhir dalam sehari"},
    "legend.free": {"en": "longest free stretch inside working hours (workdays only)",
                    "id": "waktu luang terpanjang dalam jam kerja (hanya hari kerja)"},
    "legend.units": {"en": "durations in h:mm", "id": "durasi dalam jam:menit"},
    # day types
    "day.workday": {"en": "workday", "id": "hari kerja"},
    "day.off": {"en": "off", "id": "libur"},
    "day.leave": {"en": "leave", "id": "cuti"},
    # findings and totals
    "no_findings": {"en": "No findings. Well balanced.",
                    "id": "Tidak ada temuan. Beban kerja seimbang."},
    "findings": {"en": "Findings ({count}):", "id": "Temuan ({count}):"},
    "total": {"en": "Total: work {work:h} h, meetings {meetings:h} h, outside hours {after:h} h",
              "id": "Total: kerja {work:h} jam, rapat {meetings:h} jam, di luar jam kerja {after:h} jam"},
    # the `policy` command
    "policy.about": {"en": "language {language}, zone {zone}", "id": "bahasa {language}, zona waktu {zone}"},
    "policy.hours": {"en": "{start}–{end}", "id": "{start}–{end}"},
    "policy.hours_break": {"en": "{start}–{end} (break {break_start}–{break_end})",
                           "id": "{start}–{end} (istirahat {break_start}–{break_end})"},
    "policy.season": {"en": "season {name}", "id": "masa {name}"},
    "policy.rules": {"en": "rules:", "id": "aturan:"},
}


class _Formatter(string.Formatter):
    """``str.format`` plus the ``h`` spec: ``"{minutes:h}"`` with 150 gives ``"2:30"``."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == "h":
            return hours(value)
        return super().format_field(value, format_spec)


_FORMATTER = _Formatter()


def hours(minutes: int | None) -> str:
    """Minutes as ``h:mm`` (``150`` → ``"2:30"``); ``"–"`` for ``None``."""
    if minutes is None:
        return "–"
    return f"{minutes // 60}:{minutes % 60:02d}"


def check_language(lang: str) -> str:
    """``lang`` itself when it is one of :data:`LANGUAGES`; raises ``ValueError`` otherwise."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r} (one of {', '.join(LANGUAGES)})")
    return lang


def _pick(table: Mapping[str, str], lang: str) -> str:
    return table[check_language(lang)]


def text(key: str, lang: str, **values: Any) -> str:
    """The UI text ``key`` (see :data:`UI`) in ``lang`` with ``values`` filled in.

    Raises ``KeyError`` for an unknown key and ``ValueError`` for an unknown language.
    """
    return _FORMATTER.format(_pick(UI[key], lang), **values)


def weekday(date: dt.date, lang: str) -> str:
    """The short weekday name of ``date`` (``Mon`` / ``Sen``), independent of the host's locale."""
    return WEEKDAYS[check_language(lang)][date.weekday()]


def _rules() -> dict[str, ModuleType]:
    from policies import RULES

    return {rule.RULE: rule for rule in RULES}


def _clock(minute_of_day: int) -> str:
    return f"{minute_of_day // 60:02d}:{minute_of_day % 60:02d}"


def policy_values(policy: Policy) -> dict[str, Any]:
    """The names a ``DEFINITION`` may use: every threshold, ``meeting_start``/``meeting_end``
    (``HH:MM``) and ``meeting_share_pct``; whole floats are shown without ``.0``."""
    th = policy.thresholds
    values: dict[str, Any] = {name: getattr(th, name) for name in th.__dataclass_fields__}
    values.update(meeting_start=_clock(policy.meeting_window[0]), meeting_end=_clock(policy.meeting_window[1]),
                  meeting_share_pct=f"{th.meeting_share * 100:g}")
    for key, value in list(values.items()):
        if isinstance(value, float) and value.is_integer():
            values[key] = int(value)
    return values


def definition(rule_id: str, policy: Policy, lang: str) -> str:
    """Rule ``rule_id`` in one sentence in ``lang``, with the policy's numbers filled in.

    Raises ``KeyError`` for an unknown rule and ``ValueError`` for an unknown language.
    """
    return _FORMATTER.format(_pick(_rules()[rule_id].DEFINITION, lang), **policy_values(policy))


def definitions(policy: Policy, lang: str) -> dict[str, str]:
    """Every rule's definition in ``lang``, in rule order (docs/rules.md)."""
    values = policy_values(policy)
    return {rule_id: _FORMATTER.format(_pick(rule.DEFINITION, lang), **values)
            for rule_id, rule in _rules().items()}


def describe(finding: Finding, lang: str) -> str:
    """One finding in plain words in ``lang`` (dates and clock times as in the JSON).

    A finding of a rule without texts falls back to ``rule: {fields}``.
    """
    rule = _rules().get(finding.rule)
    if rule is None:
        check_language(lang)
        return f"{finding.rule}: {dict(finding.fields)}"
    return _FORMATTER.format(_pick(rule.DESCRIBE, lang), **finding.fields)
