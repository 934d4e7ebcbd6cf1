"""Which store ``[service]`` asks for: SQLite under ``state_dir`` or a PostgreSQL database.

``store`` unset (or ``sqlite:///<dir>``) opens the SQLite store; ``postgresql://user@host/db``
opens :class:`~balanced_calendar.store.postgres.PostgresStore`. The password never sits in
the URL (refused by the config check): it comes from the systemd credential
``store-password`` (``LoadCredential=store-password:/path``) or ``store_password_file``.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from balanced_calendar.model import UserError
from balanced_calendar.store.base import Store
from balanced_calendar.store.errors import StoreError

log = logging.getLogger(__name__)

CREDENTIAL_NAME = "store-password"
POSTGRES_SCHEMES = ("postgresql", "postgres")


def check_store_url(url: str) -> str:
    """``url`` if it names a store this version opens and carries no password; else ValueError."""
    parts = urlsplit(url.strip())
    if parts.scheme == "sqlite":
        if not parts.path:
            raise ValueError('a SQLite store is "sqlite:///<state directory>"')
        return url.strip()
    if parts.scheme not in POSTGRES_SCHEMES:
        raise ValueError('must be "postgresql://user@host[:port]/database" or "sqlite:///<directory>"')
    if parts.password is not None or "password" in parse_qs(parts.query):
        raise ValueError("must not contain a password: put it in store_password_file or the systemd "
                         "credential 'store-password'")
    if not parts.path.strip("/"):
        raise ValueError("names no database: postgresql://user@host/<database>")
    return url.strip()


def read_password(password_file: Path | None, environ: Mapping[str, str] = os.environ) -> str | None:
    """The store password: ``$CREDENTIALS_DIRECTORY/store-password``, else ``password_file``, else None.

    Raises :class:`UserError` when the file is missing, unreadable or open to group/others.
    Never logs or prints the password.
    """
    creds = environ.get("CREDENTIALS_DIRECTORY")
    if creds and (Path(creds) / CREDENTIAL_NAME).is_file():
        log.debug("store password from the systemd credential %s", CREDENTIAL_NAME)
        return _read(Path(creds) / CREDENTIAL_NAME)
    if password_file is None:
        return None
    path = Path(password_file)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise UserError(f"cannot read the store password file {path}: {exc.strerror}") from None
    if mode & 0o077:
        raise UserError(f"store password file {path} is accessible to group or others (mode {mode:04o}); "
                        "refusing to use it", hint=f"chmod 600 {path}")
    return _read(path)


def _read(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read the store password file {path}: {exc}") from None
    if not text:
        raise UserError(f"the store password file {path} is empty")
    return text


def open_url(url: str, *, password: str | None = None, state_dir: Path | None = None,
             secret: bytes | None = None, verify: Any = None, timeout: float = 30.0) -> Store:
    """Open the store a URL names (``sqlite:///dir`` or ``postgresql://…``); ``secret`` and
    ``verify`` as for :func:`balanced_calendar.store.open_store`; ``timeout``: how long a
    PostgreSQL call waits for the server."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        from balanced_calendar.store.sqlite import open_store

        return open_store(Path(parts.path), secret=secret, verify=verify)
    if parts.scheme in POSTGRES_SCHEMES:
        from balanced_calendar.store.postgres import PostgresStore

        return PostgresStore(url, password=password, secret=secret, verify=verify, timeout=timeout)
    raise StoreError(f"unknown store URL scheme {parts.scheme!r}",
                     hint='use "postgresql://user@host/database" or "sqlite:///<directory>"')


def open_service_store(service: object, environ: Mapping[str, str] = os.environ, *,
                       secret: bytes | None = None, verify: Any = None) -> Store:
    """The store of a ``[service]`` section: PostgreSQL when ``store`` names it, else SQLite
    under ``state_dir``; ``secret`` (the pseudonym key) and ``verify`` (the vault-key check)
    are handed to the backend."""
    url = getattr(service, "store", None)
    state_dir = Path(getattr(service, "state_dir"))
    if not url:
        from balanced_calendar.store.sqlite import open_store

        return open_store(state_dir, secret=secret, verify=verify)
    password = None
    if urlsplit(url).scheme in POSTGRES_SCHEMES:
        password = read_password(getattr(service, "store_password_file", None), environ)
    return open_url(url, password=password, state_dir=state_dir, secret=secret, verify=verify,
                    timeout=float(getattr(service, "store_timeout_seconds", 30.0)))
