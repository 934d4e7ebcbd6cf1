"""The pre-parse text scan of an iCalendar file: where every component and property is.

``icalendar`` keeps no line numbers, so :func:`scan` reads the unfolded text once before
parsing: it checks BEGIN/END balance and the NAME:VALUE shape of each content line, and
records the line and UID of every VEVENT, each VTIMEZONE by TZID, and the first line of
each property. :class:`Errors` turns that into messages naming the file, line and VEVENT.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from icalendar.parser import Contentline

from balanced_calendar.model import InputError

#: components nested deeper than this are refused
MAX_DEPTH = 10
_CONTENT_LINE = re.compile(r"[A-Za-z0-9-]+[;:]")


@dataclass(slots=True)
class Block:
    """One component as it appears in the text: the parser does not keep line numbers."""

    name: str
    line: int
    first: int  # index of its BEGIN in Layout.lines
    last: int = -1  # index of its END
    uid: str | None = None
    tzid: str | None = None
    props: dict[str, int] = field(default_factory=dict)  # first line of each property


@dataclass(slots=True)
class Layout:
    """What :func:`scan` found: the unfolded lines and where the components start."""

    lines: list[tuple[int, str]]  # unfolded content lines and the physical line each starts on
    vevents: list[Block]
    vtimezones: dict[str, Block]
    calendar_props: dict[str, int]


def _value(line: str) -> str:
    """The value of a content line: everything after the first colon outside quotes."""
    head, sep, tail = line.partition(":")
    if '"' not in head:
        return tail.strip() if sep else ""
    index = Contentline(line).value_separator_index()
    return line[index + 1:].strip() if index >= 0 else ""


def unfold(text: str) -> list[tuple[int, str]]:
    """Join folded lines; each content line comes with the physical line it starts on."""
    lines: list[tuple[int, str]] = []
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(text.split("\n"), 1):
        if raw.endswith("\r"):
            raw = raw[:-1]
        if raw[:1] in (" ", "\t") and parts:
            parts.append(raw[1:])
        elif raw:
            if parts:
                lines.append((start, "".join(parts)))
            parts, start = [raw], number
    if parts:
        lines.append((start, "".join(parts)))
    return lines


def _not_a_calendar(source: str, first: str | None) -> InputError:
    hint = "export the calendar as iCalendar (.ics) or use its published (secret) .ics address"
    if first is not None and first.lstrip().startswith("<"):
        hint = "this looks like a web page (HTML); " + hint
    return InputError(source=source, detail="not an iCalendar file (it does not start with BEGIN:VCALENDAR)",
                      hint=hint)


def scan(text: str, source: str) -> Layout:
    """Check BEGIN/END balance and content-line shape; record where each VEVENT lives.

    Raises :class:`InputError` with the line number for an unbalanced or garbled file.
    """
    lines = unfold(text)
    layout = Layout(lines, [], {}, {})
    stack: list[Block] = []
    seen_calendar = False
    for index, (number, line) in enumerate(lines):
        match = _CONTENT_LINE.match(line)
        if match is None or ":" not in line:
            if not seen_calendar:
                raise _not_a_calendar(source, line)
            raise InputError(
                source=source, line=number, detail="not an iCalendar content line (expected NAME:VALUE)",
                hint="a long line may have been wrapped without the leading space folding needs",
            )
        name = match.group()[:-1].upper()
        if name == "BEGIN":
            component = _value(line).upper()
            if not stack and component != "VCALENDAR":
                if not seen_calendar:
                    raise _not_a_calendar(source, line)
                raise InputError(source=source, line=number, detail="BEGIN:{raw} outside VCALENDAR",
                                 value=component)
            for open_block in stack:
                if open_block.name == component:
                    raise InputError(
                        source=source, line=open_block.line, value=component,
                        detail=f"BEGIN:{{raw}} is never closed (line {number} begins another {{raw}})")
            if len(stack) >= MAX_DEPTH:
                raise InputError(source=source, line=number, detail="components nested too deeply")
            block = Block(component, number, index)
            stack.append(block)
            seen_calendar = True
            if component == "VEVENT":
                layout.vevents.append(block)
        elif name == "END":
            component = _value(line).upper()
            if all(block.name != component for block in stack):
                raise InputError(source=source, line=number, value=component,
                                 detail="END:{raw} without a matching BEGIN:{raw}")
            block = stack.pop()
            if block.name != component:
                raise InputError(
                    source=source, line=block.line, value=block.name, other=component,
                    detail=f"BEGIN:{{raw}} is never closed (line {number} has END:{{other}})")
            block.last = index
            if component == "VTIMEZONE" and block.tzid is not None:
                layout.vtimezones.setdefault(block.tzid, block)
        elif not stack:
            if not seen_calendar:
                raise _not_a_calendar(source, line)
            if name != "X-COMMENT":
                raise InputError(source=source, line=number, detail="{raw} after END:VCALENDAR", value=name)
        else:
            top = stack[-1]
            top.props.setdefault(name, number)
            if name == "UID" and top.uid is None:
                top.uid = _value(line)
            elif name == "TZID" and top.name == "VTIMEZONE":
                top.tzid = _value(line).strip('"')
            elif len(stack) == 1:
                layout.calendar_props.setdefault(name, number)
    if stack:
        block = stack[-1]
        raise InputError(source=source, line=block.line, detail="BEGIN:{raw} is never closed", value=block.name)
    if not seen_calendar:
        raise _not_a_calendar(source, None)
    return layout


class Errors:
    """Builds messages that name the file, the line and the VEVENT (never its title)."""

    def __init__(self, source: str, layout: Layout) -> None:
        self.source = source
        self.layout = layout

    def event(self, block: Block | None, problem: str, prop: str | None = None,
              line: int | None = None, value: str | None = None, other: str | None = None) -> InputError:
        """``source: line N: VEVENT (UID x) problem``; N is ``prop``'s line if given.

        ``problem`` is our text; calendar data (a raw property value, a library message
        quoting one) goes in ``value`` and is marked ``{value}``/``{raw}`` in ``problem``.
        """
        if block is None:
            return InputError(source=self.source, component="VEVENT", detail=problem, value=value, other=other)
        if line is None:
            line = block.props.get(prop, block.line) if prop else block.line
        return InputError(source=self.source, line=line, component="VEVENT", uid=block.uid,
                          detail=problem, value=value, other=other)

    def bad_line(self, first: int = 0, last: int | None = None) -> int | None:
        """The first content line in ``lines[first:last]`` that icalendar cannot split."""
        for number, line in self.layout.lines[first:last]:
            try:
                Contentline(line).parts()
            except ValueError:
                return number
        return None

