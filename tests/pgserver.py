"""A real PostgreSQL server for the tests: ``initdb`` into a temp dir, one per test session.

The server listens on a Unix socket in its temp dir (superuser ``postgres``, trust) and on
127.0.0.1 at a free port, where the role ``bc`` logs in with a password (SCRAM): the daemon
tests go that way, so the password path (``store_password_file``) is exercised for real.
Each test gets a fresh, empty database (``CREATE DATABASE``). PostgreSQL refuses to run as
root, so as root the server runs as ``nobody``. If it cannot start, the test fails loudly.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

BIN_DIRS = [Path("/usr/lib/postgresql/15/bin"), *sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)]
PASSWORD = "bc-test-Secret-42"
_counter = itertools.count()


def _bin(name: str) -> str:
    for folder in BIN_DIRS:
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (Debian: apt-get install postgresql)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """One initdb'd cluster under a temp dir; ``start``/``stop``/``restart`` with ``pg_ctl``."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="bc-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "nobody")
            self.as_user = ["runuser", "-u", "nobody", "--"]
        self._run(_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--locale=C",
                  "-E", "UTF8", "--no-sync")
        conf = self.data / "postgresql.conf"
        with conf.open("a", encoding="utf-8") as f:
            f.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                    f"unix_socket_directories = '{self.root}'\nfsync = off\nsynchronous_commit = off\n"
                    "full_page_writes = off\nmax_connections = 300\nshared_buffers = 64MB\n")
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\nhost all bc 127.0.0.1/32 scram-sha-256\nhost all postgres 127.0.0.1/32 trust\n",
            encoding="utf-8")
        self.start()
        with self.admin() as conn:
            conn.execute(f"CREATE ROLE bc LOGIN CREATEDB PASSWORD '{PASSWORD}'")

    def _run(self, *args: str) -> None:
        result = subprocess.run([*self.as_user, *args], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = (self.root / "log").read_text() if (self.root / "log").exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed: {result.stdout}{result.stderr}{log[-2000:]}")

    def start(self) -> None:
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        """Stop hard (``immediate``: every connection drops) and start again."""
        self.stop("immediate")
        self.start()

    def admin(self, dbname: str = "postgres") -> psycopg.Connection:  # type: ignore[type-arg]
        return psycopg.connect(host=str(self.root), port=self.port, user="postgres", dbname=dbname,
                               autocommit=True)

    def socket_url(self, dbname: str) -> str:
        """Superuser over the Unix socket (trust): the contract tests."""
        return f"postgresql://postgres@/{dbname}?host={self.root}&port={self.port}"

    def tcp_url(self, dbname: str) -> str:
        """Role ``bc`` on 127.0.0.1, password required (from ``store_password_file``)."""
        return f"postgresql://bc@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, owner: str = "bc") -> str:
        name = f"t{os.getpid()}_{next(_counter)}"
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {name} OWNER {owner} TEMPLATE template0")
        return name

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def dump(self, dbname: str) -> str:
        """``pg_dump`` of a database as SQL text (data and schema)."""
        result = subprocess.run([_bin("pg_dump"), "-h", str(self.root), "-p", str(self.port), "-U", "postgres",
                                 dbname], capture_output=True, text=True, timeout=120, check=True)
        return result.stdout

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The session's PostgreSQL server (fails the test, never skips, if it cannot start)."""
    server = PgServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def pg_database(pg_server: PgServer) -> Iterator[str]:
    """A fresh, empty database for one test; dropped afterwards."""
    name = pg_server.create_database()
    yield name
    pg_server.drop_database(name)
