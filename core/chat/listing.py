"""The chat list: chats grouped by the day of their last activity, and a search over titles and message text.

The search is one SQL query (LIKE on SQLite, ILIKE on PostgreSQL), scoped to the user like every other read: it
scans that user's messages through the index on `chat_message.conversation_id`, never another user's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Protocol, TypeVar

from sqlalchemy import ColumnElement, Engine, exists, or_
from sqlmodel import col, select

from core.chat.conversations import UNTITLED
from core.db.engine import session
from core.db.tables import ChatConversation, ChatMessage
from core.text import strip_unsafe

DAY_GROUPS = ("Today", "Yesterday", "Previous 7 days", "Older")
SEARCH_LIMIT = 50  # matches shown; a search that finds more asks for a closer word
MAX_SEARCH_CHARS = 200
SNIPPET_CHARS = 80  # of the first matching message, around the match
SHORT_TITLE_CHARS = 40
LIKE_ESCAPE = "\\"


class Dated(Protocol):
    """A line of the chat list (a chat listed, or found)."""

    @property
    def updated_at(self) -> datetime: ...


Listed = TypeVar("Listed", bound=Dated)


@dataclass(frozen=True)
class ChatMatch:
    """A chat a search found; `snippet` is the text around the first match in its messages (None: its title)."""

    id: int
    title: str
    updated_at: datetime
    snippet: str | None = None


def short_title(title: str, limit: int = SHORT_TITLE_CHARS) -> str:
    """A title that fits the chat list: shortened at a word where it can be, with an ellipsis."""
    if len(title) <= limit:
        return title
    cut = title[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip() + "…"


def day_group(moment: datetime, now: datetime, zone: tzinfo = UTC) -> str:
    """Which of `DAY_GROUPS` a chat last active at `moment` falls in, counted in calendar days in `zone`."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # the database's naive times are UTC
    days = (now.astimezone(zone).date() - aware.astimezone(zone).date()).days
    if days <= 0:  # a clock a little ahead still reads as today
        return DAY_GROUPS[0]
    if days == 1:
        return DAY_GROUPS[1]
    return DAY_GROUPS[2] if days <= 7 else DAY_GROUPS[3]


def group_by_day(chats: Sequence[Listed], now: datetime, zone: tzinfo = UTC) -> list[tuple[str, list[Listed]]]:
    """The chats (most recent first, as listed) under their day's heading; groups without a chat left out."""
    groups: dict[str, list[Listed]] = {name: [] for name in DAY_GROUPS}
    for chat in chats:
        groups[day_group(chat.updated_at, now, zone)].append(chat)
    return [(name, found) for name, found in groups.items() if found]


def like_pattern(text: str) -> str:
    """`text` anywhere, its own `%`, `_` and `\\` matched literally."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    return f"%{escaped}%"


def search_text(text: str | None) -> str:
    """What a search box holds, as searched: one line, trimmed, not too long."""
    return " ".join(strip_unsafe(text).split())[:MAX_SEARCH_CHARS]


def snippet(content: str, text: str, width: int = SNIPPET_CHARS) -> str:
    """The part of `content` around the first (case-blind) occurrence of `text`, on one line."""
    flat = " ".join(content.split())
    at = max(flat.casefold().find(text.casefold()), 0)
    start = max(at - (width - len(text)) // 2, 0)
    part = flat[start : start + width]
    return ("…" if start else "") + part + ("…" if start + width < len(flat) else "")


class ChatSearch:
    """Finds the user's chats by title or message text; another user's chats are never looked at."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def search(self, user_id: int, text: str | None, limit: int = SEARCH_LIMIT) -> list[ChatMatch]:
        """The user's chats whose title or any message contains `text` (case-blind), most recently active first."""
        text = search_text(text)
        if not text:
            return []
        pattern = like_pattern(text)
        in_message = col(ChatMessage.content).ilike(pattern, escape=LIKE_ESCAPE)
        title_matches = col(ChatConversation.title).ilike(pattern, escape=LIKE_ESCAPE)
        # The first matching message of each chat found, for its snippet: the select list is only computed for the
        # rows returned (at most `limit`).
        first_hit = (
            select(ChatMessage.content)
            .where(_of_this_chat(), in_message)
            .order_by(col(ChatMessage.id))
            .limit(1)
            .scalar_subquery()
        )
        statement = (
            select(ChatConversation.id, ChatConversation.title, ChatConversation.updated_at, first_hit)
            .where(col(ChatConversation.user_id) == user_id)
            .where(or_(title_matches, exists().where(_of_this_chat(), in_message)))
            .order_by(col(ChatConversation.updated_at).desc(), col(ChatConversation.id).desc())
            .limit(limit)
        )
        with session(self._engine) as db:
            rows = db.exec(statement).all()
        return [_match(chat_id, title, updated_at, hit, text) for chat_id, title, updated_at, hit in rows]


def _match(chat_id: int | None, title: str, updated_at: datetime, hit: str | None, text: str) -> ChatMatch:
    assert chat_id is not None  # read from the table, so it has its primary key
    return ChatMatch(chat_id, title or UNTITLED, updated_at, snippet(hit, text) if hit is not None else None)


def _of_this_chat() -> ColumnElement[bool]:
    return col(ChatMessage.conversation_id) == col(ChatConversation.id)
