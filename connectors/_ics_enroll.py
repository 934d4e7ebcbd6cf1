"""Opt-in for the ICS provider: nobody signs in, the operator names a file or published URL.

The source is checked before anything is recorded: a local file must exist, be readable and
hold iCalendar data (its path is stored absolute, so ``sync`` works from any folder); a
published URL is downloaded and parsed once. The source is a secret (published addresses
carry tokens) and goes to the vault only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from balanced_calendar.model import InputError, UserError

from connectors.plugin import AuthStart, Enrolled, EnrollInput

_SCOPES = ("calendar.events.read",)


def _check_file(path: Path) -> None:
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except FileNotFoundError:
        raise InputError(f"ICS file not found: {path}",
                         hint="give the path of an exported .ics file (or a published https:// address)") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a directory, not an ICS file") from None
    except PermissionError:
        raise InputError(f"cannot read ICS file {path}: permission denied",
                         hint="the service user must be able to read it") from None
    except OSError as exc:
        raise InputError(f"cannot read ICS file {path}: {exc.strerror or exc}") from None
    text = head.decode("utf-8", "replace").lstrip("\ufeff \r\n\t")
    if not text.upper().startswith("BEGIN:VCALENDAR"):
        raise InputError(f"{path} is not an iCalendar file (it does not start with BEGIN:VCALENDAR)")


class IcsEnrollment:
    """The three entry points of :class:`connectors.plugin.Enrollment` for ICS."""

    def unattended(self, req: EnrollInput) -> Enrolled:
        from connectors._http import fetch, http_url
        from connectors.ics import ParsedCalendar

        source = (req.calendar or "").strip()
        if not source or source in ("primary", "ics"):  # "ics": configured to come from the vault
            raise UserError("an ICS person needs --calendar PATH|URL (or calendar = … in their [[people]] entry)")
        url = http_url(source)
        if url is not None:
            body, charset = fetch(url, getattr(req.settings, "timeout", 30.0), None)
            ParsedCalendar.parse(body, source="the published calendar", encoding=charset)
        elif "://" in source:
            raise InputError(f"unsupported calendar address scheme in {source.split('://')[0]!r}://…",
                             hint="use https://, http://, webcal:// or a file path")
        else:
            path = Path(os.path.abspath(os.path.expanduser(source)))
            _check_file(path)
            source = str(path)
        return Enrolled(calendar=source, secret={"source": source}, scopes=_SCOPES)

    def interactive(self, req: EnrollInput) -> Enrolled:
        return self.unattended(req)

    def start(self, req: EnrollInput, redirect_uri: str) -> AuthStart:
        raise UserError("ICS calendars have no sign-in: an operator enrolls them with a file or URL")

    def finish(self, req: EnrollInput, redirect_uri: str, params: Mapping[str, str],
               state: str, verifier: str) -> Enrolled:
        raise UserError("ICS calendars have no sign-in: an operator enrolls them with a file or URL")
