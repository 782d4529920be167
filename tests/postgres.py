"""A PostgreSQL server for the test run: Debian's binaries, a temporary folder, a free loopback port, removed after.

initdb and pg_ctl refuse to run as root, so as root they run as the `postgres` user. Durability is switched off
(fsync, synchronous_commit): the server lives for one test run.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from tests.fakes.loopback import free_port

SERVER_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """Why the server could not be started (the tests that need it are skipped with this reason)."""


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).resolve().parent
    raise PostgresUnavailable("no PostgreSQL server binaries (make test installs Debian's postgresql)")


class PostgresServer:
    """`with PostgresServer() as server:` then `server.new_database()` gives a fresh, empty database's URL."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="pg-test-"))
        self.data = self.root / "data"
        self._as_root = os.geteuid() == 0
        self._shared: str | None = None

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", SERVER_USER, "--"] if self._as_root else []
        result = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=60)
        if result.returncode:
            raise PostgresUnavailable(f"{Path(command[0]).name} failed: {(result.stderr or result.stdout).strip()}")

    def start(self) -> PostgresServer:
        if self._as_root:
            shutil.chown(self.root, SERVER_USER)
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", SERVER_USER, "--no-sync")
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start"
        )
        return self

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def clean_database(self) -> str:
        """The run's shared database, migrated once, with every table emptied: much faster than a new database."""
        if self._shared is None:
            self._shared = self.new_database()
            from core.db.engine import make_engine

            make_engine(self._shared).dispose()
        with self._connect(self._shared.rsplit("/", 1)[1]) as connection:
            connection.execute("SET lock_timeout = '10s'")  # a leaked transaction fails the test, never hangs it
            tables = [
                row[0]
                for row in connection.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            ]
            connection.execute(f"TRUNCATE {', '.join(f'{chr(34)}{t}{chr(34)}' for t in tables)} RESTART IDENTITY")
        return self._shared

    def _connect(self, database: str):
        import psycopg

        address = f"host=127.0.0.1 port={self.port} user={SERVER_USER} dbname={database}"
        return psycopg.connect(address, autocommit=True)

    def new_database(self) -> str:
        """A fresh empty database on this server; its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={SERVER_USER} dbname=postgres", autocommit=True
        ) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def __enter__(self) -> PostgresServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *_exc: object) -> None:
        self.stop()
