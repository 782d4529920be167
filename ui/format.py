"""Small display helpers: times as people read them ("2 min ago"), exact on hover, in the browser's time zone;
text from users, models and providers as it reads in a Markdown label."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st

MARKDOWN_SYNTAX = re.compile(r"([\\`*_\[\]()<>#|~:$!])")
DAYS_AS_DAYS = 30  # older than this, a date reads better than "45 days ago"


def _aware(moment: datetime) -> datetime:
    """The database hands back naive datetimes; they are UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def zone_from(name: str | None, offset_minutes: int | None) -> tzinfo:
    """A browser's time zone from its IANA name, else from its offset (minutes behind UTC, as JavaScript gives
    it), else UTC."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass  # an unknown or malformed name: the offset still says the local time
    if offset_minutes is not None:
        return timezone(-timedelta(minutes=offset_minutes))
    return UTC


def relative(moment: datetime, now: datetime, zone: tzinfo = UTC) -> str:
    """`just now`, `5 min ago`, `3 h ago`, `yesterday`, `4 days ago`, then a date (`12 Nov`, `12 Nov 2025`); a time
    ahead: `in 5 min`, `in 3 h`, `tomorrow`, `in 4 days`, then a date."""
    moment, now = _aware(moment).astimezone(zone), _aware(now).astimezone(zone)
    seconds = (now - moment).total_seconds()
    if seconds <= -60:
        return _ahead(moment, now)
    if seconds < 60:  # a clock a little ahead reads as now too
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = (now.date() - moment.date()).days
    if days <= 1:
        return "yesterday"
    if days <= DAYS_AS_DAYS:
        return f"{days} days ago"
    return f"{moment.day} {moment:%b}" + ("" if moment.year == now.year else f" {moment.year}")


def _ahead(moment: datetime, now: datetime) -> str:
    seconds = (moment - now).total_seconds()
    if seconds < 3600:
        return f"in {int(seconds // 60)} min"
    if seconds < 86400:
        return f"in {int(seconds // 3600)} h"
    days = (moment.date() - now.date()).days
    if days <= 1:
        return "tomorrow"
    if days <= DAYS_AS_DAYS:
        return f"in {days} days"
    return f"{moment.day} {moment:%b}" + ("" if moment.year == now.year else f" {moment.year}")


def exact(moment: datetime, zone: tzinfo = UTC) -> str:
    """`2 Dec 2026, 14:03 CET`: the full time, for a tooltip."""
    local = _aware(moment).astimezone(zone)
    return f"{local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def viewer_zone() -> tzinfo:
    """The time zone of the browser viewing the page (UTC where it did not say, or outside a page run)."""
    return zone_from(st.context.timezone, st.context.timezone_offset)


def when(moment: datetime) -> str:
    """A timestamp as the viewer reads it: `2 min ago`, `yesterday`, `12 Nov` (see `relative`)."""
    return relative(moment, datetime.now(UTC), viewer_zone())


def when_exact(moment: datetime) -> str:
    """A timestamp in full, in the viewer's time zone: `2 Dec 2026, 14:03 CET`."""
    return exact(moment, viewer_zone())


def size(count: float | None) -> str:
    """Bytes as people read them: 512 KB, 386 MB, 15.2 GB (decimal units, as the Hub and disks show them)."""
    if count is None:
        return "—"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if count >= scale:
            value = count / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{int(count)} B"


def plain(text: str) -> str:
    """Text as it reads in a Markdown label: its syntax characters escaped."""
    return MARKDOWN_SYNTAX.sub(r"\\\1", text)
