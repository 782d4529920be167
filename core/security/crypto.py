"""Authenticated encryption of stored credentials (AES-256-GCM), with a versioned, rotatable key ring."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.errors import CredentialUnreadable, StartupError

KEY_BYTES = 32
NONCE_BYTES = 12
FORMAT_VERSION = "v1"

# Values shown in documentation; a deployment that copies one refuses to start.
SAMPLE_MASTER_KEYS = frozenset(
    {
        "REPLACE_ME",
        "change-me",
        "changeme",
        base64.urlsafe_b64encode(bytes(KEY_BYTES)).decode(),
        base64.urlsafe_b64encode(b"\xff" * KEY_BYTES).decode(),
        "q1Wc0mLbZk6bX9nQzV1R3uT8yP2aE5sH7jK4dF0gB6c=",  # the README's example
    }
)


@dataclass(frozen=True)
class MasterKey:
    """One 256-bit key; `kid` is a non-secret fingerprint recorded with every ciphertext."""

    secret: bytes = field(repr=False)

    @property
    def kid(self) -> str:
        return hmac.new(self.secret, b"credential-key-id", hashlib.sha256).hexdigest()[:16]


def generate_master_key() -> str:
    """A new master key in the text form `APP_MASTER_KEY` takes."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


def parse_master_keys(text: str) -> list[MasterKey]:
    """Parse `APP_MASTER_KEY`: comma-separated base64 keys, newest first."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise StartupError("APP_MASTER_KEY is empty. Generate one with: python -m core.cli new-master-key")
    keys = []
    for position, item in enumerate(items, start=1):
        if item in SAMPLE_MASTER_KEYS:
            raise StartupError(
                f"Master key #{position} is a documented sample value. "
                "Generate a real one with: python -m core.cli new-master-key"
            )
        try:
            raw = base64.urlsafe_b64decode(item.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise StartupError(
                f"Master key #{position} is not valid base64. Generate one with: python -m core.cli new-master-key"
            ) from None
        if len(raw) != KEY_BYTES:
            raise StartupError(
                f"Master key #{position} is {len(raw)} bytes; it must be {KEY_BYTES} bytes (256 bits). "
                "Generate one with: python -m core.cli new-master-key"
            )
        if len(set(raw)) < 8:
            raise StartupError(
                f"Master key #{position} is not random. Generate one with: python -m core.cli new-master-key"
            )
        keys.append(MasterKey(raw))
    return keys


class KeyRing:
    """Encrypts under the newest key; decrypts with whichever key a ciphertext names."""

    def __init__(self, keys: Sequence[MasterKey]) -> None:
        if not keys:
            raise StartupError("No master key is configured.")
        self._keys = list(keys)
        self._by_kid = {key.kid: key for key in self._keys}

    @property
    def current_kid(self) -> str:
        return self._keys[0].kid

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(key.kid for key in self._keys)

    def encrypt(self, plaintext: bytes, context: bytes) -> str:
        """Encrypt with a fresh random nonce, bound to `context` as associated data."""
        key = self._keys[0]
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key.secret).encrypt(nonce, plaintext, context)
        body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
        return f"{FORMAT_VERSION}.{key.kid}.{body}"

    def decrypt(self, token: str, context: bytes) -> bytes:
        """The plaintext, or CredentialUnreadable for anything else: fail closed."""
        try:
            version, kid, body = token.split(".")
            key = self._by_kid[kid]
            blob = base64.urlsafe_b64decode(body.encode("ascii"))
        except (AttributeError, TypeError, ValueError, KeyError, binascii.Error, UnicodeEncodeError):
            raise CredentialUnreadable() from None
        if version != FORMAT_VERSION or len(blob) < NONCE_BYTES + 16:
            raise CredentialUnreadable()
        try:
            return AESGCM(key.secret).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context)
        except InvalidTag:
            raise CredentialUnreadable() from None

    def key_id_of(self, token: str) -> str | None:
        """Which key encrypted a stored value (None when it is not in our format)."""
        if not isinstance(token, str):
            return None
        parts = token.split(".")
        return parts[1] if len(parts) == 3 and parts[0] == FORMAT_VERSION else None
