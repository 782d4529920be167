"""A chat's versions, as ChatGPT keeps them: regenerating a reply or editing a message adds a version of its turn.

Every message follows a parent (the message before it; None for a chat's first). The messages that follow the same
parent are the versions of one turn, oldest first, one of them active. What a chat shows, sends to the model and
counts is its active path: the active version of the first turn, then the active version of what follows it, and
so on. An older version keeps what followed it: showing it again shows that continuation.

`active_path` walks it in Python over a chat's rows; `shown_child` is one step of the same walk in SQL, which
core/chat/paging.py repeats in a recursive query to read a part of a long chat without loading the rest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy import ColumnElement, ScalarSelect, false, or_
from sqlmodel import Session, col, select, update

from core.db.tables import ChatMessage


class Node(Protocol):
    """A message as the versions see it (a ChatMessage row)."""

    @property
    def id(self) -> int | None: ...

    @property
    def parent_id(self) -> int | None: ...

    @property
    def active(self) -> bool: ...


N = TypeVar("N", bound=Node)


@dataclass(frozen=True)
class Versions:
    """The versions of a message's turn (their ids, oldest first) and which of them is shown."""

    ids: tuple[int, ...]
    shown: int

    @property
    def label(self) -> str:
        return f"{self.shown + 1} / {len(self.ids)}"

    @property
    def previous(self) -> int | None:
        return self.ids[self.shown - 1] if self.shown > 0 else None

    @property
    def next(self) -> int | None:
        return self.ids[self.shown + 1] if self.shown + 1 < len(self.ids) else None


def active_path(nodes: Sequence[N]) -> tuple[list[N], dict[int, Versions]]:
    """The messages shown, in order, and the versions of each one whose turn has more than one."""
    turns: dict[int | None, list[N]] = defaultdict(list)
    for node in sorted(nodes, key=lambda node: node.id or 0):
        turns[node.parent_id].append(node)
    path: list[N] = []
    versions: dict[int, Versions] = {}
    turn = turns.get(None)
    while turn:  # a parent is always an older message: the walk ends
        shown = next((node for node in reversed(turn) if node.active), turn[-1])
        assert shown.id is not None  # read from the table
        path.append(shown)
        if len(turn) > 1:
            ids = tuple(node.id for node in turn if node.id is not None)
            versions[shown.id] = Versions(ids, ids.index(shown.id))
        turn = turns.get(shown.id)
    return path, versions


def shown_child(conversation_id: int | ColumnElement[int], parent_id: ColumnElement[int] | None) -> ScalarSelect[int]:
    """The version of the turn following `parent_id` (None: the chat's first) that `active_path` shows: the newest
    active one, else the newest; read off the index on (conversation_id, parent_id, active, id)."""
    turn = col(ChatMessage.parent_id).is_(None) if parent_id is None else col(ChatMessage.parent_id) == parent_id
    return (
        select(ChatMessage.id)
        .where(col(ChatMessage.conversation_id) == conversation_id, turn)
        .order_by(col(ChatMessage.active).desc(), col(ChatMessage.id).desc())
        .limit(1)
        .scalar_subquery()
    )


def turns_of(db: Session, conversation_id: int, shown: Sequence[N]) -> dict[int, Versions]:
    """The versions of each of the `shown` messages (a part of the active path) whose turn has more than one."""
    parents = {node.parent_id for node in shown}
    same_turn = or_(
        col(ChatMessage.parent_id).in_([p for p in parents if p is not None]),
        col(ChatMessage.parent_id).is_(None) if None in parents else false(),
    )
    rows = db.exec(
        select(ChatMessage.id, ChatMessage.parent_id)
        .where(col(ChatMessage.conversation_id) == conversation_id, same_turn)
        .order_by(col(ChatMessage.id))
    ).all()
    turns: dict[int | None, list[int]] = defaultdict(list)
    for message_id, parent_id in rows:
        turns[parent_id].append(message_id or 0)  # read from the table: every row has its id
    versions: dict[int, Versions] = {}
    for node in shown:
        ids = tuple(turns[node.parent_id])
        if len(ids) > 1 and node.id is not None:
            versions[node.id] = Versions(ids, ids.index(node.id))
    return versions


def _nodes(db: Session, conversation_id: int) -> Sequence[ChatMessage]:
    return db.exec(select(ChatMessage).where(col(ChatMessage.conversation_id) == conversation_id)).all()


def _hide_turn(db: Session, conversation_id: int, parent_id: int | None) -> None:
    """Make no version of the turn that follows `parent_id` active (one is made active next)."""
    same_parent = col(ChatMessage.parent_id).is_(None) if parent_id is None else col(ChatMessage.parent_id) == parent_id
    turn = col(ChatMessage.conversation_id) == conversation_id, same_parent
    db.exec(update(ChatMessage).where(*turn).values(active=False))


def parent_for_next(db: Session, conversation_id: int, replaces: int | None) -> int | None:
    """The parent of a message about to be saved: with `replaces`, a new version of that message's turn (its other
    versions hidden); otherwise (or when that message is not the chat's) the end of the active path."""
    nodes = _nodes(db, conversation_id)
    replaced = next((node for node in nodes if node.id == replaces), None) if replaces is not None else None
    if replaced is None:
        path, _ = active_path(nodes)
        return path[-1].id if path else None
    _hide_turn(db, conversation_id, replaced.parent_id)
    return replaced.parent_id


def show(db: Session, conversation_id: int, message_id: int) -> bool:
    """Make `message_id` the active version of its turn (what follows it then is its own continuation); False
    when it is not a message of the conversation."""
    mine = col(ChatMessage.id) == message_id, col(ChatMessage.conversation_id) == conversation_id
    row = db.exec(select(ChatMessage).where(*mine)).first()
    if row is None:
        return False
    _hide_turn(db, conversation_id, row.parent_id)
    db.exec(update(ChatMessage).where(col(ChatMessage.id) == message_id).values(active=True))
    return True
