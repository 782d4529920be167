"""A long chat a page at a time: what the Chat page draws is its last `PAGE_SIZE` messages shown, and on demand the
page before them; what the model is sent, an edit, a regenerated reply and the exports read the whole chat
(`ConversationStore.get`).

A page is one query over the active path walked in SQL (core/chat/versions.py's `shown_child`, step by step),
ordered and limited there: a chat of 1,000 messages loads 20 rows, not 1,000, and the totals of the messages before
them come in the same walk (running sums). Its versions ("2 / 3") are read with it; every read is scoped to the
user, as the store's others are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import cache
from typing import Any

from sqlalchemy import CTE, ColumnElement, Float, Integer, and_, bindparam, case, cast, func, literal_column, null
from sqlalchemy import select as sql_select  # sqlmodel's has no overload for seven columns
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from core.chat.conversations import Conversation, ConversationStore, Message
from core.chat.usage import ConversationUsage
from core.chat.versions import shown_child, turns_of
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
            shown, earlier, before_usage = _last_shown(db, conversation_id, before, limit)
            versions = turns_of(db, conversation_id, shown)
        conversation = self._shown(row, shown, versions)
        conversation.earlier, conversation.earlier_usage = earlier, before_usage if earlier else None
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


def _last_shown(
    db: Session, conversation_id: int, before: int | None, limit: int
) -> tuple[list[ChatMessage], int, ConversationUsage]:
    """The last `limit` messages of the active path (before message `before`), in order, how many precede them and
    those's totals: one walk of the path, the totals running sums over it (a window that ends the row before each)."""
    values = {"conversation_id": conversation_id, "before": before, "limit": limit}
    rows: Sequence[Any] = db.exec(_page_statement(before is not None), params=values).all()  # 7 columns a row
    if not rows:
        return [], 0, ConversationUsage(0, 0, 0, None, 0)
    _, depth, replies, prompt_tokens, completion_tokens, cost, no_cost = rows[-1]  # the page's first message
    usage = ConversationUsage(
        int(replies or 0), int(prompt_tokens or 0), int(completion_tokens or 0), cost, int(no_cost or 0)
    )
    return [message for message, *_ in reversed(rows)], depth, usage


@cache
def _page_statement(before: bool) -> Any:
    """The page's query, built once per process (building it costs more than running it on a short chat); the
    conversation, `before` and the limit are its parameters."""
    path = _path_with_totals(bindparam("conversation_id", type_=Integer))
    statement = select(ChatMessage, path.c.depth, *(path.c[name] for name in TOTALS)).join(
        path, col(ChatMessage.id) == path.c.id
    )
    if before:
        first = select(path.c.depth).where(path.c.id == bindparam("before", type_=Integer)).scalar_subquery()
        statement = statement.where(path.c.depth < first)
    return statement.order_by(path.c.depth.desc()).limit(bindparam("limit", type_=Integer))


TOTALS = ("replies", "prompt_tokens", "completion_tokens", "cost", "unpriced")


def _path_with_totals(conversation_id: ColumnElement[int]) -> CTE:
    """core/chat/versions.py's walk of the active path, each row carrying the totals of the messages before it,
    added up as the walk goes (one pass; each step reads the message it leaves by its key). A reply counts as
    core/chat/usage.py's `counts` says (a model's answer that did not fail; tests hold the two equal)."""
    zero = literal_column("0", Integer)
    first = sql_select(
        shown_child(conversation_id, None).label("id"),
        zero.label("depth"),
        *(zero.label(name) for name in ("replies", "prompt_tokens", "completion_tokens")),
        cast(null(), Float).label("cost"),
        zero.label("unpriced"),
    )
    path = first.cte("shown_totals", recursive=True)
    left = aliased(ChatMessage, name="left_message")
    counted = and_(
        col(left.role) == "assistant",
        func.coalesce(left.model, "") != "",
        func.coalesce(left.error, "") == "",
    )
    priced = and_(counted, col(left.cost).is_not(None))
    step = sql_select(
        shown_child(conversation_id, path.c.id),
        path.c.depth + 1,
        path.c.replies + case((counted, 1), else_=0),
        path.c.prompt_tokens + case((counted, func.coalesce(left.prompt_tokens, 0)), else_=0),
        path.c.completion_tokens + case((counted, func.coalesce(left.completion_tokens, 0)), else_=0),
        case((priced, func.coalesce(path.c.cost, 0.0) + left.cost), else_=path.c.cost),
        path.c.unpriced + case((and_(counted, col(left.cost).is_(None)), 1), else_=0),
    ).join_from(path, left, col(left.id) == path.c.id)
    return path.union_all(step)
