"""A conversation as Markdown or JSON, and the usage and cost wording the Chat page shares with the exports."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from core.chat.conversations import MESSAGE_FIELDS, Conversation, Message
from core.chat.usage import ConversationUsage

# An unknown value reads "unknown" in a sentence (a reply's caption, a chat's totals, the exports) and "—" where
# it stands in a table's cell or a row of figures (Models, Compare), as the Models table's empty cells do.
UNKNOWN = "unknown"
DASH = "—"
SMALLEST_COST = 0.000001


def format_cost(cost: float | None, unknown: str = UNKNOWN) -> str:
    """USD with enough digits for a single cheap reply; `unknown` when litellm has no price for the model."""
    if cost is None:
        return unknown
    if cost == 0:
        return "$0"
    if cost < SMALLEST_COST / 2:  # would print as $0.000000, which reads as free
        return f"< ${SMALLEST_COST:.6f}"
    return f"${cost:.6f}" if cost < 0.01 else f"${cost:,.4f}"


def _tokens(prompt_tokens: int | None, completion_tokens: int | None) -> str:
    if prompt_tokens is None or completion_tokens is None:
        return f"tokens {UNKNOWN}"
    return f"{prompt_tokens:,} in / {completion_tokens:,} out tokens"


def describe_reply(message: Message) -> str:
    """`openai/gpt-4o · 12 in / 30 out tokens · cost $0.000123` (· interrupted)."""
    parts = [message.model or "no model", _tokens(message.prompt_tokens, message.completion_tokens)]
    parts.append(f"cost {format_cost(message.cost)}")
    if message.interrupted:
        parts.append("interrupted")
    return " · ".join(parts)


def describe_usage(usage: ConversationUsage) -> str:
    """Totals for a conversation, saying how many replies had no known price."""
    if not usage.replies:
        return "No replies yet."
    replies = f"{usage.replies} repl{'y' if usage.replies == 1 else 'ies'}"
    tokens = f"{usage.prompt_tokens:,} in / {usage.completion_tokens:,} out tokens"
    cost = f"cost {format_cost(usage.cost)}"
    if usage.unpriced and usage.cost is not None:
        cost += f" + {UNKNOWN} for {usage.unpriced} repl{'y' if usage.unpriced == 1 else 'ies'}"
    return f"This chat: {replies} · {tokens} · {cost}"


def describe_speed(time_to_first_token: float | None, tokens_per_second: float | None, cost: float | None) -> str:
    """A Compare column's figures, "—" for each one not known: `first token after 0.42 s · 85 tokens/s · cost —`."""
    first = f"{time_to_first_token:.2f} s" if time_to_first_token is not None else DASH
    speed = f"{tokens_per_second:,.0f}" if tokens_per_second is not None else DASH
    return f"first token after {first} · {speed} tokens/s · cost {format_cost(cost, DASH)}"


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


# The message fields an export leaves out (the database's own numbering, the error's internal kind), and the
# ones it names for a reader: every other field of Message comes along by its own name.
NOT_EXPORTED = frozenset({"id", "error_kind"})
EXPORT_NAMES = {"cost": "cost_usd"}


def _version(conversation: Conversation, message: Message) -> str | None:
    """`2 / 3` for a message shown among other versions of its turn (exports hold the versions shown only)."""
    versions = conversation.versions.get(message.id) if message.id is not None else None
    return versions.label if versions else None


def _exported(conversation: Conversation, message: Message) -> dict[str, object]:
    document: dict[str, object] = {}
    for name in MESSAGE_FIELDS:
        if name not in NOT_EXPORTED:
            value = getattr(message, name)
            document[EXPORT_NAMES.get(name, name)] = _iso(value) if isinstance(value, datetime) else value
    if version := _version(conversation, message):
        document["version"] = version
    return document


def to_json(conversation: Conversation) -> str:
    """The conversation as shown: settings, and per message its model, error, usage and cost, and which version
    it is where its turn has others (those are not exported)."""
    settings = conversation.settings
    document = {
        "title": conversation.display_title,
        "created_at": _iso(conversation.created_at),
        "updated_at": _iso(conversation.updated_at),
        "settings": {
            "system_prompt": settings.system_prompt,
            "temperature": settings.temperature,
            "max_tokens": settings.max_tokens,
        },
        "messages": [_exported(conversation, message) for message in conversation.messages],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def to_markdown(conversation: Conversation) -> str:
    """A readable transcript of the chat as shown: the title, the settings, then each message under who wrote it
    (saying which version it is where its turn has others, which are not exported)."""
    settings = conversation.settings
    lines = [f"# {conversation.display_title}", ""]
    if settings.system_prompt:
        lines += ["**System prompt**", "", settings.system_prompt, ""]
    temperature = "provider default" if settings.temperature is None else f"{settings.temperature:g}"
    limit = "the model's limit" if settings.max_tokens is None else f"{settings.max_tokens:,}"
    lines += [f"_Temperature: {temperature} · max output tokens: {limit}_", ""]
    for message in conversation.messages:
        if message.role == "user":
            lines += ["## You", ""]
        else:
            lines += [f"## Assistant ({message.model or 'no model'})", ""]
        if version := _version(conversation, message):
            lines += [f"_Version {version.replace(' / ', ' of ')}; the others are not in this export._", ""]
        if message.content:
            lines += [message.content, ""]
        if message.error:
            lines += [f"> **Error:** {message.error}", ""]
        if message.role == "assistant" and message.model:
            lines += [f"_{describe_reply(message)}_", ""]
    lines.append(f"_{describe_usage(conversation.usage())}_")
    return "\n".join(lines) + "\n"


def export_name(conversation: Conversation, extension: str) -> str:
    """A safe file name from the title, e.g. `chat-explain-quicksort.md`."""
    slug = re.sub(r"[^a-z0-9]+", "-", conversation.display_title.lower()).strip("-")[:50].rstrip("-")
    return f"chat-{slug or 'conversation'}.{extension}"
