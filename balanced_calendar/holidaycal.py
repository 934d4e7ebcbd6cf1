"""Holiday calendars and seasons backed by the ``holidays`` package (loaded per year, lazily)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class CountryHolidays:
    """Public holidays (and, for Indonesia, *cuti bersama*) of one country, plus configured days.

    ``extra`` adds named days, ``exclude`` removes days (e.g. a cancelled cuti bersama).
    """

    country: str | None
    categories: tuple[str, ...] = ("public",)
    subdiv: str | None = None
    language: str | None = None
    extra: Mapping[dt.date, str] = field(default_factory=dict)
    exclude: frozenset[dt.date] = frozenset()
    _years: dict[int, Mapping[dt.date, str]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _year(self, year: int) -> Mapping[dt.date, str]:
        cached = self._years.get(year)
        if cached is None:
            names: dict[dt.date, str] = {}
            if self.country:
                import holidays  # heavy import, only when a policy uses a country

                table: Any = holidays.country_holidays(
                    self.country, subdiv=self.subdiv, years=year,
                    categories=self.categories, language=self.language,
                )
                names.update(table.items())
            with self._lock:
                self._years[year] = cached = names
        return cached

    def name(self, day: dt.date) -> str | None:
        if day in self.exclude:
            return None
        if day in self.extra:
            return self.extra[day]
        return self._year(day.year).get(day)


@dataclass(eq=False)
class Ramadan:
    """The 30 days before Eid al-Fitr, as the ``holidays`` package dates it for Indonesia."""

    _ranges: dict[int, tuple[dt.date, dt.date] | None] = field(default_factory=dict, repr=False)

    def _range(self, year: int) -> tuple[dt.date, dt.date] | None:
        if year not in self._ranges:
            import holidays

            table: Any = holidays.country_holidays("ID", years=year, language="en_US")
            eid = sorted(d for d, n in table.items()
                         if n.startswith("Eid al-Fitr") and "Joint" not in n and "Second" not in n)
            self._ranges[year] = (eid[0] - dt.timedelta(days=30), eid[0] - dt.timedelta(days=1)) if eid else None
        return self._ranges[year]

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, dt.date):
            return False
        for year in (day.year, day.year + 1):
            rng = self._range(year)
            if rng and rng[0] <= day <= rng[1]:
                return True
        return False


@dataclass(frozen=True)
class DateRanges:
    """Explicit inclusive date ranges from a policy file."""

    ranges: tuple[tuple[dt.date, dt.date], ...]

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and any(a <= day <= b for a, b in self.ranges)


#: named season date rules a policy may use as ``dates = "<name>"``
NAMED_SEASONS = {"ramadan": Ramadan}
