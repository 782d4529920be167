"""The database: `engine.py` makes the engine (SQLite in the data folder by default: WAL, busy timeout, foreign
keys; PostgreSQL for teams, any of the URL forms people paste), migrates it at start, and gives sessions and
dialect-aware upserts; `migrate.py` runs the Alembic migrations in `migrations/` under a lock, so replicas can
start together (a table or column added to `tables.py` needs its migration: `alembic check` in the tests says so);
`tables.py` holds every table (only the table models hold secrets, as ciphertext); `types.py` is the one UTC
datetime column type."""
