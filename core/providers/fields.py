"""Checks on what users type into credential fields: trimmed, bounded, single-line, printable."""

from __future__ import annotations

import re
import unicodedata

from core.errors import InvalidInput

MAX_VALUE_BYTES = 4096
API_VERSION_PATTERN = re.compile(r"^(\d{4}-\d{2}-\d{2}(-preview)?|v1|latest|preview)$")


def clean_text(value: str | None, label: str, field: str) -> str:
    """Trim surrounding whitespace; refuse empty, oversized and multi-line or control-character values."""
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"{label} is empty. Paste the value and try again.", field)
    if len(text.encode("utf-8")) > MAX_VALUE_BYTES:
        raise InvalidInput(f"{label} is too long (over 4 KiB). Check that you pasted only the value.", field)
    if any(unicodedata.category(char).startswith("C") for char in text):
        raise InvalidInput(f"{label} contains a line break or control character. Paste the value on one line.", field)
    return text


def clean_secret(value: str | None, label: str, field: str) -> str:
    """A key or token: one printable ASCII word."""
    text = clean_text(value, label, field)
    if not text.isascii() or any(char.isspace() for char in text):
        raise InvalidInput(
            f"{label} contains spaces or characters that no API key has. Copy the key again from the provider.",
            field,
        )
    return text


def clean_api_version(value: str | None, label: str, field: str) -> str:
    text = clean_text(value, label, field)
    if not API_VERSION_PATTERN.match(text):
        raise InvalidInput(f"{label} should look like 2024-10-21 (or 2025-01-01-preview).", field)
    return text
