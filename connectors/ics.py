"""Read-only connector for iCalendar data: a local ``.ics`` file or a published calendar URL.

Parsing is done by ``icalendar`` and recurrence expansion by ``recurring-ical-events``; this
module adds what those leave to the caller: line numbers for every error, IANA zones for
Windows and vendor TZIDs, per-file VTIMEZONEs, ``X-WR-TIMEZONE``, and the mapping to the
normalised :class:`~balanced_calendar.model.Event` (docs/architecture.md). See ``docs/ics.md``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import stat
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import icalendar
from dateutil import rrule as _rrule
from icalendar.prop import vBroken
from icalendar.timezone import tzp
from recurring_ical_events import EventAdapter, Series

from balanced_calendar.model import (
    Event,
    InputError,
    Kind,
    ProviderError,
    Response,
    ShowAs,
    Status,
    Window,
)
from connectors._http import MAX_DOWNLOAD_BYTES, fetch, http_url, redact
from connectors._ics_scan import _CONTENT_LINE, Block, Errors, Layout, _value, scan
from connectors._zones import to_zoneinfo
from connectors.base import Connector

log = logging.getLogger(__name__)

__all__ = ["MAX_DOWNLOAD_BYTES", "IcsConnector", "ParsedCalendar", "parse_calendar"]

_PARTSTAT = {
    "ACCEPTED": Response.ACCEPTED,
    "TENTATIVE": Response.TENTATIVE,
    "DECLINED": Response.DECLINED,
    "NEEDS-ACTION": Response.NEEDS_ACTION,
    "DELEGATED": Response.DECLINED,  # handed to someone else: the owner will not attend
}
_BUSYSTATUS = {
    "FREE": ShowAs.FREE,
    "TENTATIVE": ShowAs.TENTATIVE,
    "BUSY": ShowAs.BUSY,
    "OOF": ShowAs.OOF,
    "WORKINGELSEWHERE": ShowAs.WORKING_ELSEWHERE,
}
#: properties this connector reads, with what a broken value should have been
_USED = {
    "DTSTART": "that is not a date or date-time",
    "DTEND": "that is not a date or date-time",
    "RECURRENCE-ID": "that is not a date or date-time",
    "EXDATE": "that is not a list of dates or date-times",
    "RDATE": "that is not a list of dates, date-times or periods",
    "DURATION": "that is not a duration (such as PT1H)",
    "RRULE": "that is not a valid recurrence rule",
    "SEQUENCE": "that is not a whole number",
    "ORGANIZER": "that is not a calendar address",
    "ATTENDEE": "that is not a calendar address",
}
#: a recurrence rule that can repeat more often than this in a day (every 30 minutes) is
#: refused: SECONDLY and MINUTELY series explode in time and memory (docs/ics.md)
MAX_INSTANCES_PER_DAY = 48
#: a rule that takes more steps than this from its DTSTART to the end of a read is refused:
#: the expansion walks every step from DTSTART, even those before the window
MAX_RULE_STEPS = 200_000
_ZONED = ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE")
_SINGLE = ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID")


# -- parsing and checking ----------------------------------------------------------------
class _Zones:
    """Resolves TZIDs for one file: IANA, Windows and vendor names first, then its VTIMEZONEs.

    Known names win over the file's VTIMEZONE (Outlook's often holds only one year's
    rule); custom VTIMEZONEs are built per file, never shared between files.
    """

    def __init__(self, calendars: list[icalendar.Component], layout: Layout,
                 errors: Errors) -> None:
        self._definitions = {
            str(vtimezone["TZID"]).strip('"'): vtimezone
            for calendar in calendars for vtimezone in calendar.walk("VTIMEZONE")
            if "TZID" in vtimezone
        }
        self._vtimezones = layout.vtimezones  # not the layout: its lines go after parsing
        self._errors = errors
        self._known: dict[str, dt.tzinfo | None] = {}

    def get(self, tzid: str) -> dt.tzinfo | None:
        tzid = tzid.strip('"')
        if tzid not in self._known:
            zone: dt.tzinfo | None = to_zoneinfo(tzid)
            if zone is None and tzid in self._definitions:
                try:
                    zone = self._definitions[tzid].to_tz(tzp, lookup_tzid=False)
                except Exception as exc:  # icalendar on a VTIMEZONE it cannot build
                    block = self._vtimezones.get(tzid)
                    raise InputError(source=self._errors.source, line=block.line if block else None,
                                     component="VTIMEZONE", detail="{value} cannot be used",
                                     value=tzid) from None
            self._known[tzid] = zone
        return self._known[tzid]


def _values(component: icalendar.Component, name: str) -> list[Any]:
    value = component.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


def _localize(value: Any, zone: dt.tzinfo) -> Any:
    """Attach ``zone`` to the wall time of a parsed value (datetime, or period tuple)."""
    if isinstance(value, tuple):
        return tuple(_localize(part, zone) for part in value)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=zone)
    return value


def _to_calendar_zone(value: Any, zone: dt.tzinfo) -> Any:
    """X-WR-TIMEZONE: floating and UTC times mean the calendar's zone."""
    if isinstance(value, tuple):
        return tuple(_to_calendar_zone(part, zone) for part in value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=zone)
        if value.utcoffset() == dt.timedelta(0) and (value.tzname() or "").upper() in ("UTC", "Z"):
            return value.astimezone(zone)
    return value


def _map_times(component: icalendar.Component, name: str,
               convert: Callable[[Any, str | None], Any]) -> None:
    """Replace every value of the date/time property ``name`` by ``convert(value, tzid)``."""
    for prop in _values(component, name):
        for item in getattr(prop, "dts", None) or [prop]:
            item.dt = convert(item.dt, prop.params.get("TZID"))


def _comparable(value: dt.date) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time(), tzinfo=dt.timezone.utc)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _check(component: icalendar.Component, block: Block | None, errors: Errors,
           zones: _Zones, calendar_zone: dt.tzinfo | None, layout: Layout) -> None:
    """Fail on anything this VEVENT needs but cannot give; normalise zones and lengths.

    Mutates ``component``: gives it a stable UID when it has none, attaches IANA/VTIMEZONE
    zones to TZID times, applies X-WR-TIMEZONE, and makes reversed events zero-length.
    """
    _check_parse_errors(component, block, errors)
    uid = _uid_or_stand_in(component, block, layout)
    component["UID"] = uid
    _check_times(component, block, errors)
    _normalise(component, uid, block, errors, zones, calendar_zone)


def _normalise(component: icalendar.Component, uid: str, block: Block | None, errors: Errors,
               zones: _Zones, calendar_zone: dt.tzinfo | None) -> None:
    """The changes :func:`_check` makes once a VEVENT is known good (also used when a kept
    VEVENT is parsed again for a read): the UID, the zones, the length."""
    component["UID"] = uid
    for name in _ZONED:
        def zoned(value: Any, tzid: str | None, name: str = name) -> Any:
            if tzid:
                zone = zones.get(tzid)
                if zone is None:
                    raise errors.event(
                        block, "uses a time zone ({value}) that is neither an IANA nor a "
                        "Windows zone name and has no VTIMEZONE in the file", name, value=tzid)
                value = _localize(value, zone)
            return _to_calendar_zone(value, calendar_zone) if calendar_zone else value

        _map_times(component, name, zoned)
    _fix_length(component)


def _check_parse_errors(component: icalendar.Component, block: Block | None,
                        errors: Errors) -> None:
    """Raise for garbled lines and for unreadable values of the properties we use."""
    for prop, message in component.errors:
        if prop is None:
            number = errors.bad_line(block.first, block.last) if block else None
            raise errors.event(block, "has a content line that cannot be read "
                               "(expected NAME;PARAM=VALUE:VALUE)", line=number)
        prop = prop.upper()
        if prop in _USED:
            broken = [v for v in _values(component, prop) if isinstance(v, vBroken)]
            raw = str(broken[0])[:60] if broken else ""
            if prop == "RRULE":
                raise errors.event(block, f"has {prop} {{value}} {_USED[prop]} ({{other}})", prop,
                                   value=raw, other=message)
            raise errors.event(block, f"has {prop} {{value}} {_USED[prop]}", prop, value=raw)
        log.debug("ignoring an unreadable %s (line %s)", prop,
                  block.props.get(prop) if block else "?")


def _uid_or_stand_in(component: icalendar.Component, block: Block | None,
                     layout: Layout) -> str:
    """The UID, or one derived from the event's text: stable while the text is unchanged."""
    uid = str(_first(component.get("UID", ""))).strip()
    if uid:
        return uid
    lines = layout.lines[block.first:block.last + 1] if block else []
    text = "\n".join(line for _, line in lines) or component.to_ical().decode()
    return "nouid-" + hashlib.sha256(text.encode()).hexdigest()[:20]


def _check_times(component: icalendar.Component, block: Block | None, errors: Errors) -> None:
    if "DTSTART" not in component:
        raise errors.event(block, "has no DTSTART")
    for name in _SINGLE:
        if isinstance(component.get(name), list):
            raise errors.event(block, f"has more than one {name}", name)
    for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
        prop = component.get(name)
        if prop is not None and not isinstance(prop.dt, dt.date):  # a bare time or duration
            raise errors.event(block, f"has {name} {{value}} {_USED[name]}", name,
                               value=prop.to_ical().decode()[:60])
    duration = component.get("DURATION")
    if duration is not None and not isinstance(duration.dt, dt.timedelta):
        raise errors.event(block, f"has DURATION {{value}} {_USED['DURATION']}", "DURATION",
                           value=duration.to_ical().decode()[:60])
    end = component.get("DTEND")
    if end is not None and (isinstance(component["DTSTART"].dt, dt.datetime)
                            != isinstance(end.dt, dt.datetime)):
        raise errors.event(block, "has a DTSTART and a DTEND of different types "
                           "(one a date, the other a date-time)", "DTEND")


def _fix_length(component: icalendar.Component) -> None:
    """Reversed timed events become zero-length at their start; empty all-day ones one day."""
    start = component["DTSTART"].dt
    timed = isinstance(start, dt.datetime)
    end = component.get("DTEND")
    if end is not None:
        if timed and _comparable(end.dt) < _comparable(start):
            end.dt = start
        elif not timed and end.dt <= start:
            end.dt = start + dt.timedelta(days=1)
    elif "DURATION" in component and component["DURATION"].dt < dt.timedelta(0):
        component["DURATION"].dt = dt.timedelta(days=0 if timed else 1)


#: the VEVENT properties a read uses (recurring-ical-events and :func:`_to_event`); a VEVENT
#: is kept as the text of these lines only and parsed again when a read may need it
_KEPT = frozenset({
    "UID", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID",
    "SEQUENCE", "STATUS", "ORGANIZER", "ATTENDEE", "TRANSP", "X-MICROSOFT-CDO-BUSYSTATUS",
    "X-BALANCED-CALENDAR-ID"})
_RECURRENCE = ("RRULE", "RDATE", "RECURRENCE-ID")
#: how far a single event's stored bounds are widened: floating times and dates are read in
#: the reader's zone (at most 14 h from UTC), so the test against a window stays generous
_MARGIN = dt.timedelta(days=2)


@dataclass(frozen=True, slots=True)
class _Series:
    """The VEVENTs of one UID, kept as text (the lines of :data:`_KEPT`, with the calendar
    each came from) and parsed again by a read that may need them: the icalendar tree of
    a VEVENT lives only while it is used, not for the life of the parsed calendar."""

    members: tuple[tuple[str, int], ...]
    uid: str
    block: Block | None
    recurring: bool
    #: for a series that does not recur, UTC bounds (widened by :data:`_MARGIN`) outside
    #: which it cannot have an instance; None: any window
    span: tuple[dt.datetime, dt.datetime] | None


def _skeleton(layout: Layout) -> tuple[str, list[int]]:
    """The text without its VEVENTs (the calendars, their properties and VTIMEZONEs), and
    for each VEVENT of ``layout.vevents`` the index of the calendar it is in."""
    starts = {block.first: block for block in layout.vevents}
    parts: list[str] = []
    owners: list[int] = []
    calendar, index, lines = -1, 0, layout.lines
    while index < len(lines):
        block = starts.get(index)
        if block is not None:
            owners.append(max(calendar, 0))
            index = block.last + 1
            continue
        line = lines[index][1]
        match = _CONTENT_LINE.match(line)
        if match is not None and match.group()[:-1].upper() == "BEGIN" and _value(line).upper() == "VCALENDAR":
            calendar += 1
        parts.append(line)
        index += 1
    return "\r\n".join(parts), owners


def _kept_text(layout: Layout, block: Block) -> str:
    """The VEVENT's own lines that a read uses (:data:`_KEPT`; ``SUMMARY`` for own blocks),
    without nested components (alarms)."""
    summary = "X-BALANCED-CALENDAR-ID" in block.props
    out: list[str] = []
    depth = 0
    for _, line in layout.lines[block.first:block.last + 1]:
        match = _CONTENT_LINE.match(line)
        name = match.group()[:-1].upper() if match is not None else ""
        if name == "BEGIN":
            depth += 1
            if depth == 1:
                out.append(line)
        elif name == "END":
            if depth == 1:
                out.append(line)
            depth -= 1
        elif depth == 1 and (name in _KEPT or (summary and name == "SUMMARY")):
            out.append(line)
    return "\r\n".join(out)


def _slim(block: Block) -> Block:
    """What a read still needs of a VEVENT's block: its line, UID and RRULE line."""
    props = {"RRULE": block.props["RRULE"]} if "RRULE" in block.props else {}
    return Block(block.name, block.line, block.first, block.last, block.uid, block.tzid, props)


def _span(component: icalendar.Component) -> tuple[dt.datetime, dt.datetime] | None:
    """UTC bounds of a checked, non-recurring VEVENT, widened by :data:`_MARGIN`."""
    try:
        start = component["DTSTART"].dt
        times = [_comparable(start)]
        if "DTEND" in component:
            times.append(_comparable(component["DTEND"].dt))
        if "DURATION" in component:
            times.append(_comparable(start + component["DURATION"].dt))
        times.append(times[0] + dt.timedelta(days=1))
        return (min(times) - _MARGIN).astimezone(dt.timezone.utc), (max(times) + _MARGIN).astimezone(dt.timezone.utc)
    except Exception:  # an odd value: never filter this series out
        return None


def _build(members: tuple[tuple[str, int], ...] | list[tuple[str, int]], uid: str, block: Block | None,
           errors: Errors, zones: _Zones, calendar_zones: list[dt.tzinfo | None]) -> Series:
    """Parse the kept text of a series again and build it (may raise what Series raises)."""
    components = []
    for text, owner in members:
        component = icalendar.Event.from_ical(text)
        _normalise(component, uid, block, errors, zones, calendar_zones[owner])
        components.append(component)
    return Series([EventAdapter(component) for component in components])


class ParsedCalendar:
    """A parsed and checked calendar, ready to be expanded for any window and zone.

    Build it with :meth:`parse`; :meth:`events` may then be called any number of times.
    """

    def __init__(self, source: str, series: list[_Series], errors: Errors,
                 refused: list[InputError] | None = None, zones: _Zones | None = None,
                 calendar_zones: list[dt.tzinfo | None] | None = None) -> None:
        self.source = source
        self._series = series
        self._errors = errors
        self._refused = list(refused or [])
        self._skipped_now: list[InputError] = []
        self._zones = zones
        self._calendar_zones = calendar_zones or [None]

    @property
    def skipped(self) -> list[InputError]:
        """The series left out of the last :meth:`events` (recurrences too dense or too long
        to expand, see :data:`MAX_INSTANCES_PER_DAY` and :data:`MAX_RULE_STEPS`): one
        :class:`InputError` each, naming the line and UID, never the title."""
        return self._refused + self._skipped_now

    @classmethod
    def parse(cls, data: str | bytes, *, source: str, encoding: str | None = None,
              check: Callable[[], None] | None = None) -> ParsedCalendar:
        """Parse iCalendar ``data``; ``source`` names it in every error message.

        Raises :class:`InputError` naming ``source`` (and the line and VEVENT UID where
        possible) when the data is not a calendar, is unbalanced or garbled, has a VEVENT
        with an unreadable date, duration or rule, or uses a zone it cannot resolve. A series
        whose rule repeats more often than :data:`MAX_INSTANCES_PER_DAY` is not an error: it is
        left out and listed in :attr:`skipped`. ``check`` is called between steps and may
        raise (a deadline).

        Memory: the calendars' own lines and VTIMEZONEs are parsed once; each VEVENT is
        parsed alone from the scan's line range, checked, and kept as the text of the lines a
        read uses (:data:`_KEPT`), so the icalendar tree of one VEVENT lives at a time.
        """
        check = check or _no_check
        text = _decode(data, encoding).lstrip("\ufeff")
        del data
        layout = scan(text, source)
        del text
        check()
        errors = Errors(source, layout)

        def unreadable(exc: Exception) -> InputError:
            return InputError(source=source, line=errors.bad_line(),
                              detail="cannot be read as iCalendar ({raw})", value=str(exc))

        skeleton, owners = _skeleton(layout)
        try:
            calendars = icalendar.Calendar.from_ical(skeleton, multiple=True)
        except Exception as exc:  # icalendar raises plain ValueError/KeyError on bad input
            raise unreadable(exc) from None
        del skeleton
        check()
        zones = _Zones(calendars, layout, errors)
        # Errors are raised in the order a whole-file parse gave them: a VEVENT icalendar
        # cannot read, then an unknown X-WR-TIMEZONE, then the first VEVENT that fails a check.
        failed: InputError | None = None
        calendar_zones: list[dt.tzinfo | None] = []
        for calendar in calendars:
            try:
                calendar_zones.append(_calendar_zone(calendar, layout, source))
            except InputError as exc:
                failed = failed or exc
                calendar_zones.append(None)
        calendar_zones = calendar_zones or [None]
        del calendars
        groups: dict[str, list[tuple[str, int]]] = {}
        first_block: dict[str, Block] = {}
        recurring: dict[str, bool] = {}
        spans: dict[str, tuple[dt.datetime, dt.datetime] | None] = {}
        alone: dict[str, tuple[str | None, bool]] = {}  # built as a one-VEVENT series: (error, too dense)
        for number, (block, owner) in enumerate(zip(layout.vevents, owners)):
            if number % 1000 == 999:
                check()
            owner = min(owner, len(calendar_zones) - 1)
            body = "\r\n".join(line for _, line in layout.lines[block.first:block.last + 1])
            try:
                component = icalendar.Event.from_ical(body)
            except Exception as exc:
                raise unreadable(exc) from None
            del body
            if failed is not None:
                continue  # only looking for unreadable VEVENTs now
            try:
                _check(component, block, errors, zones, calendar_zones[owner], layout)
            except InputError as exc:
                failed = exc
                continue
            uid = str(component["UID"])
            member_recurs = any(name in component for name in _RECURRENCE)
            if uid not in groups:
                groups[uid] = []
                first_block[uid] = _slim(block)
                recurring[uid] = member_recurs
                spans[uid] = None if member_recurs else _span(component)
                try:
                    built = Series([EventAdapter(component)])
                    dense = member_recurs and any(_per_day(rule) > MAX_INSTANCES_PER_DAY for rule in _rules(built))
                    alone[uid] = (None, dense)
                except Exception as exc:  # recurring-ical-events / dateutil on a bad rule
                    alone[uid] = (str(exc), False)
            else:
                recurring[uid] = recurring[uid] or member_recurs
                span, other = spans[uid], (None if member_recurs else _span(component))
                spans[uid] = None if span is None or other is None else (min(span[0], other[0]), max(span[1], other[1]))
            groups[uid].append((_kept_text(layout, block), owner))
            del component
        if failed is not None:
            raise failed
        count = len(layout.vevents)
        errors = Errors(source, Layout([], [], layout.vtimezones, layout.calendar_props))
        zones._errors = errors
        del layout, owners
        series: list[_Series] = []
        refused: list[InputError] = []
        for number, (uid, members) in enumerate(groups.items()):
            if number % 1000 == 999:
                check()
            block = first_block[uid]
            is_recurring = recurring[uid]
            if len(members) == 1:
                message, dense = alone[uid]
            else:
                try:
                    built = _build(members, uid, block, errors, zones, calendar_zones)
                    message = None
                    dense = is_recurring and any(_per_day(rule) > MAX_INSTANCES_PER_DAY for rule in _rules(built))
                    del built
                except Exception as exc:  # recurring-ical-events / dateutil on a bad rule
                    message, dense = str(exc), False
            if message is not None:
                raise errors.event(block, "cannot be expanded ({raw})", value=message)
            if dense:
                refused.append(errors.event(
                    block, f"has an RRULE that repeats more often than {MAX_INSTANCES_PER_DAY} "
                    "times a day (SECONDLY or MINUTELY); the series is left out", "RRULE"))
                continue
            series.append(_Series(tuple(members), uid, block, is_recurring,
                                  None if is_recurring else spans[uid]))
        log.debug("parsed %d VEVENTs in %d series from %s", count, len(series), source)
        return cls(source, series, errors, refused, zones, calendar_zones)

    def events(self, window: Window, tz: dt.tzinfo, *, owner: str | None,
               calendar: str = "primary") -> list[Event]:
        """Every instance overlapping ``window``, normalised (docs/architecture.md), sorted by start.

        Floating times and all-day dates are read in ``tz``; timed events come back in
        ``tz``; cancelled instances are dropped. Raises :class:`InputError` when a series
        cannot be expanded. Series too dense or too long to expand (see :attr:`skipped`)
        are left out; the rest of the calendar is returned.
        """
        me = _address(owner) if owner else None
        start, end = window.start.astimezone(tz), window.end.astimezone(tz)
        days = max(1.0, (end - start).total_seconds() / 86400)
        most = int(MAX_INSTANCES_PER_DAY * days) + 1000
        self._skipped_now = []
        result: list[Event] = []
        first, last = start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc)
        for entry in self._series:
            if entry.span is not None and (entry.span[1] < first or entry.span[0] > last):
                continue  # a single event far from the window: not parsed again
            try:
                built = _build(entry.members, entry.uid, entry.block, self._errors, self._zones,
                               self._calendar_zones)
            except InputError:
                raise
            except Exception as exc:  # recurring-ical-events / dateutil on a bad rule
                raise self._errors.event(entry.block, "cannot be expanded ({raw})", value=str(exc)) from None
            if entry.recurring:
                steps = max((_steps(rule, end) for rule in _rules(built)), default=0)
                if steps > MAX_RULE_STEPS:
                    self._skipped_now.append(self._errors.event(
                        entry.block, f"has an RRULE that takes more than {MAX_RULE_STEPS:,} steps from its "
                        "DTSTART to the end of the period read (give it an UNTIL or COUNT); "
                        "the series is left out", "RRULE"))
                    continue
            try:
                occurrences = list(_at_most(built.between(start, end), most))
                if len(occurrences) > most - 1:
                    self._skipped_now.append(self._errors.event(
                        entry.block, f"has more than {most - 1:,} instances in the period read; "
                        "the series is left out", "RRULE"))
                    continue
                components = [occurrence.as_component(False) for occurrence in occurrences]
            except Exception as exc:  # recurring-ical-events / dateutil on a bad rule
                raise self._errors.event(entry.block, "cannot be expanded ({raw})", value=str(exc)) from None
            for component in components:
                try:
                    event = _to_event(component, entry.recurring, tz, me, calendar)
                except ValueError as exc:
                    raise self._errors.event(entry.block, "cannot be used ({raw})", value=str(exc)) from None
                if event is not None:
                    result.append(event)
        result.sort(key=lambda event: (_as_instant(event.start, tz), event.uid))
        return result


def _no_check() -> None:
    return None


def _at_most(items: Iterator[Any], limit: int) -> Iterator[Any]:
    """The first ``limit`` items of a lazy expansion (so memory stays bounded)."""
    for number, item in enumerate(items):
        if number >= limit:
            return
        yield item


def _rules(series: Series) -> list[_rrule.rrule]:
    """The dateutil rules (RRULEs) behind a series; none for single events and RDATE lists."""
    recurrence = getattr(series, "recurrence", None)
    return [rule for rule in getattr(recurrence, "rrules", []) if isinstance(rule, _rrule.rrule)]


def _count(values: Any) -> int:
    return len(values) if values else 1


def _per_day(rule: _rrule.rrule) -> float:
    """An upper bound of the instances ``rule`` can give in one day (BY* filters ignored)."""
    freq, interval = rule._freq, max(1, rule._interval)
    hours, minutes, seconds = _count(rule._byhour), _count(rule._byminute), _count(rule._bysecond)
    if freq == _rrule.SECONDLY:
        return 86400 / interval
    if freq == _rrule.MINUTELY:
        return 1440 / interval * seconds
    if freq == _rrule.HOURLY:
        return 24 / interval * minutes * seconds
    days = 1 / interval if freq == _rrule.DAILY else 1.0
    return days * hours * minutes * seconds


def _steps(rule: _rrule.rrule, end: dt.datetime) -> float:
    """About how many instances dateutil walks from the rule's DTSTART to ``end``."""
    first = rule._dtstart
    if rule._until is not None:
        until = rule._until
        end = until.replace(tzinfo=end.tzinfo) if until.tzinfo is None else min(end, until)
    span = (end.replace(tzinfo=None) - first.replace(tzinfo=None)).total_seconds() / 86400
    steps = max(0.0, span) * _per_day(rule)
    return min(steps, rule._count) if rule._count else steps


def _decode(data: str | bytes, encoding: str | None) -> str:
    """Text of the calendar: UTF-16 if it has that BOM (some Outlook saves), else UTF-8
    or the charset the server announced; undecodable bytes become U+FFFD."""
    if isinstance(data, str):
        return data
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode(encoding or "utf-8-sig", errors="replace")
    except LookupError:  # a web server announced a charset Python does not know
        return data.decode("utf-8-sig", errors="replace")


def _calendar_zone(calendar: icalendar.Component, layout: Layout,
                   source: str) -> dt.tzinfo | None:
    name = calendar.get("X-WR-TIMEZONE")
    if name is None or not str(name).strip():
        return None
    zone = to_zoneinfo(str(name))
    if zone is None:
        line = layout.calendar_props.get("X-WR-TIMEZONE")
        raise InputError(source=source, line=line, detail="X-WR-TIMEZONE {value} is not a known time zone",
                         value=str(name))
    return zone


def parse_calendar(text: str | bytes, *, source: str, window: Window, tz: dt.tzinfo,
                   owner: str | None, calendar: str = "primary") -> list[Event]:
    """Parse iCalendar ``text`` and return its event instances overlapping ``window``.

    ``source`` names the data in error messages, ``tz`` is the person's zone (floating
    times, all-day dates, and the zone results are given in), ``owner`` the person's
    address (with or without ``mailto:``). Raises :class:`InputError` for unusable data.
    """
    parsed = ParsedCalendar.parse(text, source=source)
    return parsed.events(window, tz, owner=owner, calendar=calendar)


# -- mapping to the normalised event -----------------------------------------------------
def _address(value: Any) -> str:
    text = str(value).strip()
    if text[:7].lower() == "mailto:":
        text = text[7:]
    return text.strip().lower()


def _param(prop: Any, name: str) -> str:
    params = getattr(prop, "params", None)
    return str(params.get(name, "")).upper() if params else ""


def _text(component: icalendar.Component, name: str) -> str:
    value = _first(component.get(name))
    return str(value).strip() if value is not None else ""


def _aware(value: dt.date, tz: dt.tzinfo) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(tz)


def _as_instant(value: dt.date, tz: dt.tzinfo) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time(), tzinfo=tz)


def _rid_text(value: dt.date) -> str:
    """RECURRENCE-ID as a stable string: UTC ISO for zoned times, as written otherwise."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def _participation(component: icalendar.Component,
                   me: str | None) -> tuple[Response, bool, int]:
    """(owner's response, organizer_is_self, number of other participants)."""
    organizer = _first(component.get("ORGANIZER"))
    organizer_address = _address(organizer) if organizer is not None else ""
    attendees = _values(component, "ATTENDEE")
    others: set[str] = set()
    mine: Any = None
    for person in ([organizer] if organizer_address else []) + attendees:
        address = _address(person)
        if not address:
            continue
        if me is not None and address == me:
            if person is not organizer and mine is None:
                mine = person
            continue
        if _param(person, "CUTYPE") in ("ROOM", "RESOURCE"):
            continue
        if _param(person, "ROLE") == "NON-PARTICIPANT":
            continue
        others.add(address)
    organizer_is_self = not organizer_address or organizer_address == me
    if organizer_address and organizer_address == me:
        response = Response.ORGANIZER
    elif not organizer_address and not attendees:
        response = Response.ORGANIZER
    elif mine is not None:
        response = _PARTSTAT.get(_param(mine, "PARTSTAT") or "NEEDS-ACTION", Response.UNKNOWN)
    else:
        response = Response.UNKNOWN
    return response, organizer_is_self, len(others)


def _to_event(component: icalendar.Component, recurring: bool, tz: dt.tzinfo,
              me: str | None, calendar: str) -> Event | None:
    """One expanded instance as an :class:`Event`; ``None`` when it is cancelled."""
    status_text = _text(component, "STATUS").upper()
    if status_text == "CANCELLED":
        return None
    start: dt.date = component["DTSTART"].dt
    end: dt.date = component["DTEND"].dt
    all_day = not isinstance(start, dt.datetime) and not isinstance(end, dt.datetime)
    if not all_day:
        start, end = _aware(start, tz), _aware(end, tz)
        end = max(end, start)
    response, organizer_is_self, others = _participation(component, me)
    show_as = ShowAs.FREE if _text(component, "TRANSP").upper() == "TRANSPARENT" else ShowAs.BUSY
    show_as = _BUSYSTATUS.get(_text(component, "X-MICROSOFT-CDO-BUSYSTATUS").upper(), show_as)
    own_id = _text(component, "X-BALANCED-CALENDAR-ID")
    if own_id:
        kind = Kind.OWN_BLOCK
    elif show_as is ShowAs.OOF:
        kind = Kind.OUT_OF_OFFICE
    else:
        kind = Kind.EVENT
    uid = own_id or str(component["UID"])
    if recurring:
        rid = component.get("RECURRENCE-ID")
        this_and_future = rid is None or _param(rid, "RANGE") == "THISANDFUTURE"
        uid += "/" + _rid_text(component["DTSTART"].dt if this_and_future else rid.dt)
    return Event(
        uid=uid,
        start=start,
        end=end,
        all_day=all_day,
        status=Status.TENTATIVE if status_text == "TENTATIVE" else Status.CONFIRMED,
        response=response,
        show_as=show_as,
        kind=kind,
        others=others,
        organizer_is_self=organizer_is_self,
        calendar=calendar,
        title=(_text(component, "SUMMARY") or None) if kind is Kind.OWN_BLOCK else None,
    )


# -- reading -----------------------------------------------------------------------------
def local_path(source: str) -> str:
    """A local path for ``source``: ``file://`` URLs (``file:///home/…``, ``file://localhost/…``)
    become paths; anything else is returned as given. Raises :class:`InputError` for a
    ``file://`` URL naming another host."""
    parts = urllib.parse.urlsplit(source.strip())
    if parts.scheme.lower() != "file":
        return source
    if parts.netloc not in ("", "localhost"):
        raise InputError(source=source, detail="a file:// URL must name a local file (file:///path)")
    return urllib.request.url2pathname(parts.path)


def _read_file(path: str) -> bytes:
    """The bytes of a local ICS file; :class:`InputError` when it cannot be read, is not a
    regular file (a device such as ``/dev/zero``, a FIFO, a socket) or is larger than
    :data:`MAX_DOWNLOAD_BYTES`."""
    try:
        file = Path(path).expanduser()
        info = file.stat()
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(path)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(source=path, detail="is not a regular file (a device, FIFO or socket); "
                             "give an exported .ics file")
        if info.st_size > MAX_DOWNLOAD_BYTES:
            raise InputError(source=path, detail=f"is larger than {MAX_DOWNLOAD_BYTES // 2**20} MiB")
        with file.open("rb") as handle:
            data = handle.read(MAX_DOWNLOAD_BYTES + 1)
        if len(data) > MAX_DOWNLOAD_BYTES:  # grew while being read
            raise InputError(source=path, detail=f"is larger than {MAX_DOWNLOAD_BYTES // 2**20} MiB")
        return data
    except FileNotFoundError:
        raise InputError(source=path, detail="ICS file not found") from None
    except IsADirectoryError:
        raise InputError(source=path, detail="is a directory, not an ICS file") from None
    except PermissionError:
        raise InputError(source=path, detail="cannot read the ICS file: permission denied") from None
    except OSError as exc:
        raise InputError(source=path, detail="cannot read the ICS file: {raw}",
                         value=str(exc.strerror or exc)) from None


# -- the connector -----------------------------------------------------------------------
class IcsConnector(Connector):
    """Reads one ICS file or published calendar; never writes.

    ``source`` is a local path or an ``http(s)://`` / ``webcal://`` address (webcal is
    fetched over https). The data is fetched and parsed once per instance, on the first
    :meth:`read`; create a new instance to see changes. ``opener`` is the seam for the
    HTTP client (proxies, tests). Errors: :class:`InputError` for a missing or unusable
    file or calendar data, :class:`ProviderError` for HTTP errors, timeouts and
    unreachable servers.
    """

    name: ClassVar[str] = "ics"
    supports_write: ClassVar[bool] = False
    cpu_bound: ClassVar[bool] = True  # icalendar parsing dominates; sync parses in worker processes

    def __init__(self, source: str, *, owner: str | None = None, calendar: str = "primary",
                 allow_write: bool = False, timeout: float = 30.0,
                 opener: urllib.request.OpenerDirector | None = None) -> None:
        super().__init__(owner=owner, calendar=calendar, allow_write=allow_write)
        self.source = os.fspath(source)
        self.timeout = timeout
        self._opener = opener
        self._parsed: ParsedCalendar | None = None

    def read(self, window: Window, tz: dt.tzinfo) -> list[Event]:
        """Every event instance overlapping ``window`` (see :meth:`ParsedCalendar.events`)."""
        return self._load().events(window, tz, owner=self.owner, calendar=self.calendar)

    @property
    def deadline_seconds(self) -> float | None:
        """The total time a read may take: ``timeout`` for a URL, ``None`` for a local file
        (bounded by its size instead)."""
        return self.timeout if http_url(self.source) is not None else None

    @property
    def skipped(self) -> list[InputError]:
        """Series left out of the last :meth:`read` (see :attr:`ParsedCalendar.skipped`)."""
        return self._parsed.skipped if self._parsed is not None else []

    def _load(self) -> ParsedCalendar:
        """Fetch and parse once. A URL is downloaded and parsed within ``timeout`` seconds in
        total (``ProviderError`` "no complete answer within N s"); a local file is bounded by
        its size instead (:data:`MAX_DOWNLOAD_BYTES`)."""
        if self._parsed is None:
            url = http_url(self.source)
            if url is not None:
                deadline = time.monotonic() + self.timeout
                label = redact(url)

                def check() -> None:
                    if time.monotonic() > deadline:
                        raise ProviderError(self.name, f"no complete answer within {self.timeout:g} s "
                                            "(download and parsing)", source=label)

                body, charset = fetch(url, self.timeout, self._opener)
                self._parsed = ParsedCalendar.parse(body, source=label, encoding=charset, check=check)
            else:
                path = local_path(self.source)
                self._parsed = ParsedCalendar.parse(_read_file(path), source=path)
        return self._parsed

    def close(self) -> None:
        """Drop the cached calendar. Safe to call twice."""
        self._parsed = None


# -- the plug-in -----------------------------------------------------------------------------
# (imported here, below the connector, so the plug-in stays one appended block)
import urllib.parse  # noqa: E402

from balanced_calendar.model import UserError  # noqa: E402
from connectors._ics_enroll import IcsEnrollment  # noqa: E402
from connectors.plugin import Context, Provider  # noqa: E402


#: the ``calendar`` of a configured ICS person whose file or URL lives in the vault
VAULT_SOURCE = "ics"


def _person_calendar(value: str | None, base_dir: Path) -> str:
    """A ``[[people]]`` ``calendar`` for ``ics``: an http(s)/webcal URL, or a file path
    resolved against the config folder; left out, the source given at enrollment (kept in the
    vault: published URLs are secrets) is used. Raises ``ValueError`` with the problem."""
    if value is None:
        return VAULT_SOURCE
    if not value.strip():
        raise ValueError("must not be empty")
    parts = urllib.parse.urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https", "webcal"):
        if not parts.netloc:
            raise ValueError("is not a usable URL: it names no host")
        return value
    if scheme == "file":
        try:
            value = local_path(value)
        except InputError as exc:
            raise ValueError(exc.detail) from None
        parts = urllib.parse.urlsplit(value)
        scheme = parts.scheme.lower()
    if scheme and len(scheme) > 1:  # one letter: a Windows drive, i.e. a path
        raise ValueError(f"unsupported URL scheme {scheme!r}: use https://, http://, webcal:// or a file path")
    path = Path(value)
    return str(path if path.is_absolute() else Path(os.path.normpath(base_dir / path)))


def _connector(ctx: Context) -> IcsConnector:
    """The person's calendar file or URL from the config, else the one kept in the vault."""
    configured = ctx.person.calendar
    source = configured if configured not in ("ics", "primary", "") else ctx.credentials.get().get("source")
    if not source:
        raise UserError("no ICS file or URL is known for this person",
                        hint='set calendar = "PATH|URL" in their [[people]] entry, or enroll them with '
                             "--calendar PATH|URL")
    return IcsConnector(source, owner=ctx.person.email, calendar="ics", timeout=ctx.settings.timeout)


PROVIDER = Provider(
    name="ics", connector="connectors.ics:IcsConnector", factory=_connector, calendar=_person_calendar,
    secret_calendar=True, enrollment=IcsEnrollment(), description="published calendars (http(s)/webcal URLs) and .ics files, read-only")
