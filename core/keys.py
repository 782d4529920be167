"""The deployment's own secret: the master key ring, kept apart from the data."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from core.config import Settings
from core.crypto import KeyRing, generate_master_key, parse_master_keys
from core.errors import StartupError

MASTER_KEY_FILE = "master.key"


def ensure_private_dir(path: Path) -> None:
    """Create the data folder readable by this user only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


def read_or_create_secret(path: Path, make: Callable[[], str]) -> str:
    """Read a secret file, or create it once with mode 0600 (safe against two processes racing)."""
    ensure_private_dir(path.parent)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as handle:
        handle.write(make() + "\n")
    return path.read_text().strip()


def load_key_ring(settings: Settings) -> KeyRing:
    """The master keys from APP_MASTER_KEY, the file APP_MASTER_KEY_FILE names, or the data folder."""
    if settings.master_key:
        return KeyRing(parse_master_keys(settings.master_key))
    if settings.master_key_file:
        if not settings.master_key_file.is_file():
            raise StartupError(f"APP_MASTER_KEY_FILE names a file that does not exist: {settings.master_key_file}")
        return KeyRing(parse_master_keys(settings.master_key_file.read_text()))
    text = read_or_create_secret(settings.data_dir / MASTER_KEY_FILE, generate_master_key)
    return KeyRing(parse_master_keys(text))
