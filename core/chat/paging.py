"""A long chat a page at a time: what the Chat page draws is its last `PAGE_SIZE` messages shown, and on demand the
page before them; what the model is sent, an edit, a regenerated reply and the exports read the whole chat
(`ConversationStore.get`).

A page is one query over the active path walked in SQL (core/chat/versions.py's `shown_path`), ordered and limited
there: a chat of 1,000 messages loads 50 rows, not 1,000. Its versions ("2 / 3") and the totals of the messages
before it are read with it; every read is scoped to the user, as the store's others are.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import and_, case, func
from sqlalchemy import select as sql_select  # sqlmodel's has no overload for five columns
from sqlmodel import Session, col, select

from core.chat.conversations import Conversation, ConversationStore, Message
from core.chat.usage import ConversationUsage
from core.chat.versions import shown_path, turns_of
from core.db.engine import session
from core.db.tables import ChatMessage

PAGE_SIZE = 20  # messages drawn when a chat opens, and added by each "Show older messages"


class PagedConversationStore(ConversationStore):
    """The conversation store, with a chat's messages read a page at a time."""

    def page(
        self, user_id: int, conversation_id: int, before: int | None = None, limit: int = PAGE_SIZE
    ) -> Conversation:
        """The conversation with the last `limit` messages it shows (those before message `before`, when given),
        `earlier` counting the ones before them; ConversationNotFound when it is not the user's. A `before` that is
        not a message shown gives no messages."""
        with session(self._engine) as db:
            row = self._owned(db, user_id, conversation_id)
            shown, earlier = _last_shown(db, conversation_id, before, limit)
            versions = turns_of(db, conversation_id, shown)
            before_usage = _earlier_usage(db, conversation_id, earlier) if earlier else None
        conversation = self._shown(row, shown, versions)
        conversation.earlier, conversation.earlier_usage = earlier, before_usage
        return conversation

    def whole(self, user_id: int, conversation: Conversation) -> list[Message]:
        """Every message `conversation` shows (what the model is sent): its own, or read again for a page."""
        if conversation.id is None or not conversation.earlier:
            return list(conversation.messages)
        return self.get(user_id, conversation.id).messages


def above(older: Conversation, last: Conversation) -> Conversation:
    """The page `last` with the page before it (`older`, read with `before` its first message) shown above it."""
    messages = [*older.messages, *last.messages]
    versions = older.versions | last.versions
    return replace(last, messages=messages, versions=versions, earlier=older.earlier, earlier_usage=older.earlier_usage)


def _last_shown(db: Session, conversation_id: int, before: int | None, limit: int) -> tuple[list[ChatMessage], int]:
    """The last `limit` messages of the active path (before message `before`), in order, and how many precede them."""
    path = shown_path(conversation_id)
    statement = select(ChatMessage, path.c.depth).join(path, col(ChatMessage.id) == path.c.id)
    if before is not None:
        statement = statement.where(path.c.depth < select(path.c.depth).where(path.c.id == before).scalar_subquery())
    rows = db.exec(statement.order_by(path.c.depth.desc()).limit(limit)).all()
    shown = [message for message, _ in reversed(rows)]
    return shown, rows[-1][1] if rows else 0


def _earlier_usage(db: Session, conversation_id: int, earlier: int) -> ConversationUsage:
    """The totals of the `earlier` messages shown before a page, summed in SQL: a reply counts as core/chat/usage.py's
    `counts` says (a model's answer that did not fail; tests hold the two equal)."""
    path = shown_path(conversation_id)
    counted = and_(
        col(ChatMessage.role) == "assistant",
        func.coalesce(ChatMessage.model, "") != "",
        func.coalesce(ChatMessage.error, "") == "",
    )
    unpriced = and_(counted, col(ChatMessage.cost).is_(None))
    statement = sql_select(
        func.coalesce(func.sum(case((counted, 1), else_=0)), 0),
        func.coalesce(func.sum(case((counted, ChatMessage.prompt_tokens), else_=0)), 0),
        func.coalesce(func.sum(case((counted, ChatMessage.completion_tokens), else_=0)), 0),
        func.sum(case((counted, ChatMessage.cost))),
        func.coalesce(func.sum(case((unpriced, 1), else_=0)), 0),
    ).join_from(ChatMessage, path, col(ChatMessage.id) == path.c.id)
    replies, prompt_tokens, completion_tokens, cost, no_cost = (
        db.connection().execute(statement.where(path.c.depth < earlier)).one()
    )
    return ConversationUsage(int(replies), int(prompt_tokens), int(completion_tokens), cost, int(no_cost))
