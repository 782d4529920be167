"""Keep keys out of logs: a filter that masks known key shapes and the secrets of the call in progress."""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

REDACTED = "[redacted]"
_key_shapes: re.Pattern[str] | None = None  # the providers' key patterns (registry data), set at start
MIN_SECRET_CHARS = 8

_in_use: ContextVar[tuple[str, ...]] = ContextVar("secrets_in_use", default=())
# Secrets the server itself holds in its environment (the keys of the team's servers): masked in every log line,
# whichever thread logs it. Holding them here exposes nothing the process environment does not already hold.
_standing: frozenset[str] = frozenset()


@contextmanager
def secrets_in_use(values: Collection[str]) -> Iterator[None]:
    """Mark secrets as in use by the current call, so anything it logs has them masked."""
    token = _in_use.set(_in_use.get() + tuple(v for v in values if len(v) >= MIN_SECRET_CHARS))
    try:
        yield
    finally:
        _in_use.reset(token)


def mask_everywhere(values: Collection[str]) -> None:
    """Mask these secrets in every log line from now on, in use or not (the keys of the team's servers)."""
    global _standing
    fresh = {v for v in values if len(v) >= MIN_SECRET_CHARS} - _standing
    if fresh:
        _standing = _standing | fresh


def use_key_shapes(patterns: Collection[str]) -> None:
    """Mask anything shaped like these keys in every log line, in use or not (core.services passes the registry's)."""
    global _key_shapes
    _key_shapes = re.compile("|".join(f"(?:{pattern})" for pattern in patterns)) if patterns else None


def redact(text: str) -> str:
    for secret in (*_in_use.get(), *_standing):
        text = text.replace(secret, REDACTED)
    return _key_shapes.sub(REDACTED, text) if _key_shapes is not None else text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message and traceback text with secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install(logger_names: Collection[str] = ("", "streamlit", "LiteLLM", "LiteLLM Router", "LiteLLM Proxy")) -> None:
    """Attach the filter to the handlers of the root logger and of libraries with their own handlers."""
    for name in logger_names:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
