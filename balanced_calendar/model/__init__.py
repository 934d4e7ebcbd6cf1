"""Plain data shared by every layer (docs/architecture.md, docs/rules.md, docs/audit-json.md).

``connectors`` and ``policies`` import from here and from nowhere else in the core.
"""

from __future__ import annotations

from balanced_calendar.model.errors import (
    AuthExpired,
    BalancedCalendarError,
    ConfigError,
    Conflict,
    InputError,
    NotOurs,
    ProviderError,
    RateLimited,
    ReadOnlyConnector,
    UserError,
)
from balanced_calendar.model.events import (
    BlockRef,
    ChangeSet,
    Event,
    Kind,
    Response,
    ShowAs,
    Status,
    Window,
)
from balanced_calendar.model.policy import (
    DayHours,
    HolidayCalendar,
    Policy,
    Season,
    Thresholds,
    PlannerSettings,
)
from balanced_calendar.model.findings import AuditResult, Finding, FindingBlock, Findings

__all__ = [
    "AuditResult",
    "AuthExpired",
    "BalancedCalendarError",
    "ConfigError",
    "Conflict",
    "NotOurs",
    "BlockRef",
    "ChangeSet",
    "DayHours",
    "Event",
    "Finding",
    "FindingBlock",
    "Findings",
    "PlannerSettings",
    "HolidayCalendar",
    "InputError",
    "Kind",
    "Policy",
    "ProviderError",
    "RateLimited",
    "ReadOnlyConnector",
    "Response",
    "Season",
    "ShowAs",
    "Status",
    "Thresholds",
    "UserError",
    "Window",
]
