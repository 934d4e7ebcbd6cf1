"""Audit rules, one module each, and the policy presets (``presets/*.toml``).

Every rule module exposes ``RULE`` (its id in the ``audit`` contract), its texts per
language (read them through :mod:`balanced_calendar.texts`, never directly) and
``evaluate(timeline, policy)``, a pure function over one person's
:class:`~balanced_calendar.engine.timeline.Timeline` that returns its findings in date order
(a :class:`~balanced_calendar.model.FindingBlock`):

- ``DEFINITION = {"en": ..., "id": ...}``: the rule in one sentence, a format string over the
  policy's values (``{after_hours_minutes}``, ``{meeting_start}``, ...);
- ``DESCRIBE = {"en": ..., "id": ...}``: one finding in one sentence, a format string over the
  finding's fields; ``{minutes:h}`` shows a number of minutes as ``h:mm``.

Rules depend on :mod:`balanced_calendar.model` and on the engine's timeline type only.
"""

from __future__ import annotations

from types import ModuleType

from policies import (
    after_hours,
    back_to_back,
    break_overlap,
    focus_deficit,
    holiday_work,
    leave_work,
    long_day,
    meeting_overload,
    out_of_window_meeting,
    overtime_streak,
    short_rest,
    weekend_work,
)

#: in the order of docs/rules.md (findings are reported in this order)
RULES: tuple[ModuleType, ...] = (
    overtime_streak,
    weekend_work,
    holiday_work,
    leave_work,
    after_hours,
    out_of_window_meeting,
    break_overlap,
    short_rest,
    long_day,
    back_to_back,
    focus_deficit,
    meeting_overload,
)

RULE_IDS: tuple[str, ...] = tuple(r.RULE for r in RULES)
