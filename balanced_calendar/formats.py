"""Render an :class:`AuditResult` as JSON (the contract), CSV (one row per day) or a table.

JSON and CSV carry no texts and never depend on a language; the table reads every word from
:mod:`balanced_calendar.texts`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import textwrap
from collections import defaultdict
from typing import Any

from balanced_calendar import texts
from balanced_calendar.model import AuditResult, Finding, Policy
from balanced_calendar.texts import hours

DAY_FIELDS = ("date", "is_workday", "holiday", "on_leave", "work_minutes", "meeting_minutes",
              "after_hours_minutes", "first_start", "last_end", "longest_free_minutes")


def to_json(result: AuditResult, *, indent: int | None = 2) -> str:
    return json.dumps(result.as_dict(), ensure_ascii=False, indent=indent)


def _findings_by_date(findings: list[Finding]) -> dict[str, list[str]]:
    by_date: dict[str, list[str]] = defaultdict(list)
    for f in findings:
        if "date" in f.fields:
            by_date[str(f.fields["date"])].append(f.rule)
    return by_date


def to_csv(result: AuditResult) -> str:
    """One row per day: the JSON day fields plus the rule ids that fired on that date."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*DAY_FIELDS, "findings"])
    by_date = _findings_by_date(result.findings)
    for day in result.days:
        row: list[Any] = ["" if day[k] is None else str(day[k]).lower() if isinstance(day[k], bool) else day[k]
                          for k in DAY_FIELDS]
        writer.writerow([*row, ";".join(by_date.get(day["date"], []))])
    return out.getvalue()


def _day_type(day: dict[str, Any], lang: str) -> str:
    if day["holiday"]:
        return str(day["holiday"])
    if day["on_leave"]:
        return texts.text("day.leave", lang)
    return texts.text("day.workday" if day["is_workday"] else "day.off", lang)


#: table columns: (key, right-aligned, narrowest width)
_COLUMNS = (("date", False, 10), ("day", False, 3), ("type", False, 0), ("work", True, 6), ("meet", True, 6),
            ("after", True, 6), ("span", False, 11), ("free", True, 5))
#: a day type (holiday name) longer than this wraps onto more lines, at spaces
TYPE_WIDTH = 30


def _pack(items: list[str], width: int, sep: str = " · ") -> list[str]:
    """``items`` joined by ``sep`` into lines of at most ``width``, breaking only between items."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + len(sep) + len(item) <= width:
            lines[-1] += sep + item
        else:
            lines.append(item)
    return lines


def to_table(result: AuditResult, policy: Policy, lang: str | None = None) -> str:
    """The human view in ``lang`` (default: the policy's language): one line per day, a legend
    of the headings, then findings with their definitions, then totals."""
    lang = texts.check_language(lang or policy.language)
    lines = [texts.text("title", lang, person=result.person or texts.text("calendar", lang), zone=result.timezone,
                        policy=result.policy, start=result.start, end=result.end), ""]
    headings = {key: texts.text(f"col.{key}", lang) for key, _, _ in _COLUMNS}
    blank = dict.fromkeys(headings, "")
    rows: list[dict[str, str]] = []
    for d in result.days:
        first, *more = textwrap.wrap(_day_type(d, lang), TYPE_WIDTH, break_long_words=False) or [""]
        rows.append({"date": d["date"], "day": texts.weekday(dt.date.fromisoformat(d["date"]), lang),
                     "type": first, "work": hours(d["work_minutes"]), "meet": hours(d["meeting_minutes"]),
                     "after": hours(d["after_hours_minutes"]),
                     "span": f"{d['first_start']}–{d['last_end']}" if d["first_start"] else "",
                     "free": hours(d["longest_free_minutes"])})
        rows += [{**blank, "type": part} for part in more]  # a long holiday name goes on, never cut
    widths = {key: max(least, len(headings[key]), *(len(r[key]) for r in rows)) for key, _, least in _COLUMNS}

    def line(cells: dict[str, str]) -> str:
        return " ".join(f"{cells[k]:>{widths[k]}}" if right else f"{cells[k]:<{widths[k]}}"
                        for k, right, _ in _COLUMNS).rstrip()

    header = line(headings)
    lines += [header, "-" * len(header), *(line(r) for r in rows)]
    legend = [*(f"{headings[k]} = {texts.text(f'legend.{k}', lang)}" for k in ("work", "meet", "after", "span", "free")),
              texts.text("legend.units", lang)]
    lines += ["", *_pack(legend, max(len(header), 60))]
    lines.append("")
    if not result.findings:
        lines.append(texts.text("no_findings", lang))
    else:
        defs = texts.definitions(policy, lang)
        lines.append(texts.text("findings", lang, count=len(result.findings)))
        seen: set[str] = set()
        for f in result.findings:
            if f.rule not in seen:
                seen.add(f.rule)
                lines.append(f"  {f.rule} — {defs.get(f.rule, '')}")
            lines.append(f"    • {texts.describe(f, lang)}")
    s = result.summary()
    lines += ["", texts.text("total", lang, work=s["work_minutes"], meetings=s["meeting_minutes"],
                             after=s["after_hours_minutes"])]
    return "\n".join(lines) + "\n"
