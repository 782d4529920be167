"""The database engine: SQLite in the data folder by default (WAL, busy timeout), any SQLAlchemy URL otherwise."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, create_engine

from core import schema  # noqa: F401  (registers the tables)
from core.keys import ensure_private_dir

SQLITE_BUSY_TIMEOUT_MS = 30_000
T = TypeVar("T")


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


def make_engine(database_url: str) -> Engine:
    """An engine with the schema in place; SQL parameters are never written to logs."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            _prepare_sqlite_file(Path(url.database))
        engine = create_engine(
            url,
            hide_parameters=True,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _on_sqlite_connect)
    else:
        engine = create_engine(url, hide_parameters=True, pool_pre_ping=True)
    SQLModel.metadata.create_all(engine)
    return engine


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
