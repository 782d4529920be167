"""Secrets every process of a deployment must hold the same copy of, and the refusal to start without them.

The embedded setup (SQLite in the data folder) may generate a missing key into that folder: one machine, one copy.
A deployment on a database server runs several processes (app replicas, API workers, the admin command), often
on several machines; a key each of them generated for itself would differ, and what one process encrypted, signed
or hashed would not be readable by the next. So there every shared secret must be set, or the process refuses to
start, before it connects to anything.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.config import Settings
from core.errors import StartupError


@dataclass(frozen=True)
class SharedSecret:
    """A secret all processes must share: its name, how to make one, whether it is set, where it can be set."""

    variable: str
    how_to_make: str
    is_set: Callable[[Settings], bool]
    set_in: str = "the environment or .streamlit/secrets.toml"


def generate_secret() -> str:
    """256 random bits as hex: a value for any shared secret without a format of its own (URL- and shell-safe)."""
    return secrets.token_hex(32)


# The secrets every process on the database needs; a new one joins with one line.
SHARED_SECRETS: tuple[SharedSecret, ...] = (
    SharedSecret(
        "APP_MASTER_KEY",
        "python -m core.cli new-master-key",
        lambda settings: bool(settings.master_key or settings.master_key_file),
    ),
    SharedSecret("APP_TOKEN_KEY", "python -m core.cli new-token-key", lambda settings: bool(settings.token_key)),
)


def uses_embedded_database(settings: Settings) -> bool:
    """SQLite: a file on this machine, so secrets generated into the data folder beside it are the only copy."""
    return urlsplit(settings.database_url).scheme.split("+")[0] == "sqlite"


def require_shared_secrets(settings: Settings, also: Iterable[SharedSecret] = ()) -> None:
    """Refuse to start on a database server while any shared secret (SHARED_SECRETS, then `also`) is unset."""
    if uses_embedded_database(settings):
        return
    missing = [secret for secret in (*SHARED_SECRETS, *also) if not secret.is_set(settings)]
    if not missing:
        return
    wanted = "; ".join(
        f"{secret.variable} (make one with: {secret.how_to_make}; set it in {secret.set_in})" for secret in missing
    )
    raise StartupError(
        "DATABASE_URL names a database server, so every app and API process must share the same secrets, "
        f"and these are not set: {wanted}. Make each once and give every process the same value; on a database "
        "server they are not generated into the data folder, where each process would make its own."
    )
