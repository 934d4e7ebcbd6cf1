"""Load a policy: a preset by name, or a user's TOML file that extends a preset.

Every problem in the file is reported at once with its key path (:class:`ConfigError`).
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from balanced_calendar.holidaycal import NAMED_SEASONS, CountryHolidays, DateRanges
from balanced_calendar.model import ConfigError, DayHours, PlannerSettings, Policy, Season, Thresholds
from balanced_calendar.model.policy import WEEKDAYS, NoHolidays
from balanced_calendar.texts import LANGUAGES
from balanced_calendar.timezones import load_zone
from balanced_calendar.model import InputError
from balanced_calendar.tomlcheck import Checker, deep_merge, join, load_toml, non_negative, positive, share

TOP_KEYS = ("name", "description", "extends", "language", "timezone", "workweek", "hours",
            "seasons", "holidays", "meetings", "planner", "thresholds")


def preset_names() -> list[str]:
    folder = importlib.resources.files("policies") / "presets"
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def _preset_data(name: str) -> dict[str, Any]:
    resource = importlib.resources.files("policies") / "presets" / f"{name}.toml"
    if not resource.is_file():
        raise InputError(f"unknown policy {name!r}",
                         hint=f"use a preset ({', '.join(preset_names())}) or a path to a policy TOML file")
    with importlib.resources.as_file(resource) as path:
        return load_toml(path)


@lru_cache(maxsize=32)
def load_policy(spec: str) -> Policy:
    """A preset name (``asn-id``, ``default``) or a path to a TOML file.

    A file may say ``extends = "<preset>"`` (default ``"default"``) and override any key.
    Raises :class:`InputError` for an unknown preset and :class:`ConfigError` listing every
    problem of a bad file.
    """
    looks_like_path = spec.endswith(".toml") or "/" in spec or Path(spec).is_file()
    if not looks_like_path:
        return build_policy(_preset_data(spec), source=f"preset {spec}")
    path = Path(spec)
    data = load_toml(path)
    base_name = data.get("extends", "default")
    if not isinstance(base_name, str) or base_name not in preset_names():
        raise ConfigError(str(path), [("extends", f"must name a preset: {', '.join(preset_names())}")])
    merged = deep_merge(_preset_data(base_name), data)
    if "name" not in data:
        merged["name"] = path.stem
    if "description" not in data:
        # the preset's line describes the preset's hours, not this file's overrides
        merged["description"] = f"derived from the preset {base_name} by {path.name}"
    return build_policy(merged, source=str(path))


def build_policy(data: Mapping[str, Any], *, source: str) -> Policy:
    """Validate a merged policy mapping completely and build the :class:`Policy`."""
    c = Checker(source)
    c.table(data, "", TOP_KEYS)
    name = c.get(data, "", "name", str)
    language = c.get(data, "", "language", str, "en",
                     check=lambda v: None if v in LANGUAGES else f"must be one of {', '.join(LANGUAGES)}")
    zone = c.get(data, "", "timezone", str, "UTC")
    if zone is not None:
        try:
            load_zone(zone)
        except InputError as exc:
            c.problem("timezone", exc.message)
    workweek = _workweek(c, data.get("workweek", list(WEEKDAYS[:5])))
    hours = _hours(c, data.get("hours", {}), "hours", workweek)
    seasons = tuple(_seasons(c, data.get("seasons", [])))
    holidays = _holidays(c, data.get("holidays"), language)
    meetings = c.table(data.get("meetings", {}), "meetings", ("window",))
    meeting_window = c.span(meetings.get("window", ["09:00", "15:00"]), "meetings.window")
    thresholds = _dataclass_from(c, Thresholds, data.get("thresholds", {}), "thresholds", {
        "meeting_share": share, "leave_cover_share": share})
    planner = _planner(c, data.get("planner", {}))
    c.raise_if_any()
    return Policy(
        name=name, language=language, timezone=zone, workweek=frozenset(workweek), hours=hours,
        meeting_window=meeting_window,  # type: ignore[arg-type]
        seasons=seasons, holidays=holidays, thresholds=thresholds, planner=planner,
        description=str(data.get("description", "")),
    )


def _workweek(c: Checker, value: Any) -> set[int]:
    if not isinstance(value, list) or not value:
        c.problem("workweek", f"must be a non-empty list of weekdays like [\"mon\", \"tue\"], not {value!r}")
        return set()
    days = set()
    for i, item in enumerate(value):
        if item not in WEEKDAYS:
            c.problem(join("workweek", i), f"{item!r} is not one of {', '.join(WEEKDAYS)}")
        else:
            days.add(WEEKDAYS.index(item) + 1)
    return days


def _hours(c: Checker, value: Any, path: str, workweek: set[int] | None) -> dict[int, DayHours]:
    table = c.table(value, path, WEEKDAYS)
    result: dict[int, DayHours] = {}
    for key, spec in table.items():
        if key not in WEEKDAYS:
            continue
        where = join(path, key)
        day = c.table(spec, where, ("start", "end", "break"))
        start = c.clock(day.get("start"), join(where, "start")) if "start" in day else None
        end = c.clock(day.get("end"), join(where, "end")) if "end" in day else None
        if "start" not in day or "end" not in day:
            c.problem(where, "needs both start and end")
            continue
        if start is None or end is None:
            continue
        if end <= start:
            c.problem(where, "end must be after start")
            continue
        brk = c.span(day["break"], join(where, "break")) if "break" in day else None
        if brk is not None and not (start <= brk[0] and brk[1] <= end):
            c.problem(join(where, "break"), "must lie inside the working hours")
            brk = None
        result[WEEKDAYS.index(key) + 1] = DayHours(start, end, *(brk or (None, None)))
    if workweek is not None:
        for weekday in sorted(workweek):
            if WEEKDAYS[weekday - 1] not in table and table is value:
                c.problem(join(path, WEEKDAYS[weekday - 1]), "workweek day has no hours")
    return result


def _seasons(c: Checker, value: Any) -> list[Season]:
    if not isinstance(value, list):
        c.problem("seasons", "must be an array of tables ([[seasons]])")
        return []
    seasons = []
    for i, item in enumerate(value):
        where = join("seasons", i)
        table = c.table(item, where, ("name", "dates", "hours"))
        name = c.get(table, where, "name", str)
        dates_spec = table.get("dates")
        dates: Any = None
        if isinstance(dates_spec, str):
            if dates_spec in NAMED_SEASONS:
                dates = NAMED_SEASONS[dates_spec]()
            else:
                c.problem(join(where, "dates"), f"unknown named season {dates_spec!r} (known: {', '.join(NAMED_SEASONS)})")
        elif isinstance(dates_spec, list):
            ranges = []
            for j, pair in enumerate(dates_spec):
                p = join(join(where, "dates"), j)
                if not isinstance(pair, list) or len(pair) != 2:
                    c.problem(p, "must be [\"YYYY-MM-DD\", \"YYYY-MM-DD\"]")
                    continue
                a, b = c.date(pair[0], p), c.date(pair[1], p)
                if a and b:
                    if b < a:
                        c.problem(p, "ends before it starts")
                    ranges.append((a, b))
            dates = DateRanges(tuple(ranges))
        else:
            c.problem(join(where, "dates"), "is required: a named season (\"ramadan\") or a list of date ranges")
        hours = _hours(c, table.get("hours", {}), join(where, "hours"), None)
        if name and dates is not None:
            seasons.append(Season(name, dates, hours))
    return seasons


def _holidays(c: Checker, value: Any, language: str | None) -> Any:
    if value is None:
        return NoHolidays()
    table = c.table(value, "holidays", ("country", "subdiv", "categories", "extra", "exclude"))
    country = c.get(table, "holidays", "country", str, None)
    subdiv = c.get(table, "holidays", "subdiv", str, None)
    categories = c.get(table, "holidays", "categories", list, ["public"])
    extra_raw = c.get(table, "holidays", "extra", dict, {})
    exclude_raw = c.get(table, "holidays", "exclude", list, [])
    extra: dict[dt.date, str] = {}
    for key, label in (extra_raw or {}).items():
        day = c.date(key, join("holidays.extra", key))
        if day and isinstance(label, str):
            extra[day] = label
        elif day:
            c.problem(join("holidays.extra", key), "must be the holiday's name")
    exclude = {d for i, v in enumerate(exclude_raw or []) if (d := c.date(v, join("holidays.exclude", i)))}
    if country:
        import holidays as holidays_pkg

        try:
            cls = holidays_pkg.country_holidays(country, years=[]).__class__
            unknown = set(categories or []) - set(getattr(cls, "supported_categories", ("public",)))
            if unknown:
                c.problem("holidays.categories", f"unknown for {country}: {', '.join(sorted(unknown))}")
            if language not in getattr(cls, "supported_languages", ()):
                language = None
            if subdiv:
                holidays_pkg.country_holidays(country, subdiv=subdiv, years=[])
        except NotImplementedError:
            c.problem("holidays.country", f"{country!r} is not a country the holidays package knows")
        except Exception as exc:  # holidays raises several types for bad subdivisions
            c.problem("holidays.subdiv", str(exc))
    return CountryHolidays(country, tuple(categories or ("public",)), subdiv,
                           language if country else None, extra, frozenset(exclude))


def _dataclass_from(c: Checker, cls: Any, value: Any, path: str, checks: Mapping[str, Any]) -> Any:
    defaults = cls()
    fields = cls.__dataclass_fields__
    table = c.table(value, path, fields)
    kwargs = {}
    for key in fields:
        if key in table:
            # the annotation says float (defaults may be written as whole numbers, e.g. 16)
            kind = (int, float) if fields[key].type in ("float", float) else int
            got = c.get(table, path, key, kind, getattr(defaults, key),
                        check=checks.get(key, non_negative if key.endswith("minutes") else positive))
            kwargs[key] = got
    return cls(**kwargs)


def _planner(c: Checker, value: Any) -> PlannerSettings:
    table = dict(c.table(value, "planner", PlannerSettings.__dataclass_fields__))
    window = None
    if "focus_window" in table:
        window = c.span(table.pop("focus_window"), "planner.focus_window")
    settings = _dataclass_from(c, PlannerSettings, table, "planner", {})
    if window:
        settings = PlannerSettings(**{**{k: getattr(settings, k) for k in PlannerSettings.__dataclass_fields__},
                                      "focus_window": window})
    return settings
