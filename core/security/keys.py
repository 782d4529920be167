"""The deployment's own secret: the master key ring, kept apart from the data."""

from __future__ import annotations

from core.config import Settings
from core.errors import StartupError
from core.paths import read_or_create_secret
from core.security.crypto import KeyRing, generate_master_key, parse_master_keys

MASTER_KEY_FILE = "master.key"


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
