"""Text people write for a chat: what is removed before it is kept or sent."""

from __future__ import annotations

import re

# Invisible characters a chat has no use for: NUL and the other C0/C1 controls but tab and line breaks, and the
# bidirectional embeddings, overrides and isolates that make text display in another order than it is stored.
UNSAFE_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def strip_unsafe(text: str | None) -> str:
    """Text a person wrote for a chat (a message, a title, a system prompt) without invisible control and
    direction-override characters; everything else, line breaks included, is kept."""
    return UNSAFE_IN_TEXT.sub("", text or "")
