"""Saved conversations: every read and write takes the signed-in user's id and touches only their chats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, delete, select, update

from core.chat.usage import ConversationUsage, usage_of
from core.chat.versions import Versions, active_path, parent_for_next, show
from core.db.engine import session
from core.db.tables import ChatConversation, ChatMessage, utcnow
from core.errors import AppError, InvalidInput
from core.text import strip_unsafe

MAX_TOKENS_LIMIT = 65_536
MAX_TEMPERATURE = 2.0
MAX_SYSTEM_PROMPT_CHARS = 20_000
MAX_PROMPT_CHARS = 100_000
MAX_TITLE_CHARS = 200
TITLE_FROM_MESSAGE_CHARS = 60
UNTITLED = "New chat"


class ConversationNotFound(AppError):
    """The conversation does not exist, or is not the user's."""

    def __init__(self) -> None:
        super().__init__("This chat no longer exists (it may have been deleted in another tab). Start a new chat.")


@dataclass(frozen=True)
class GenerationSettings:
    """Per-conversation request settings; None leaves the provider's temperature, and the model's own output limit
    (see core/chat/output_limit.py)."""

    system_prompt: str = ""
    temperature: float | None = None
    max_tokens: int | None = None


DEFAULT_SETTINGS = GenerationSettings()


@dataclass
class Message:
    role: str
    content: str
    model: str | None = None
    error: str | None = None
    error_kind: str | None = None
    interrupted: bool = False
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None
    id: int | None = None
    created_at: datetime | None = None


# A message's fields are named once, here: the table's columns match them (a test checks), and the store copies
# each by name; `id` and `created_at` are the table's to assign.
MESSAGE_FIELDS = tuple(each.name for each in fields(Message))
WRITTEN_FIELDS = tuple(name for name in MESSAGE_FIELDS if name not in ("id", "created_at"))


@dataclass
class Conversation:
    """A conversation as shown: `messages` is its active path (see core/chat/versions.py), or a page's last part of
    it (core/chat/paging.py: `earlier` counts those before, `earlier_usage` their totals); `versions` holds, by the id
    of the message shown, each turn that has more than one; `id` is None until its first message is saved."""

    id: int | None = None
    title: str = ""
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    messages: list[Message] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    versions: dict[int, Versions] = field(default_factory=dict)
    earlier: int = 0
    earlier_usage: ConversationUsage | None = None

    @property
    def display_title(self) -> str:
        return self.title or UNTITLED

    def for_provider(self) -> list[dict[str, str]]:
        """What to send: the system prompt, then every message with content, in order; a failed reply stays on the
        page but is not sent (the message it failed to answer is)."""
        sent = [{"role": "system", "content": self.settings.system_prompt}] if self.settings.system_prompt else []
        return sent + [{"role": m.role, "content": m.content} for m in self.messages if m.content and not m.error]

    def usage(self) -> ConversationUsage:
        return usage_of(self.messages, self.earlier_usage)


@dataclass(frozen=True)
class ConversationSummary:
    """A line of the conversation list."""

    id: int
    title: str
    updated_at: datetime


def title_from(text: str) -> str:
    """A conversation's title from its first message: the first line, shortened."""
    line = next((line for line in strip_unsafe(text).splitlines() if line.strip()), "")
    title = " ".join(line.split())
    if len(title) > TITLE_FROM_MESSAGE_CHARS:
        title = title[: TITLE_FROM_MESSAGE_CHARS - 1].rstrip() + "…"
    return title or UNTITLED


def clean_title(text: str | None) -> str:
    """A chat's title: one line, invisible control characters removed, not empty, not too long."""
    title = " ".join(strip_unsafe(text).split())
    if not title:
        raise InvalidInput("The title is empty. Type a name for this chat.", "title")
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidInput(f"The title is too long (over {MAX_TITLE_CHARS} characters).", "title")
    return title


def clean_prompt(text: str | None) -> str:
    """A message the user sends: not empty, not absurdly long; line breaks and spacing kept, invisible control
    characters removed."""
    text = strip_unsafe(text).strip()
    if not text:
        raise InvalidInput("The message is empty.", "prompt")
    if len(text) > MAX_PROMPT_CHARS:
        raise InvalidInput(f"The message is too long (over {MAX_PROMPT_CHARS:,} characters). Shorten it.", "prompt")
    return text


def clean_settings(system_prompt: str | None, temperature: float | None, max_tokens: int | None) -> GenerationSettings:
    """Validate what the settings panel holds; InvalidInput names the field that is wrong."""
    prompt = strip_unsafe(system_prompt).strip()
    if len(prompt) > MAX_SYSTEM_PROMPT_CHARS:
        raise InvalidInput(f"The system prompt is too long (over {MAX_SYSTEM_PROMPT_CHARS:,} characters).", "system")
    if temperature is not None and not 0.0 <= float(temperature) <= MAX_TEMPERATURE:
        raise InvalidInput(f"Temperature goes from 0 to {MAX_TEMPERATURE:g}.", "temperature")
    tokens = None if max_tokens is None else int(max_tokens)
    if tokens is not None and not 1 <= tokens <= MAX_TOKENS_LIMIT:
        raise InvalidInput(f"Max output tokens goes from 1 to {MAX_TOKENS_LIMIT:,}.", "max_tokens")
    return GenerationSettings(prompt, None if temperature is None else round(float(temperature), 2), tokens)


def _settings(row: ChatConversation) -> GenerationSettings:
    return GenerationSettings(row.system_prompt, row.temperature, row.max_tokens)


def _summary(row: ChatConversation) -> ConversationSummary:
    assert row.id is not None  # read from the table, so it has its primary key
    return ConversationSummary(row.id, row.title or UNTITLED, row.updated_at)


class ConversationStore:
    """Every method takes the signed-in user's id; another user's conversation behaves as if it did not exist."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @staticmethod
    def _owned(db: Session, user_id: int, conversation_id: int | None) -> ChatConversation:
        mine = col(ChatConversation.id) == conversation_id, col(ChatConversation.user_id) == user_id
        row = db.exec(select(ChatConversation).where(*mine)).first()
        if row is None:
            raise ConversationNotFound()
        return row

    def create(
        self, user_id: int, settings: GenerationSettings = DEFAULT_SETTINGS, first: Sequence[Message] = ()
    ) -> Conversation:
        """A new conversation, with its `first` messages saved in the same transaction."""
        row = ChatConversation(
            user_id=user_id,
            system_prompt=settings.system_prompt,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
        )
        with session(self._engine) as db:
            db.add(row)
            db.flush()  # the conversation's id, for its messages
            messages = list(self._append_all(db, row, first, None))
            db.commit()
            return Conversation(row.id, row.title, _settings(row), messages, row.created_at, row.updated_at)

    def list(self, user_id: int) -> list[ConversationSummary]:
        """The user's conversations, most recently active first."""
        with session(self._engine) as db:
            rows = db.exec(
                select(ChatConversation)
                .where(col(ChatConversation.user_id) == user_id)
                .order_by(col(ChatConversation.updated_at).desc(), col(ChatConversation.id).desc())
            ).all()
        return [_summary(row) for row in rows]

    def get(self, user_id: int, conversation_id: int) -> Conversation:
        """The conversation with the messages it shows in order; ConversationNotFound when it is not the user's."""
        with session(self._engine) as db:
            row = self._owned(db, user_id, conversation_id)
            rows = db.exec(select(ChatMessage).where(col(ChatMessage.conversation_id) == row.id)).all()
        return self._shown(row, *active_path(rows))

    @staticmethod
    def _shown(row: ChatConversation, shown: Sequence[ChatMessage], versions: dict[int, Versions]) -> Conversation:
        messages = [Message(**{name: getattr(m, name) for name in MESSAGE_FIELDS}) for m in shown]
        return Conversation(row.id, row.title, _settings(row), messages, row.created_at, row.updated_at, versions)

    def rename(self, user_id: int, conversation_id: int, title: str) -> str:
        title = clean_title(title)
        with session(self._engine) as db:
            row = self._owned(db, user_id, conversation_id)
            row.title = title
            db.add(row)
            db.commit()
        return title

    def update_settings(self, user_id: int, conversation_id: int, settings: GenerationSettings) -> None:
        with session(self._engine) as db:
            row = self._owned(db, user_id, conversation_id)
            row.system_prompt = settings.system_prompt
            row.temperature = settings.temperature
            row.max_tokens = settings.max_tokens
            db.add(row)
            db.commit()

    def delete(self, user_id: int, conversation_id: int) -> bool:
        """Delete the conversation and its messages; True when there was one."""
        with session(self._engine) as db:
            mine = col(ChatConversation.id) == conversation_id, col(ChatConversation.user_id) == user_id
            result = db.exec(delete(ChatConversation).where(*mine))
            db.commit()
            return bool(result.rowcount)

    def add_message(self, user_id: int, conversation_id: int, message: Message, replaces: int | None = None) -> Message:
        """Append a message (a new version of message `replaces`, see `add_messages`) in one transaction."""
        return self.add_messages(user_id, conversation_id, [message], replaces)[0]

    def add_messages(
        self, user_id: int, conversation_id: int, messages: Sequence[Message], replaces: int | None = None
    ) -> Sequence[Message]:
        """Append messages in order after the active path's last one, in one transaction; with `replaces` (a
        regenerated reply, an edited message) the first is instead a new version of that message, shown in its place.

        The first user message names an untitled conversation; every message makes it the most recent.
        """
        with session(self._engine) as db:
            conversation = self._owned(db, user_id, conversation_id)
            saved = self._append_all(db, conversation, messages, parent_for_next(db, conversation_id, replaces))
            db.commit()
            return saved

    def show_version(self, user_id: int, conversation_id: int, message_id: int) -> None:
        """Show version `message_id` of its turn from now on (and send what it leads to as the context)."""
        with session(self._engine) as db:
            self._owned(db, user_id, conversation_id)
            if not show(db, conversation_id, message_id):
                raise ConversationNotFound()
            db.commit()

    def update_message(self, user_id: int, conversation_id: int, message: Message, touch: bool = False) -> bool:
        """Write a saved message (it has its id) over its row in one statement, `touch` making its chat the most
        recent; False when the row is gone (its chat deleted meanwhile)."""
        mine = col(ChatConversation.id) == conversation_id, col(ChatConversation.user_id) == user_id
        with session(self._engine) as db:
            written = db.exec(
                update(ChatMessage)
                .where(col(ChatMessage.id) == message.id)
                .where(col(ChatMessage.conversation_id).in_(select(ChatConversation.id).where(*mine)))
                .values({name: getattr(message, name) for name in WRITTEN_FIELDS})
            )
            if touch and written.rowcount:
                db.exec(update(ChatConversation).where(*mine).values(updated_at=utcnow()))
            db.commit()
            return bool(written.rowcount)

    @staticmethod
    def _append_all(
        db: Session, conversation: ChatConversation, messages: Sequence[Message], parent_id: int | None
    ) -> Sequence[Message]:
        """Add `messages` to the session (committed by the caller), each following the one before and the first
        `parent_id`, naming and bumping their conversation."""
        assert conversation.id is not None  # callers pass a conversation read from the table or flushed into it
        saved = []
        for message in messages:
            values = {name: getattr(message, name) for name in WRITTEN_FIELDS}
            row = ChatMessage(conversation_id=conversation.id, parent_id=parent_id, **values)
            if not conversation.title and message.role == "user":
                conversation.title = title_from(message.content)
            conversation.updated_at = row.created_at = utcnow()
            db.add(row)
            db.add(conversation)
            db.flush()  # the message's id
            parent_id = row.id
            saved.append(replace(message, id=row.id, created_at=row.created_at))
        return saved
