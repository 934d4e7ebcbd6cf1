"""Secrets at rest: what an operator sees when keys are right, wrong, missing or too open."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from balanced_calendar.model import UserError
from balanced_calendar.store import PersonRecord, open_store
from balanced_calendar.vault import (
    Vault,
    VaultKeyMismatch,
    check_store_key,
    generate_key,
    load_key,
    write_key,
)

ME = "siti@kemenkeu.go.id"
TOKEN_CACHE = b'{"refresh_token": "1//0g-very-secret", "scopes": ["calendar.readonly"]}'


def key_file(path: Path, mode: int = 0o600, key: bytes | None = None) -> Path:
    path.write_bytes((key or generate_key()) + b"\n")
    path.chmod(mode)
    return path


def test_roundtrip_and_no_plaintext_in_the_token() -> None:
    vault = Vault(generate_key())
    token = vault.encrypt(TOKEN_CACHE)
    assert b"very-secret" not in token
    assert vault.decrypt(token) == TOKEN_CACHE
    assert vault.encrypt(TOKEN_CACHE) != token  # fresh IV every time


def test_wrong_key_is_a_clear_error_and_the_stored_blob_is_unchanged(tmp_path: Path) -> None:
    right, wrong = Vault(generate_key()), Vault(generate_key())
    with open_store(tmp_path / "state") as store:
        store.upsert_person(PersonRecord(email=ME, connector="google"))
        check_store_key(right, store)
        store.put_credentials(ME, "google", right.encrypt(TOKEN_CACHE))
        blob = store.get_credentials(ME)
        check = store.get_meta("vault.check")

        with pytest.raises(VaultKeyMismatch) as err:
            wrong.decrypt(store.get_credentials(ME))
        assert "vault key does not match the stored credentials" in str(err.value)
        assert isinstance(err.value, UserError) and err.value.hint
        with pytest.raises(VaultKeyMismatch):
            check_store_key(wrong, store)  # fails at startup, before anything is written

        assert store.get_credentials(ME) == blob
        assert store.get_meta("vault.check") == check
        assert right.decrypt(store.get_credentials(ME)) == TOKEN_CACHE
        check_store_key(right, store)


def test_damaged_blob_is_reported_like_a_wrong_key() -> None:
    vault = Vault(generate_key())
    token = bytearray(vault.encrypt(b"data"))
    token[20] ^= 1
    with pytest.raises(VaultKeyMismatch):
        vault.decrypt(bytes(token))


def test_key_file_readable_by_others_is_refused_naming_the_fix(tmp_path: Path) -> None:
    path = key_file(tmp_path / "vault-key", 0o644)
    with pytest.raises(UserError) as err:
        load_key(path, environ={})
    assert str(path) in err.value.message
    assert err.value.hint == f"chmod 600 {path}"
    path.chmod(0o640)
    with pytest.raises(UserError, match="group or others"):
        load_key(path, environ={})
    path.chmod(0o600)
    assert Vault(load_key(path, environ={})).decrypt(Vault(load_key(path, environ={})).encrypt(b"x")) == b"x"


def test_keygen_writes_a_private_key_and_refuses_to_overwrite(tmp_path: Path) -> None:
    old_umask = os.umask(0)  # even a permissive umask must not widen the mode
    try:
        path = tmp_path / "vault-key"
        write_key(path)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = path.read_bytes()
    Vault(load_key(path, environ={}))  # a usable key
    with pytest.raises(UserError, match="refusing to overwrite"):
        write_key(path)
    assert path.read_bytes() == first
    assert [p.name for p in tmp_path.iterdir()] == ["vault-key"]  # no temporary files left


def test_keygen_into_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot create a key file"):
        write_key(tmp_path / "no-such-dir" / "vault-key")


def test_systemd_credential_is_preferred_over_the_key_file(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    systemd_key, file_key = generate_key(), generate_key()
    key_file(creds / "vault-key", 0o444, systemd_key)  # systemd manages this mode; not checked
    path = key_file(tmp_path / "vault-key", 0o600, file_key)
    assert load_key(path, environ={"CREDENTIALS_DIRECTORY": str(creds)}) == systemd_key
    assert load_key(path, environ={"CREDENTIALS_DIRECTORY": str(tmp_path / "empty")}) == file_key
    assert load_key(path, environ={}) == file_key


def test_missing_key_points_to_keygen(tmp_path: Path) -> None:
    with pytest.raises(UserError) as err:
        load_key(None, environ={})
    assert "balanced-calendar keygen --out" in (err.value.hint or "")
    missing = tmp_path / "vault-key"
    with pytest.raises(UserError) as err:
        load_key(missing, environ={})
    assert err.value.hint == f"create it with: balanced-calendar keygen --out {missing}"


def test_malformed_key_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = tmp_path / "vault-key"
    path.write_text("hunter2-not-a-key\n")
    path.chmod(0o600)
    with pytest.raises(UserError, match="does not hold a valid key") as err:
        load_key(path, environ={})
    assert "hunter2" not in str(err.value)
    with pytest.raises(UserError, match="malformed"):
        Vault(b"short")
