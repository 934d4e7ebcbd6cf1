"""Render a composed report (:mod:`balanced_calendar.report.compose`) as HTML, JSON or CSV.

The HTML is one self-contained file: inline CSS, the trend chart as inline SVG, the heat map
as a table; no script, no font, no image or style sheet from anywhere. JSON and CSV carry no
texts (they are a contract, independent of the language).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from functools import lru_cache
from typing import Any

import jinja2
from markupsafe import escape

from balanced_calendar.digest import i18n
from balanced_calendar.report.figures import HOURS, SHARES
from balanced_calendar.report.words import say
from balanced_calendar.texts import WEEKDAYS

FORMATS = ("html", "json", "csv")


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("balanced_calendar.report", "templates"),
                              autoescape=jinja2.select_autoescape(["html.j2"]), trim_blocks=True,
                              lstrip_blocks=True, undefined=jinja2.StrictUndefined)


def _pct(share: float | None, lang: str) -> str:
    if share is None:
        return "–"
    return i18n.number(round(share * 100), lang) + " %"


def _h(hours: float | None, lang: str) -> str:
    return "–" if hours is None else i18n.hours(hours * 60, lang)


def trend_svg(report: dict[str, Any], lang: str) -> str:
    """The trend of the median hours outside working hours as an inline SVG line chart."""
    points = report["trend"]
    width, height, left, bottom, top = 560, 180, 40, 30, 12
    values = [p["median_hours"]["after_hours"] if p["median_hours"] else None for p in points]
    top_value = max([v for v in values if v is not None] + [1.0])
    step = (width - left - 10) / max(1, len(points) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + i * step, top + (height - top - bottom) * (1 - v / top_value)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" style="max-width: 100%; height: auto" role="img" '
             f'aria-label="{escape(say("trend.chart", lang))}">',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 5}" y2="{height - bottom}" stroke="#555"/>',
             f'<text x="4" y="{top + 8}" font-size="10">{_h(top_value, lang)} h</text>',
             f'<text x="4" y="{height - bottom}" font-size="10">0</text>']
    segment: list[str] = []
    for i, (p, v) in enumerate(zip(points, values)):
        x, _ = xy(i, 0)
        parts.append(f'<text x="{x:.1f}" y="{height - 10}" font-size="10" text-anchor="middle">'
                     f'{p["week"][-3:]}</text>')
        if v is None:
            if segment:
                parts.append(f'<polyline fill="none" stroke="#d9822b" stroke-width="2" points="{" ".join(segment)}"/>')
            segment = []
            continue
        x, y = xy(i, v)
        segment.append(f"{x:.1f},{y:.1f}")
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#d9822b"/>')
    if segment:
        parts.append(f'<polyline fill="none" stroke="#d9822b" stroke-width="2" points="{" ".join(segment)}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _heat(count: int | None, top: int) -> str:
    if count is None:
        return "#ffffff"
    level = 0.15 + 0.85 * count / max(top, 1)
    return f"rgba(217,130,43,{level:.2f})"


def view(report: dict[str, Any], lang: str) -> dict[str, Any]:
    """Template values: every text and number formatted for ``lang``."""
    k = report["k"]
    start, end = dt.date.fromisoformat(report["start"]), dt.date.fromisoformat(report["end"])
    org = report["group"] == "organisation"
    name = say("org_title", lang) if org else report["name"]
    values: dict[str, Any] = {
        "lang": lang, "org": org,
        "title": say("org_title", lang) if org else say("title", lang, name=name),
        "period": say("period", lang, week=report["week"], start=i18n.date_long(start, lang),
                      end=i18n.date_long(end, lang), zone=report["zone"]),
        "privacy": say("privacy", lang, k=k),
        "published": report["status"] == "published",
        "suppressed": say("suppressed", lang) if report["status"] != "published" else "",
        "reason": say(f"reason.{report['reason']}", lang, k=k, other=report.get("differs_from") or "")
        if report["status"] != "published" and report["reason"] else "",
        "waiting": say("waiting", lang, n=report["waiting_to_join"], k=k) if report.get("waiting_to_join") else "",
        "w": {key: say(key, lang) for key in ("shares", "hours", "col.figure", "col.q1", "col.median", "col.q3",
                                              "col.n", "trend.week", "trend.members", "trend.streak", "trend.after",
                                              "trend.meetings", "teams", "team", "definitions")},
        "trend_title": say("trend", lang, n=len(report["trend"])),
        "trend_chart": trend_svg(report, lang),
        "trend": [{"week": p["week"], "published": p["status"] == "published",
                   "members": i18n.number(p["members"], lang) if p["members"] else "",
                   "streak": _pct(p["shares"]["overtime_streak"], lang) if p["shares"] else "",
                   "after": _h(p["median_hours"]["after_hours"], lang) if p["median_hours"] else "",
                   "meetings": _h(p["median_hours"]["meetings"], lang) if p["median_hours"] else ""}
                  for p in report["trend"]],
        "withheld": say("trend.withheld", lang),
        "definitions": [say("def.members", lang, k=k), say("def.quartiles", lang, k=k)],
        "org_withheld": say("org.withheld_total", lang),
    }
    figures = report["figures"]
    if figures is not None:
        values["members"] = say("members", lang, n=i18n.number(report["members"], lang), k=k)
        values["shares"] = [{"label": say(f"share.{key}", lang), "value": _pct(figures["shares"][key], lang)}
                            for key in SHARES]
        values["hours"] = [{"label": say(f"hour.{key}", lang), "n": i18n.number(figures["hours"][key]["n"], lang),
                            "q1": _h(figures["hours"][key]["q1"], lang),
                            "median": _h(figures["hours"][key]["median"], lang),
                            "q3": _h(figures["hours"][key]["q3"], lang),
                            "hidden": figures["hours"][key]["median"] is None}
                           for key in HOURS]
        values["hidden"] = say("hidden", lang)
        values["oow"] = say("oow", lang, value=_dec(figures["out_of_window_meetings_per_person"], lang))
        top = max([c for row in figures["heatmap"] for c in row if c is not None] + [0])
        values["heatmap_title"] = say("heatmap", lang)
        values["heatmap_note"] = say("heatmap.note", lang, k=k)
        values["hours_axis"] = [f"{h:02d}" for h in range(24)]
        values["heatmap"] = [{"day": WEEKDAYS[lang][i],
                              "cells": [{"text": "" if c is None else str(c), "colour": _heat(c, top)} for c in row]}
                             for i, row in enumerate(figures["heatmap"])]
    if org:
        values["teams"] = [{"name": t["name"], "published": t["status"] == "published",
                            "members": i18n.number(t["members"], lang) if t["status"] == "published" else "",
                            "streak": _pct(t["shares"]["overtime_streak"], lang) if t["status"] == "published" else "",
                            "after": _h(t["median_hours"]["after_hours"], lang) if t["status"] == "published" else "",
                            "meetings": _h(t["median_hours"]["meetings"], lang) if t["status"] == "published"
                            else "",
                            "reason": "" if t["status"] == "published" else
                            say(f"reason.{t['reason'] or 'too_few'}", lang, k=k, other=t.get("differs_from") or "")}
                           for t in report["teams"]]
    return values


def _dec(value: float, lang: str) -> str:
    from babel.numbers import format_decimal

    return format_decimal(value, format="#,##0.0#", locale=i18n.locale_of(lang))


def render_html(report: dict[str, Any], lang: str) -> str:
    return _env().get_template("report.html.j2").render(**view(report, lang))


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


CSV_COLUMNS = ("group", "week", "figure", "key", "value")


def csv_rows(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    """One row per figure: ``(group, week, figure, key, value)``; hidden values are empty."""
    group = report["team"] or "organisation"
    week = report["week"]
    rows: list[tuple[Any, ...]] = [(group, week, "status", "", report["status"]),
                                   (group, week, "reason", "", report["reason"] or ""),
                                   (group, week, "k", "", report["k"])]
    figures = report["figures"]
    if figures is not None:
        rows.append((group, week, "members", "", report["members"]))
        rows += [(group, week, "share", key, figures["shares"][key]) for key in SHARES]
        for key in HOURS:
            spread = figures["hours"][key]
            rows += [(group, week, f"{key}_hours", stat, "" if spread[stat] is None else spread[stat])
                     for stat in ("n", "q1", "median", "q3")]
        rows.append((group, week, "out_of_window_meetings_per_person", "",
                     figures["out_of_window_meetings_per_person"]))
        for day, row in enumerate(figures["heatmap"]):
            rows += [(group, week, "heatmap_people", f"{WEEKDAYS['en'][day]} {hour:02d}:00", "" if c is None else c)
                     for hour, c in enumerate(row)]
    for point in report["trend"]:
        rows.append((group, point["week"], "trend_status", "", point["status"]))
        if point["status"] == "published":
            rows.append((group, point["week"], "trend_members", "", point["members"]))
            rows += [(group, point["week"], "trend_share", key, point["shares"][key]) for key in SHARES]
            rows += [(group, point["week"], "trend_median_hours", key,
                      "" if point["median_hours"][key] is None else point["median_hours"][key]) for key in HOURS]
    for team in report.get("teams", []):
        rows.append((team["team"], week, "team_status", "", team["status"]))
    return rows


def render_csv(report: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_rows(report))
    return buf.getvalue()


def render(report: dict[str, Any], fmt: str, lang: str) -> str:
    """``report`` in ``fmt`` (one of :data:`FORMATS`); ``lang`` matters for HTML only."""
    if fmt == "html":
        return render_html(report, lang)
    if fmt == "json":
        return render_json(report)
    if fmt == "csv":
        return render_csv(report)
    raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
