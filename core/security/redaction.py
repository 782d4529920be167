"""Keep keys out of logs: a filter that masks known key shapes and the secrets of the call in progress."""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

REDACTED = "[redacted]"
KEY_SHAPES = re.compile(
    r"(sk-ant-[A-Za-z0-9_-]{8,}|sk-[A-Za-z0-9_-]{8,}|AIza[0-9A-Za-z_-]{20,}|xai-[A-Za-z0-9_-]{8,}|hf_[A-Za-z0-9]{8,})"
)
MIN_SECRET_CHARS = 8

_in_use: ContextVar[tuple[str, ...]] = ContextVar("secrets_in_use", default=())


@contextmanager
def secrets_in_use(values: Collection[str]) -> Iterator[None]:
    """Mark secrets as in use by the current call, so anything it logs has them masked."""
    token = _in_use.set(_in_use.get() + tuple(v for v in values if len(v) >= MIN_SECRET_CHARS))
    try:
        yield
    finally:
        _in_use.reset(token)


def redact(text: str) -> str:
    for secret in _in_use.get():
        text = text.replace(secret, REDACTED)
    return KEY_SHAPES.sub(REDACTED, text)


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
