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

    @property
    def public(self) -> str:
        """The message for logs, ``status`` and the database: no personal data.

        For errors whose whole text is ours this is the message; errors that carry data
        from a calendar or its address (:class:`InputError`, :class:`ProviderError`) leave
        those fields out here because they never format them, not because a pattern
        removes them afterwards.
        """
        return self.message


class InputError(UserError):
    """A file, date, zone or option is unusable.

    Built either from a message of ours (command-line input) or from fields, as connectors
    do: ``source`` (file path or redacted URL), ``line``, ``component`` and ``uid`` (where
    in the file), ``detail`` (our words; ``{value}`` marks where ``value``, text taken from
    the calendar, is quoted; ``{raw}`` quotes it without quotation marks, ``{other}`` a second such text). :attr:`message` shows them all to the person who gave the
    input; :attr:`public` keeps only the line number, the component and ``detail``.
    """

    def __init__(self, message: str | None = None, *, hint: str | None = None, source: str | None = None,
                 line: int | None = None, component: str | None = None, uid: str | None = None,
                 detail: str | None = None, value: str | None = None, other: str | None = None) -> None:
        self.source, self.line, self.component, self.uid = source, line, component, uid
        self.detail, self.value, self.other = detail, value, other
        self._structured = message is None
        super().__init__(message if message is not None else self._compose(full=True), hint=hint)

    def _compose(self, *, full: bool) -> str:
        head: list[str] = []
        if full and self.source:
            head.append(self.source)
        if self.line is not None:
            head.append(f"line {self.line}")
        detail = self.detail or "is unusable"
        detail = (detail.replace("{value}", repr(self.value) if full else "")
                  .replace("{raw}", str(self.value) if full else "")
                  .replace("{other}", str(self.other) if full else "").replace("  ", " "))
        if self.component:
            who = self.component
            if full:
                who += f" (UID {self.uid})" if self.uid else " (no UID)"
            detail = f"{who} {detail}"
        return ": ".join(head + [detail.replace(" ()", "").strip()])

    @property
    def public(self) -> str:
        return self._compose(full=False) if self._structured else self.message


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
    """A calendar provider failed in a way a retry will not fix by itself.

    ``source`` (a redacted URL, a file) is shown to the operator in :attr:`message` and
    left out of :attr:`public`.
    """

    def __init__(self, provider: str, message: str, *, hint: str | None = None,
                 source: str | None = None) -> None:
        super().__init__(f"{provider}: {source}: {message}" if source else f"{provider}: {message}", hint=hint)
        self.provider = provider
        self.source = source
        self.detail = message

    @property
    def public(self) -> str:
        return f"{self.provider}: {self.detail}"


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
