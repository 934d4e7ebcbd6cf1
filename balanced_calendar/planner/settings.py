"""One person's planner settings: the policy's ``[planner]``, then the config's ``[planner]``,
then their own ``planner`` table (the config owns a person's settings)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from balanced_calendar.model import Policy, PlannerSettings

if TYPE_CHECKING:
    from balanced_calendar.config import Config, PlannerConfig


@dataclass(frozen=True, slots=True)
class PlanSettings:
    """What the planner does for one person.

    ``google_auto_decline`` reaches the connector as ``PersonRef.focus_auto_decline``
    (:func:`auto_decline_for`, used by the runtime when it builds the person's connector);
    the planner itself never declines or answers anything.
    """

    numbers: PlannerSettings
    focus: bool = True
    recovery: bool = True
    google_auto_decline: str = "off"


def _apply(settings: PlanSettings, layer: PlannerConfig | None) -> PlanSettings:
    if layer is None:
        return settings
    numbers = settings.numbers
    if layer.focus_target_minutes is not None:
        numbers = replace(numbers, focus_target_minutes=layer.focus_target_minutes)
    if layer.focus_window is not None:
        numbers = replace(numbers, focus_window=tuple(layer.focus_window))
    return PlanSettings(
        numbers=numbers,
        focus=settings.focus if layer.focus is None else layer.focus,
        recovery=settings.recovery if layer.recovery is None else layer.recovery,
        google_auto_decline=layer.google_auto_decline or settings.google_auto_decline,
    )


def settings_for(policy: Policy, config: Config | None = None, email: str | None = None,
                 own: PlannerConfig | None = None) -> PlanSettings:
    """The planner settings of ``email`` (or everyone's, without it); ``own`` is the person's
    portal choice, between ``[planner]`` and their own config table."""
    settings = PlanSettings(numbers=policy.planner)
    if config is None:
        return _apply(settings, own)
    settings = _apply(_apply(settings, config.planner), own)
    person = config.person(email) if email else None
    return _apply(settings, person.planner if person is not None else None)


def auto_decline_for(config: Config, email: str) -> str:
    """``email``'s ``google_auto_decline``: their ``planner`` table, else the config's
    ``[planner]``, else ``"off"`` (the one source of the Google auto-decline mode)."""
    person = config.person(email)
    for layer in (person.planner if person is not None else None, config.planner):
        if layer is not None and layer.google_auto_decline:
            return layer.google_auto_decline
    return "off"
