"""The database: `engine.py` makes the engine (SQLite in the data folder by default: WAL, busy timeout, foreign
keys), adds columns earlier versions lacked, and gives sessions and dialect-aware upserts; `tables.py` holds every
table (only the table models hold secrets, as ciphertext); `types.py` is the one UTC datetime column type."""
