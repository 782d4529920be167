"""The deployment's own secrets, kept apart from the data: the master key ring and the API token key."""

from __future__ import annotations

import base64
import binascii
import os

from core.config import Settings
from core.errors import StartupError
from core.paths import read_or_create_secret
from core.security.crypto import KEY_BYTES, SAMPLE_MASTER_KEYS, KeyRing, generate_master_key, parse_master_keys

MASTER_KEY_FILE = "master.key"
TOKEN_KEY_FILE = "token.key"  # noqa: S105 (a file name)
# Values shown in documentation (the README's token-key example among them) never key a real deployment.
SAMPLE_TOKEN_KEYS = SAMPLE_MASTER_KEYS | {"Zp3kQ8wLx2N7vB4mR9tY1cH6jD0sF5gA3eU8iO2nK7w="}
HOW_TO_GENERATE = "Generate one with: python -m core.cli new-token-key"


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


def generate_token_key() -> str:
    """A new API token key in the text form `APP_TOKEN_KEY` takes (256 random bits, base64)."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


def parse_token_key(text: str, source: str = "APP_TOKEN_KEY") -> bytes:
    """The HMAC key API tokens are stored under: base64 of at least 32 random bytes; StartupError otherwise."""
    item = text.strip()
    if item in SAMPLE_TOKEN_KEYS:
        raise StartupError(f"{source} is a documented sample value. {HOW_TO_GENERATE}")
    try:
        raw = base64.urlsafe_b64decode(item.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise StartupError(f"{source} is not valid base64. {HOW_TO_GENERATE}") from None
    if len(raw) < KEY_BYTES:
        raise StartupError(f"{source} is {len(raw)} bytes; it must be at least {KEY_BYTES} bytes. {HOW_TO_GENERATE}")
    if len(set(raw)) < 8:
        raise StartupError(f"{source} is not random. {HOW_TO_GENERATE}")
    return raw


def load_token_key(settings: Settings) -> bytes:
    """The API token key from APP_TOKEN_KEY, else one generated once into the data folder (0600)."""
    if settings.token_key:
        return parse_token_key(settings.token_key)
    path = settings.data_dir / TOKEN_KEY_FILE
    return parse_token_key(read_or_create_secret(path, generate_token_key), source=str(path))
