"""A resolved policy: every threshold and calendar the audit rules and planner need.

Policies are loaded from TOML presets by ``balanced_calendar.policyfile``; this module
holds only the plain, immutable result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def hhmm(minutes: int) -> str:
    """Format minutes since midnight as ``HH:MM`` (``24:00`` for 1440)."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, slots=True)
class DayHours:
    """Working hours of one weekday, in minutes since local midnight.

    The break, when present, lies inside ``[start, end)``.
    """

    start: int
    end: int
    break_start: int | None = None
    break_end: int | None = None

    @property
    def break_minutes(self) -> int:
        if self.break_start is None or self.break_end is None:
            return 0
        return self.break_end - self.break_start

    @property
    def net_minutes(self) -> int:
        """Window length minus the break."""
        return self.end - self.start - self.break_minutes

    def describe(self) -> str:
        text = f"{hhmm(self.start)}–{hhmm(self.end)}"
        if self.break_start is not None and self.break_end is not None:
            text += f" (break {hhmm(self.break_start)}–{hhmm(self.break_end)})"
        return text


class DateSet(Protocol):
    """Answers whether a date belongs to a season (e.g. Ramadan)."""

    def __contains__(self, day: object) -> bool: ...


class HolidayCalendar(Protocol):
    """Holiday names by date. ``None`` when the date is not a holiday."""

    def name(self, day: dt.date) -> str | None: ...


class NoHolidays:
    """The empty holiday calendar."""

    def name(self, day: dt.date) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class Season:
    """Hours that replace the normal ones on the dates in ``dates`` (e.g. Ramadan)."""

    name: str
    dates: DateSet
    hours: Mapping[int, DayHours]  # ISO weekday (1 = Monday) -> hours


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The thresholds of docs/rules.md. Defaults are the ASN values."""

    max_event_hours: float = 16
    overtime_day_minutes: int = 30
    overtime_streak_days: int = 3
    after_hours_minutes: int = 30
    break_overlap_minutes: int = 15
    min_rest_hours: float = 11
    long_day_minutes: int = 600
    back_to_back_gap_minutes: int = 10
    back_to_back_span_minutes: int = 120
    focus_min_minutes: int = 120
    meeting_share: float = 0.5
    leave_cover_share: float = 0.5


@dataclass(frozen=True, slots=True)
class PlannerSettings:
    """Focus and recovery blocks (the planned planner; docs/architecture.md)."""

    focus_window: tuple[int, int] = (7 * 60 + 30, 11 * 60 + 30)
    focus_target_minutes: int = 120
    focus_block_min_minutes: int = 60
    focus_block_max_minutes: int = 120
    meeting_buffer_minutes: int = 10
    recovery_after_hours_minutes: int = 60
    recovery_minutes: int = 60
    back_to_back_break_minutes: int = 15
    horizon_workdays: int = 10
    max_deletes: int = 20


@dataclass(frozen=True, slots=True, eq=False)
class Policy:
    """Everything that decides what counts as work, overtime and rest.

    Compared and hashed by identity: policies are loaded once and cached.
    """

    name: str
    language: str
    timezone: str
    workweek: frozenset[int]  # ISO weekdays
    hours: Mapping[int, DayHours]
    meeting_window: tuple[int, int]
    seasons: tuple[Season, ...] = ()
    holidays: HolidayCalendar = field(default_factory=NoHolidays)
    thresholds: Thresholds = field(default_factory=Thresholds)
    planner: PlannerSettings = field(default_factory=PlannerSettings)
    description: str = ""

    def hours_for(self, day: dt.date) -> DayHours | None:
        """The working window of ``day`` ignoring holidays and leave; ``None`` off the workweek."""
        weekday = day.isoweekday()
        if weekday not in self.workweek:
            return None
        for season in self.seasons:
            if day in season.dates and weekday in season.hours:
                return season.hours[weekday]
        return self.hours.get(weekday)

    def season_of(self, day: dt.date) -> str | None:
        for season in self.seasons:
            if day in season.dates:
                return season.name
        return None
