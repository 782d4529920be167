"""The database engine: SQLite in the data folder by default (WAL, busy timeout), PostgreSQL for teams."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import URL, Engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, SQLAlchemyError
from sqlmodel import Session, create_engine

from core.db.migrate import MigrationFailed, migrate
from core.errors import StartupError
from core.paths import ensure_private_dir

SQLITE_BUSY_TIMEOUT_MS = 30_000
T = TypeVar("T")


@dataclass(frozen=True)
class PoolSize:
    """Connections one process keeps open to a database server (`size`) and may open on top at a peak."""

    size: int = 5
    overflow: int = 5


def _prepare_sqlite_file(path: Path) -> None:
    """Create the database file up front so it is private (0600) from its first byte."""
    ensure_private_dir(path.parent)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(descriptor)
    os.chmod(path, 0o600)


def _on_sqlite_connect(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def database_url(value: str) -> URL:
    """The URL SQLAlchemy should open: the `postgres://` and `postgresql://` forms people paste mean psycopg 3."""
    scheme, sep, rest = value.partition("://")
    if sep and scheme in {"postgres", "postgresql"}:
        value = f"postgresql+psycopg://{rest}"
    try:
        return make_url(value)
    except ArgumentError:
        raise StartupError("DATABASE_URL is not a database URL (e.g. postgresql://user:password@host/db).") from None


def make_engine(url: str, pool: PoolSize = PoolSize(), upgrade: bool = True) -> Engine:
    """An engine with the schema migrated to the newest revision (unless `upgrade` is False); SQL parameters are
    never written to logs. StartupError when the database cannot be reached."""
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _prepare_sqlite_file(Path(parsed.database))
        engine = create_engine(
            parsed,
            hide_parameters=True,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _on_sqlite_connect)
    else:
        engine = create_engine(
            parsed, hide_parameters=True, pool_pre_ping=True, pool_size=pool.size, max_overflow=pool.overflow
        )
    try:
        engine.connect().close()
    except OperationalError as error:
        engine.dispose()
        raise StartupError(f"Cannot open the database {describe_database(url)}: {error.orig}") from None
    if upgrade:
        try:
            migrate(engine)
        except (SQLAlchemyError, MigrationFailed) as error:
            engine.dispose()
            reason = getattr(error, "orig", None) or error
            raise StartupError(f"Cannot bring the schema of {describe_database(url)} up to date: {reason}") from None
    return engine


def describe_database(value: str) -> str:
    """A database as people read it: the SQLite file's path, or a server URL without its password."""
    url = database_url(value)
    return str(url.database) if url.get_backend_name() == "sqlite" else url.render_as_string(hide_password=True)


def insert_or_update(engine: Engine, table: Any) -> Any:
    """An INSERT that can take `.on_conflict_do_update(...)`, in the engine's dialect (SQLite or PostgreSQL)."""
    dialect = sqlite if engine.dialect.name == "sqlite" else postgresql
    return dialect.insert(table)


def session(engine: Engine) -> Session:
    """A session whose objects stay readable after commit."""
    return Session(engine, expire_on_commit=False)


def once_more_on_conflict(write: Callable[[], T]) -> T:
    """Run a read-then-write; if another session wrote the same row first (IntegrityError), run it once more:
    the second read sees that row and updates it."""
    try:
        return write()
    except IntegrityError:
        return write()
