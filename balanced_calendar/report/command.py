"""``balanced-calendar report``: one team's (or the organisation's) report of one ISO week, or all of them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from balanced_calendar.digest.compose import parse_week
from balanced_calendar.model import UserError
from balanced_calendar.report.compose import compose_report
from balanced_calendar.report.plan import ORG, week_label
from balanced_calendar.report.render import FORMATS, render
from balanced_calendar.runtime import Runtime
from balanced_calendar.timezones import load_zone


def last_week(now: dt.datetime, zone: str) -> tuple[int, int]:
    """The ISO week before the one ``now`` falls in, in ``zone`` (the week a Monday report covers)."""
    local = now.astimezone(load_zone(zone)).date()
    year, week, _ = (local - dt.timedelta(days=7)).isocalendar()
    return year, week


def file_name(group: str, label: str, fmt: str, lang: str) -> str:
    stem = "organisation" if group == ORG else f"team-{group}"
    return f"{stem}-{label}.{lang}.{fmt}" if fmt == "html" else f"{stem}-{label}.{fmt}"


def write_all(rt: Runtime, year: int, week: int, out: Path, langs: tuple[str, ...]) -> Path:
    """Every team's report and the organisation page, in HTML (each language), JSON and CSV,
    into ``out``; returns the organisation page in the first language."""
    out.mkdir(parents=True, exist_ok=True)
    label = week_label(year, week)
    now = rt.clock()
    org_page = out / file_name(ORG, label, "html", langs[0])
    cache: dict = {}
    for group in [t.id for t in rt.config.teams] + [ORG]:
        report = compose_report(rt.store, rt.config, rt.policy, group, year, week, now, cache)
        for lang in langs:
            (out / file_name(group, label, "html", lang)).write_text(render(report, "html", lang), encoding="utf-8")
        for fmt in ("json", "csv"):
            (out / file_name(group, label, fmt, langs[0])).write_text(render(report, fmt, langs[0]),
                                                                        encoding="utf-8")
    return org_page


def run(rt: Runtime, team: str | None, org: bool, all_groups: bool, week_text: str | None, fmt: str,
        lang: str | None, out: Path | None, echo: Callable[[str], None]) -> int:
    """Returns the exit status. Raises :class:`UserError` for a bad combination of options."""
    if sum((team is not None, org, all_groups)) != 1:
        raise UserError("give exactly one of --team ID, --org and --all")
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}", hint="one of " + ", ".join(FORMATS))
    lang = lang or rt.config.service.language
    year, week = parse_week(week_text) if week_text else last_week(rt.clock(), rt.config.service.timezone)
    if all_groups:
        if out is None:
            raise UserError("--all needs --out DIR")
        other = "en" if lang == "id" else "id"
        page = write_all(rt, year, week, out, (lang, other))
        echo(f"wrote {len(rt.config.teams)} team report(s) and the organisation page into {out}")
        echo(f"organisation page: {page}")
        return 0
    group = ORG if org else str(team)
    report = compose_report(rt.store, rt.config, rt.policy, group, year, week, rt.clock())
    text = render(report, fmt, lang)
    if out is None:
        echo(text.rstrip("\n"))
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        echo(f"wrote {out}")
    return 0
