"""Render an :class:`AuditResult` as JSON (the contract), CSV (one row per day) or a table."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from typing import Any

from balanced_calendar.model import AuditResult, Finding, Policy
from policies import RULES

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


def hours(minutes: int | None) -> str:
    if minutes is None:
        return "–"
    return f"{minutes // 60}:{minutes % 60:02d}"


def definitions(policy: Policy) -> dict[str, str]:
    """Each rule's one-sentence definition with the policy's numbers filled in."""
    th = policy.thresholds
    values = {name: getattr(th, name) for name in th.__dataclass_fields__}
    values.update(meeting_start=f"{policy.meeting_window[0] // 60:02d}:{policy.meeting_window[0] % 60:02d}",
                  meeting_end=f"{policy.meeting_window[1] // 60:02d}:{policy.meeting_window[1] % 60:02d}",
                  meeting_share_pct=f"{th.meeting_share * 100:g}")
    for key, value in list(values.items()):
        if isinstance(value, float) and value.is_integer():
            values[key] = int(value)
    return {rule.RULE: rule.DEFINITION.format(**values) for rule in RULES}


def describe(f: Finding) -> str:
    """A finding in plain English."""
    x = f.fields
    match f.rule:
        case "overtime_streak":
            return f"{x['days']} overtime days in a row, {x['start']} to {x['end']}"
        case "weekend_work":
            return f"{hours(x['minutes'])} h of work on {x['date']} (weekend)"
        case "holiday_work":
            return f"{hours(x['minutes'])} h of work on {x['date']} ({x['holiday']})"
        case "leave_work":
            return f"{hours(x['minutes'])} h of work on {x['date']} while on leave"
        case "after_hours":
            return f"{hours(x['minutes'])} h outside working hours on {x['date']}"
        case "out_of_window_meeting":
            return f"meeting {x['start']}–{x['end']} on {x['date']} outside the meeting window"
        case "break_overlap":
            return f"meeting {x['start']}–{x['end']} on {x['date']} takes the break"
        case "short_rest":
            return f"only {hours(x['rest_minutes'])} h of rest before {x['date']}"
        case "long_day":
            return f"{hours(x['span_minutes'])} h from first start to last end on {x['date']}"
        case "back_to_back":
            return f"back-to-back meetings {x['start']}–{x['end']} on {x['date']} ({hours(x['minutes'])} h)"
        case "focus_deficit":
            return f"longest free stretch on {x['date']} only {hours(x['longest_free_minutes'])} h"
        case "meeting_overload":
            return f"{hours(x['minutes'])} h of meetings in {x['week']} (limit {hours(x['limit_minutes'])} h)"
    return f"{f.rule}: {dict(x)}"


def to_table(result: AuditResult, policy: Policy) -> str:
    """The human view: one line per day, then findings with their definitions, then totals."""
    lines = [f"{result.person or 'calendar'} · {result.timezone} · policy {result.policy} · "
             f"{result.start} → {result.end}", ""]
    header = f"{'date':<10} {'day':<3} {'type':<22} {'work':>6} {'meet':>6} {'after':>6} {'span':<11} {'free':>5}"
    lines += [header, "-" * len(header)]
    for d in result.days:
        if d["holiday"]:
            kind = d["holiday"][:22]
        elif d["on_leave"]:
            kind = "leave"
        elif d["is_workday"]:
            kind = "workday"
        else:
            kind = "off"
        span = f"{d['first_start']}–{d['last_end']}" if d["first_start"] else ""
        weekday = dt.date.fromisoformat(d["date"]).strftime("%a")
        lines.append(f"{d['date']:<10} {weekday:<3} {kind:<22} {hours(d['work_minutes']):>6} "
                     f"{hours(d['meeting_minutes']):>6} {hours(d['after_hours_minutes']):>6} {span:<11} "
                     f"{hours(d['longest_free_minutes']):>5}")
    lines.append("")
    if not result.findings:
        lines.append("No findings. Well balanced.")
    else:
        defs = definitions(policy)
        lines.append(f"Findings ({len(result.findings)}):")
        seen: set[str] = set()
        for f in result.findings:
            if f.rule not in seen:
                seen.add(f.rule)
                lines.append(f"  {f.rule} — {defs.get(f.rule, '')}")
            lines.append(f"    • {describe(f)}")
    s = result.summary()
    lines += ["", f"Total: work {hours(s['work_minutes'])} h, meetings {hours(s['meeting_minutes'])} h, "
                  f"outside hours {hours(s['after_hours_minutes'])} h"]
    return "\n".join(lines) + "\n"
