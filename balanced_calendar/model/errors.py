"""One exception tree. Every error knows the message a user should read.

``UserError`` and its children are printed without a traceback and exit with status 2.
Anything else is a bug and is allowed to show its traceback.
"""

from __future__ import annotations

from collections.abc import Iterable


class BalancedCalendarError(Exception):
    """Root of every error this project raises on purpose."""


class UserError(BalancedCalendarError):
    """Something the user can fix: bad input, bad config, missing file.

    ``hint`` says how to fix it, when we know.
    """

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class InputError(UserError):
    """A file, date, zone or option given on the command line is unusable."""


class ConfigError(UserError):
    """A config or policy file has problems; all of them are listed at once.

    ``problems`` are ``(key_path, message)`` pairs, e.g. ``("hours.mon.start", "not HH:MM")``.
    """

    def __init__(self, source: str, problems: Iterable[tuple[str, str]]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = [f"{source}: {len(self.problems)} problem(s):"]
        lines += [f"  {path or '<top>'}: {msg}" for path, msg in self.problems]
        super().__init__("\n".join(lines))


class ProviderError(UserError):
    """A calendar provider failed in a way a retry will not fix by itself."""

    def __init__(self, provider: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(f"{provider}: {message}", hint=hint)
        self.provider = provider


class AuthExpired(ProviderError):
    """Stored credentials no longer work; ``hint`` names the command that fixes it."""


class RateLimited(ProviderError):
    """The provider asked us to slow down; retry after ``retry_after`` seconds."""

    def __init__(self, provider: str, retry_after: float, message: str = "rate limited") -> None:
        super().__init__(provider, f"{message} (retry after {retry_after:g} s)")
        self.retry_after = retry_after


class ReadOnlyConnector(UserError):
    """A write was attempted on a connector that cannot (or may not) write."""


class Conflict(ProviderError):
    """A write's precondition failed: the block changed in the calendar since we last saw it
    (an etag/change-key mismatch, HTTP 412). Re-read, then decide again."""


class NotOurs(ReadOnlyConnector):
    """A write named an event that is not one of balanced-calendar's own blocks."""
