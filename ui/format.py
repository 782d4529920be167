"""Small display helpers."""

from __future__ import annotations

from datetime import UTC, datetime


def when(moment: datetime) -> str:
    """A timestamp as `2026-11-26 15:04 UTC`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
