"""A chat's totals: what its replies used and cost. A failed reply stays on the page but is not a reply here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ConversationUsage:
    """Totals over a conversation's replies; `cost` sums the known costs, `unpriced` counts replies without one."""

    replies: int
    prompt_tokens: int
    completion_tokens: int
    cost: float | None
    unpriced: int


class Counted(Protocol):
    """What the totals read of a message (core/chat/conversations.py's Message)."""

    role: str
    model: str | None
    error: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost: float | None


def counts(message: Counted) -> bool:
    """Whether a message is a reply the totals count: a model's answer that did not fail."""
    return message.role == "assistant" and bool(message.model) and not message.error


def usage_of(messages: Sequence[Counted], earlier: ConversationUsage | None = None) -> ConversationUsage:
    """The totals of `messages`, plus `earlier` (those of the messages before them: a page of a long chat)."""
    replies = [m for m in messages if counts(m)]
    costs = [m.cost for m in replies if m.cost is not None]
    known = [cost for cost in (sum(costs) if costs else None, earlier.cost if earlier else None) if cost is not None]
    return ConversationUsage(
        replies=len(replies) + (earlier.replies if earlier else 0),
        prompt_tokens=sum(m.prompt_tokens or 0 for m in replies) + (earlier.prompt_tokens if earlier else 0),
        completion_tokens=sum(m.completion_tokens or 0 for m in replies)
        + (earlier.completion_tokens if earlier else 0),
        cost=sum(known) if known else None,
        unpriced=len(replies) - len(costs) + (earlier.unpriced if earlier else 0),
    )
