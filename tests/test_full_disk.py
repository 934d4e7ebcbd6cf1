"""A full disk, for real: the state directory on a 3 MiB tmpfs filled to the last byte.

``sync`` and ``unenroll`` are run as an operator runs them (the CLI in a subprocess). Mounting
needs root (CI runs as root); when mounting is not permitted the test fails, it never skips.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLE_ICS = FIXTURES / "cli" / "design_example_overtime_week.ics"
RINA = "rina.full.disk@agency.go.id"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("balanced-calendar")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=60)


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs mounted at ``tmp_path/disk``; unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3M,mode=0700", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    assert done.returncode == 0, f"cannot mount a tmpfs (this test needs root): {done.stderr}"
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory: Path) -> Path:
    """Write a filler file until the filesystem refuses (ENOSPC)."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (65536, 512, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * size):
                    pass
    finally:
        os.close(fd)
    try:
        os.write(os.open(directory / "probe", os.O_WRONLY | os.O_CREAT), b"x" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    else:
        raise AssertionError("the filesystem still has room")
    return filler


def db_bytes(state: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(state.glob("state.sqlite3*")))


def test_sync_status_and_unenroll_on_a_full_disk(small_disk: Path, tmp_path: Path) -> None:
    assert cli("keygen", "--out", str(tmp_path / "vault-key")).returncode == 0
    config = tmp_path / "config.toml"
    config.write_text(f'''
[service]
state_dir = "{small_disk / 'state'}"
vault_key_file = "vault-key"
timezone = "Asia/Jakarta"
sync_past_weeks = 2
sync_future_weeks = 1

[[people]]
email = "{RINA}"
connector = "ics"
calendar = "{EXAMPLE_ICS}"
''')
    state = small_disk / "state"
    assert cli("enroll", "--config", str(config), "--provider", "ics", "--email", RINA, "--yes").returncode == 0
    first = cli("sync", "--config", str(config))
    assert first.returncode == 0, first.stderr
    filler = fill(small_disk)

    # sync: one clear line, exit 2, no traceback
    proc = cli("sync", "--config", str(config))
    assert proc.returncode == 2, proc
    assert "Traceback" not in proc.stderr
    assert f"error: the disk holding {state} is full: free space and retry" in proc.stderr

    # status says so
    proc = cli("status", "--config", str(config))
    assert "Traceback" not in proc.stderr
    assert f"error: the disk holding {state} is full" in proc.stdout, proc

    # unenroll: refused honestly, never "erased"; the person and their data are still there
    proc = cli("unenroll", "--config", str(config), "--email", RINA)
    assert proc.returncode != 0, proc
    assert "erased everything" not in proc.stdout
    assert "Traceback" not in proc.stderr
    assert f"the disk holding {state} is full: free space and retry" in proc.stderr, proc.stderr
    assert "NOT complete" in proc.stderr or RINA.encode() in db_bytes(state)  # not erased, and not claimed

    # space again: the same unenroll erases (or finishes the erasure), verified in the bytes
    filler.unlink()
    (small_disk / "probe").unlink(missing_ok=True)
    proc = cli("unenroll", "--config", str(config), "--email", RINA)
    assert proc.returncode == 0, proc.stderr
    assert "erased everything of p-" in proc.stdout
    data = db_bytes(state)
    assert RINA.encode() not in data and RINA.split("@")[0].encode() not in data
    wal = state / "state.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    proc = cli("status", "--config", str(config))
    assert proc.returncode == 0 and "is full" not in proc.stdout
