"""Secrets at rest: credentials and token caches are encrypted before the store sees them.

Cipher: **Fernet** from the ``cryptography`` package (AES-128-CBC + HMAC-SHA256,
encrypt-then-MAC, a version byte and a timestamp in every token). It is authenticated, so
a wrong key or a damaged blob is detected, never decrypted into garbage; and it is the
package's well-reviewed high-level recipe, so we write no crypto of our own. The key is a
32-byte random value in url-safe base64 (44 characters), one line of text.

Where the key comes from (first match wins):

1. ``$CREDENTIALS_DIRECTORY/vault-key`` — systemd ``LoadCredential=vault-key:/path`` (or
   ``LoadCredentialEncrypted=``). systemd owns that directory and its modes; not checked.
2. ``service.vault_key_file`` — must not be readable or writable by group or others.

``balanced-calendar keygen --out PATH`` writes a new key with :func:`write_key`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from cryptography.fernet import Fernet, InvalidToken

from balanced_calendar.model import UserError

log = logging.getLogger(__name__)

CREDENTIAL_NAME = "vault-key"
KEYGEN_HINT = "create one with: balanced-calendar keygen --out PATH (then set service.vault_key_file = PATH)"
_CHECK_META = "vault.check"
_CHECK_PLAINTEXT = b"balanced-calendar vault check v1"
_PSEUDONYM_INFO = b"balanced-calendar pseudonyms v1"


class VaultKeyMismatch(UserError):
    """The key cannot decrypt what is stored: another key was used, or the data is damaged."""


class Vault:
    """Encrypts and decrypts byte strings with one Fernet key.

    Raises :class:`~balanced_calendar.model.UserError` on a malformed key.
    """

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key.strip())
        except (ValueError, TypeError, binascii.Error):
            raise UserError("the vault key is malformed (expected 44 characters of url-safe base64)",
                            hint=KEYGEN_HINT) from None

    def encrypt(self, data: bytes) -> bytes:
        """An authenticated token for ``data`` (a new random IV every call)."""
        return self._fernet.encrypt(bytes(data))

    def decrypt(self, token: bytes) -> bytes:
        """The plaintext of ``token``.

        Raises :class:`VaultKeyMismatch` (a ``UserError``) when the token was made with
        another key or is damaged. Nothing is changed or overwritten.
        """
        try:
            return self._fernet.decrypt(bytes(token))
        except (InvalidToken, TypeError, ValueError):
            raise VaultKeyMismatch(
                "the vault key does not match the stored credentials (or they are damaged); "
                "nothing was changed",
                hint="start with the key these credentials were stored with ($CREDENTIALS_DIRECTORY/"
                     "vault-key or service.vault_key_file); if that key is lost, re-enrol the people "
                     "concerned to store new credentials") from None


class MetaStore(Protocol):
    """The part of :class:`balanced_calendar.store.Store` :func:`check_store_key` needs."""

    def get_meta(self, name: str) -> bytes | None: ...

    def set_meta(self, name: str, value: bytes, *, overwrite: bool = True) -> bool: ...


def check_store_key(vault: Vault, store: MetaStore) -> None:
    """Fail early when ``vault`` is not the key this installation's store was set up with.

    The first call stores a small encrypted check value; later calls decrypt it. Call this
    at startup, before anything is decrypted or new credentials are written, so a wrong key
    never mixes credentials under two keys. Raises :class:`VaultKeyMismatch`.
    """
    token = store.get_meta(_CHECK_META)
    if token is None:
        if store.set_meta(_CHECK_META, vault.encrypt(_CHECK_PLAINTEXT), overwrite=False):
            return
        token = store.get_meta(_CHECK_META)  # another process set it first
        if token is None:
            raise UserError("the vault check value vanished from the store while starting; try again")
    if vault.decrypt(token) != _CHECK_PLAINTEXT:
        raise VaultKeyMismatch("the vault check value in the store is not ours")


def pseudonym_key(key: bytes) -> bytes:
    """The 32-byte HMAC key of the store's pseudonyms and uid hashes, derived from the vault key.

    HKDF-SHA256 over the vault key's 32 random bytes with the fixed info
    ``"balanced-calendar pseudonyms v1"``: the same vault key always gives the same
    pseudonyms, and the key lives where the vault key lives, never in the database, so the
    database file alone cannot confirm an address. Raises :class:`UserError` on a
    malformed key.
    """
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    try:
        raw = base64.urlsafe_b64decode(key.strip())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise UserError("the vault key is malformed (expected 44 characters of url-safe base64)",
                        hint=KEYGEN_HINT)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PSEUDONYM_INFO).derive(raw)


def load_key(vault_key_file: Path | None, environ: Mapping[str, str] = os.environ) -> bytes:
    """The vault key: ``$CREDENTIALS_DIRECTORY/vault-key`` if present, else ``vault_key_file``.

    Raises :class:`~balanced_calendar.model.UserError` when no key is found (hint: keygen),
    when the key file is readable or writable by group/others (hint: ``chmod 600``), when it
    cannot be read, or when its content is not a valid key. Never prints the key.
    """
    creds = environ.get("CREDENTIALS_DIRECTORY")
    if creds:
        path = Path(creds) / CREDENTIAL_NAME
        if path.is_file():
            log.debug("vault key from the systemd credential %s", CREDENTIAL_NAME)
            return _parse(_read(path), path)
    if vault_key_file is None:
        raise UserError("no vault key: neither the systemd credential 'vault-key' nor "
                        "service.vault_key_file is set", hint=KEYGEN_HINT)
    path = Path(vault_key_file)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise UserError(f"vault key file {path} does not exist",
                        hint=f"create it with: balanced-calendar keygen --out {path}") from None
    except OSError as exc:
        raise UserError(f"cannot read the vault key file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise UserError(f"vault key file {path} is not a regular file")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise UserError(f"vault key file {path} is accessible to group or others (mode {mode:04o}); "
                        "refusing to use it", hint=f"chmod 600 {path}")
    return _parse(_read(path), path)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read the vault key file {path}: {exc.strerror}",
                        hint="the service user must own the key file") from None


def _parse(raw: bytes, path: Path) -> bytes:
    key = raw.strip()
    try:
        valid = len(base64.urlsafe_b64decode(key)) == 32 and len(key) == 44
    except (binascii.Error, ValueError):
        valid = False
    if not valid:
        raise UserError(f"vault key file {path} does not hold a valid key "
                        "(expected 44 characters of url-safe base64)", hint=KEYGEN_HINT)
    return key


def generate_key() -> bytes:
    """A new random key (url-safe base64 of 32 bytes)."""
    return Fernet.generate_key()


def write_key(path: Path) -> None:
    """Write a new key to ``path`` with mode 0600, atomically, never overwriting.

    The key goes to a temporary 0600 file in the same directory, is fsynced, then linked
    into place (``link`` fails if ``path`` exists), so ``path`` either does not exist or
    holds a whole key. Raises :class:`~balanced_calendar.model.UserError` when ``path``
    exists (an existing key protects stored credentials) or the directory is unusable.
    """
    path = Path(path)
    if path.exists() or path.is_symlink():
        raise UserError(f"{path} already exists; refusing to overwrite a vault key "
                        "(credentials encrypted with it would become unreadable)",
                        hint="choose another path, or move the old key away deliberately")
    directory = path.parent
    tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise UserError(f"cannot create a key file in {directory}: {exc.strerror}",
                        hint="the directory must exist and be writable by you") from None
    try:
        try:
            os.fchmod(fd, 0o600)  # independent of the umask
            os.write(fd, generate_key() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise UserError(f"{path} already exists; refusing to overwrite a vault key",
                            hint="choose another path, or move the old key away deliberately") from None
        except OSError as exc:
            raise UserError(f"cannot write the key file {path}: {exc.strerror}") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    log.info("wrote a new vault key to %s", path)
