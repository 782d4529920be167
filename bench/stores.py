"""The credential store at scale: save and read a key with 10,000 users of 6 providers each, on SQLite and on
PostgreSQL (a throwaway server, tests/postgres.py), against the same store holding 1 user (the floor: the ratio is
what the 10,000 users cost). The users and their keys are inserted in bulk (real ciphertexts, bound to each user
and provider as the store binds them); the timed calls are the store's own, as Profile and Chat make them."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import insert, select

from bench.measure import interleave
from bench.table import Figure
from core.config import load_settings
from core.credentials.store import credential_context
from core.db.tables import Credential, User
from core.security.crypto import generate_master_key
from core.security.keys import generate_token_key
from core.services import Services, open_services
from tests.fakes.providers import DEFAULT_KEYS

USERS = 10_000
PROVIDERS = tuple(DEFAULT_KEYS)  # the six with a key
BATCH = 1_000
BACKENDS = ("sqlite", "postgres")


def services_at(folder: Path, database_url: str | None) -> Services:
    environ = {
        "APP_DATA_DIR": str(folder),
        "APP_SECRETS_FILE": str(folder / "none.toml"),
        "APP_MASTER_KEY": generate_master_key(),
        "APP_TOKEN_KEY": generate_token_key(),  # a database server generates no keys into the data folder
    }
    return open_services(load_settings(environ | ({"DATABASE_URL": database_url} if database_url else {})))


def values(provider: str, n: int) -> dict[str, str]:
    found = {"api_key": f"{DEFAULT_KEYS[provider]}-{n}"}
    if provider == "azure":
        found |= {"endpoint": "https://bench.openai.azure.com", "api_version": "2024-10-21"}
    return found


def seed(services: Services, users: int) -> int:
    """`users` users with a key for each provider, inserted `BATCH` users at a time; the id of the middle one."""
    services.users.add("user-0", "User 0", "u0@example.com", "a long bench password")  # one real hash, for all
    with services.engine.begin() as db:
        hashed = db.execute(select(User.password_hash)).scalar_one()  # type: ignore[call-overload]
    for start in range(1, users, BATCH):
        people = [
            {"username": f"user-{n}", "name": f"User {n}", "email": f"u{n}@example.com", "password_hash": hashed}
            for n in range(start, min(users, start + BATCH))
        ]
        with services.engine.begin() as db:
            db.execute(insert(User), people)  # type: ignore[arg-type]
    with services.engine.begin() as db:
        ids = list(db.execute(select(User.id).order_by(User.id)).scalars())  # type: ignore[call-overload]
    ring = services.key_ring
    for start in range(0, len(ids), BATCH):
        rows = [
            {
                "user_id": user_id,
                "provider": provider,
                "key_id": ring.current_kid,
                "ciphertext": ring.encrypt(
                    json.dumps(values(provider, user_id)).encode(), credential_context(user_id, provider)
                ),
            }
            for user_id in ids[start : start + BATCH]
            for provider in PROVIDERS
        ]
        with services.engine.begin() as db:
            db.execute(insert(Credential), rows)  # type: ignore[arg-type]
    return ids[len(ids) // 2]


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


@contextmanager
def database_urls(backend: str) -> Iterator[tuple[str | None, str | None]]:
    """Two fresh databases of `backend` (None: the data folder's SQLite file)."""
    if backend == "sqlite":
        yield None, None
        return
    from tests.postgres import PostgresServer

    with PostgresServer() as server:
        yield server.new_database(), server.new_database()


def measure(backend: str, runs: int, users: int) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="bench-stores-") as tmp, database_urls(backend) as (big_url, small_url):
        big = services_at(Path(tmp) / "big", big_url)
        small = services_at(Path(tmp) / "small", small_url)
        at = {"big": seed(big, users), "small": seed(small, 1)}
        stores = {"big": big, "small": small}
        print(f"  seeded: {users:,} users on {backend}", file=sys.stderr, flush=True)

        def save(name: str) -> Callable[[], float]:
            return lambda: timed(lambda: stores[name].credentials.save(at[name], "openai", values("openai", 0)))

        def read(name: str) -> Callable[[], float]:
            return lambda: timed(lambda: stores[name].credentials.secrets(at[name], "openai"))

        paths = {"save": save("big"), "save-1": save("small"), "read": read("big"), "read-1": read("small")}
        samples = interleave(paths, runs)
        for services in stores.values():
            services.engine.dispose()
    print(f"  measured: stores, {backend}", file=sys.stderr, flush=True)
    label = "SQLite" if backend == "sqlite" else "PostgreSQL"
    return [
        Figure(f"Save a key, {users:,} users × 6 keys, {label}", samples["save"], "ms", "1 user", samples["save-1"]),
        Figure(f"Read a key, {users:,} users × 6 keys, {label}", samples["read"], "ms", "1 user", samples["read-1"]),
    ]


def figures(runs: int, users: int = USERS) -> list[Figure]:
    found: list[Figure] = []
    for backend in BACKENDS:
        found += measure(backend, runs, users)
    return found
