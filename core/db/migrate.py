"""The schema's migrations (Alembic, in `core/db/migrations/`), run from code at start and by `core.cli migrate`.

Several replicas may start at once: one migrates while the others wait on a lock (PostgreSQL: an advisory lock;
SQLite: a lock file beside the database), then find the schema at head and go on. On SQLite foreign keys are off
while migrating: a batch migration rebuilds a table (copy, drop, rename), and with them on, dropping the old table
would cascade-delete every child row (all credentials with their users' table). The PRAGMA is ignored inside a
transaction, so it is switched before the migration's transaction begins and checked after.
"""

from __future__ import annotations

import fcntl
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect

MIGRATIONS = Path(__file__).resolve().with_name("migrations")
# Any fixed 64-bit number: the key every replica takes before migrating a PostgreSQL database.
ADVISORY_LOCK_KEY = 0x63_64_70_6D_69_67  # "cdpmig"


class MigrationFailed(RuntimeError):
    """A migration would break the data (rows pointing at nothing); its transaction is rolled back."""


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code: the working directory and any alembic.ini never matter."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@dataclass(frozen=True)
class Migration:
    """What `migrate` did: the revision before (None: no schema yet, or one made before migrations) and after."""

    before: str | None
    after: str | None
    had_tables: bool

    def summary(self) -> str:
        if self.before == self.after:
            return f"The schema is up to date (revision {self.after})"
        if self.before is None:
            start = "a schema made before migrations" if self.had_tables else "an empty database"
            return f"Migrated {start} to revision {self.after}"
        return f"Migrated the schema from revision {self.before} to {self.after}"


def migrate(engine: Engine) -> Migration:
    """Bring the schema to the newest revision, adopting a database made before migrations."""
    head = head_revision()
    if (now := current_revision(engine)) == head:
        return Migration(now, now, True)
    with _lock(engine), engine.connect() as connection:
        before = MigrationContext.configure(connection).get_current_revision()
        had_tables = bool(inspect(connection).get_table_names())
        connection.rollback()
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():  # Alembic runs inside it; a broken reference rolls back what can be
                command.upgrade(alembic_config(connection), "head")
                if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()):
                    raise MigrationFailed(f"the migration would leave {len(broken)} row(s) pointing at nothing")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
    return Migration(before, head, had_tables)


@contextmanager
def _lock(engine: Engine) -> Iterator[None]:
    """One migrator at a time per database, across processes and machines."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.exec_driver_sql(f"SELECT pg_advisory_lock({ADVISORY_LOCK_KEY})")
            connection.commit()
            try:
                yield
            finally:
                connection.exec_driver_sql(f"SELECT pg_advisory_unlock({ADVISORY_LOCK_KEY})")
                connection.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with _file_lock(Path(database).with_name(Path(database).name + ".migrate-lock")):
        yield


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        path.chmod(0o600)
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
