"""A plain completion (no stream, nothing saved), as the HTTP API asks for one: its bounds, its messages, its result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.chat.conversations import MAX_PROMPT_CHARS
from core.chat.stream import price
from core.errors import InvalidInput
from core.models.target import ModelTarget

ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class CompletionParams:
    """How a completion is bounded; None leaves the provider's temperature, and the model's own output limit."""

    temperature: float | None = None
    max_tokens: int | None = None


@dataclass(frozen=True)
class Completion:
    """A finished completion: its text, why it ended, its usage and cost (None where unknown), the model asked."""

    text: str
    model: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost: float | None


def clean_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """What a completion sends: each message's role and text; InvalidInput (at `messages`) for anything else."""
    if not messages:
        raise InvalidInput("There are no messages to answer. Send at least one.", "messages")
    cleaned = []
    for number, message in enumerate(messages, start=1):
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise InvalidInput(f"Message {number} has role {role!r}: use one of {', '.join(ROLES)}.", "messages")
        if not isinstance(content, str):
            raise InvalidInput(f"Message {number} has no text content.", "messages")
        if len(content) > MAX_PROMPT_CHARS:
            raise InvalidInput(f"Message {number} is too long (over {MAX_PROMPT_CHARS:,} characters).", "messages")
        cleaned.append({"role": role, "content": content})
    return cleaned


def completion_of(response: Any, target: ModelTarget) -> Completion:
    """litellm's response to a completion with `target`, as the app reports it, priced as a streamed reply is."""
    choice = response.choices[0] if response.choices else None
    usage = getattr(response, "usage", None)
    prompt_tokens = getattr(usage, "prompt_tokens", None)
    completion_tokens = getattr(usage, "completion_tokens", None)
    return Completion(
        text=(choice.message.content if choice is not None else None) or "",
        model=target.ref,
        finish_reason=getattr(choice, "finish_reason", None),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost=price(target, prompt_tokens, completion_tokens),
    )
