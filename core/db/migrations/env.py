"""Alembic's entry point: runs migrations on the connection `core.db.migrate` hands over (never from an ini file)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import core.db.tables  # noqa: F401  (registers every table on SQLModel.metadata, the schema `alembic check` compares)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    # SQLite cannot alter most of a table in place: Alembic rebuilds it (see core.db.migrate about foreign keys).
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
