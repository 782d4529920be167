"""The database engine: SQLite in the data folder by default (WAL, busy timeout), any SQLAlchemy URL otherwise."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, event, inspect, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, create_engine

from core.paths import ensure_private_dir

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
    _add_missing_columns(engine)
    return engine


def _add_missing_columns(engine: Engine) -> None:
    """Bring tables made by an earlier version up to date: add the nullable columns and the indexes it lacked.

    `create_all` only creates missing tables; a new optional column (e.g. `user.disabled_at`) would otherwise
    break every query on a database made before it.
    """
    inspector = inspect(engine)
    existing = set(inspector.get_table_names())
    for table in SQLModel.metadata.sorted_tables:
        if table.name not in existing:
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        missing = [column for column in table.columns if column.name not in present]
        with engine.begin() as connection:
            for column in missing:
                if not column.nullable:
                    raise RuntimeError(f"cannot add the required column {table.name}.{column.name} in place")
                kind = column.type.compile(engine.dialect)
                quote = engine.dialect.identifier_preparer.quote
                connection.execute(text(f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(column.name)} {kind}"))
        for index in table.indexes:
            index.create(engine, checkfirst=True)


def describe_database(database_url: str) -> str:
    """A database as people read it: the SQLite file's path, or a server URL without its password."""
    url = make_url(database_url)
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
