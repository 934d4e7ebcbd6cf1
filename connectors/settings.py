"""Settings schemas: the base every ``[connectors.<name>]`` section derives from, and the
field types the service config shares with the providers (secret files, endpoints, paths).

A provider names its schema in :attr:`connectors.plugin.Provider.settings`
(``"connectors.google:GoogleSettings"``); the config loader imports it only when the section
or a person needs it. Each option is declared once, with its type, default and help text.

Field types that touch the file system read the config folder from the validation context
(``model_validate(data, context={"base_dir": folder})``); without it they resolve against the
current directory. Cross-field rules ("``password_file`` is required when ``username`` is
set") are :meth:`SettingsModel.rules` over the raw table, so they are reported together with
the field problems, not only once every field is valid.

This module imports pydantic; :mod:`connectors.base` and :mod:`connectors.plugin` must not
(they are loaded by every parser worker).
"""

from __future__ import annotations

import ipaddress
import os
import stat
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, ValidationInfo

#: host names that are always the local machine (http:// is allowed for them)
LOOPBACK_NAMES = ("localhost", "localhost.localdomain")

Problem = tuple[str, str]
"""``(key, message)``: ``key`` relative to the table being validated."""


class SettingsModel(BaseModel):
    """A config table: unknown keys are errors, values are not coerced, results are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, validate_default=False)

    #: fields filled in by the loader, never written in the file (e.g. a section's ``name``)
    injected: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def rules(cls, raw: Mapping[str, Any]) -> list[Problem]:
        """Cross-field problems of the raw table (keys as written), ``[]`` when none.

        Called on the table as written, whether or not its fields are valid, so a missing
        companion key is reported together with the field problems. A rule that depends on a
        key whose value is invalid stays silent (that key is already reported).
        """
        return []


# -- shared checks -----------------------------------------------------------------------
def config_folder(info: ValidationInfo | None) -> Path:
    """The folder relative paths resolve against (the validation context's ``base_dir``)."""
    context = info.context if info is not None else None
    folder = (context or {}).get("base_dir")
    return Path(folder) if folder is not None else Path.cwd()


def resolve(value: str | os.PathLike[str], base_dir: Path) -> Path:
    """``value`` as an absolute, normalised path (relative to ``base_dir``)."""
    path = Path(value)
    return path if path.is_absolute() else Path(os.path.normpath(base_dir / path))


def is_loopback(host: str) -> bool:
    """``host`` is this machine (``localhost``, ``127.0.0.1``, ``[::1]``)."""
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint_problem(value: str) -> str | None:
    """Why ``value`` is not an acceptable endpoint: https only, http for a loopback host."""
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.hostname:
        return f"{value!r} is not an http(s) URL"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return "must use https:// (http:// is only allowed for a loopback host such as 127.0.0.1)"
    return None


def secret_file_problem(path: Path) -> str | None:
    """Why the secret file ``path`` is not usable: missing, not a file, readable by others.

    The file is only ``stat``-ed, never opened.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        return f"{path} does not exist"
    except PermissionError:
        return (f"{path} cannot be checked: permission denied (run the check as root or as the "
                f"service user)")
    except OSError as exc:
        return f"{path} cannot be checked: {exc.strerror}"
    if not stat.S_ISREG(info.st_mode):
        return f"{path} is not a regular file"
    if info.st_mode & 0o077:
        return (f"{path} is accessible by group or others (mode {stat.S_IMODE(info.st_mode):04o}); "
                f"run: chmod 600 {path}")
    return None


def required_secret(why: str = "") -> str:
    """The message for a missing ``*_file`` secret (``why``: ``' with mode = "app"'``)."""
    return f"is required{why}: the path of a file holding the secret"


def _type_problem(value: Any, expected: str) -> ValueError:
    return ValueError(f"must be {expected}, not {type(value).__name__} {value!r}")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _endpoint(value: str) -> str:
    problem = endpoint_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _local_path(value: Any, info: ValidationInfo) -> Path:
    if isinstance(value, Path):
        return value
    if not isinstance(value, str):
        raise _type_problem(value, "str")
    return resolve(_not_blank(value), config_folder(info))


def _readable_file(value: Any, info: ValidationInfo) -> Path:
    path = _local_path(value, info)
    if not path.is_file():
        raise ValueError(f"{path} is not a readable file")
    return path


def _secret_file(value: Any, info: ValidationInfo) -> Path:
    path = _local_path(value, info)
    problem = secret_file_problem(path)
    if problem:
        raise ValueError(problem)
    return path


#: a string that is not empty or blank
NonBlank = Annotated[str, AfterValidator(_not_blank)]
#: an ``https://`` URL (``http://`` only for a loopback host: credentials travel)
Endpoint = Annotated[str, AfterValidator(_endpoint)]
#: a file-system path; relative values resolve against the config folder
LocalPath = Annotated[Path, PlainValidator(_local_path)]
#: a file that must exist (e.g. a ``ca_file`` bundle), resolved like :data:`LocalPath`
ReadableFile = Annotated[Path, PlainValidator(_readable_file)]
#: a ``*_file`` secret: a path (resolved like :data:`LocalPath`) to a regular file of mode 0600
SecretFile = Annotated[Path, PlainValidator(_secret_file)]


# -- the common connector section --------------------------------------------------------
class ConnectorSettings(SettingsModel):
    """Settings every ``[connectors.<name>]`` section accepts; the base of the provider ones.

    Providers without options of their own (``ics``, ``memory``) use this class as is.
    """

    injected: ClassVar[tuple[str, ...]] = ("name",)

    name: str = Field(description="the provider name (the section name; set by the loader)")
    max_concurrency: int = Field(4, gt=0, description="calendars of this provider read at the same time")
    timeout: float = Field(30.0, gt=0, description="seconds to wait for one provider request")
