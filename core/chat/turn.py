"""A turn: one reply in a saved conversation, streamed, with the user's message and the reply each saved once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from core.chat.conversations import Conversation, ConversationNotFound, ConversationStore, Message
from core.chat.pacing import ReplyPumps
from core.chat.stream import ReplyStream

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TurnOptions:
    """What a turn saves besides its reply: the user's new message (a send) or the reply it replaces (a
    regeneration); `on_saved(conversation_id)` is called once the message is saved."""

    prompt: Message | None = None
    replaces: int | None = None
    on_saved: Callable[[int], object] | None = None


class Turn:
    """One assistant reply in a saved conversation: streamed, then saved exactly once (finished, failed or stopped).

    The reply starts streaming when the turn is made. A sent message is saved by the turn itself, out of the
    provider's way (see `batches`), and in any case before its reply: `finish()` saves both. `finish()` may be
    called from any thread and any number of times; a regenerated reply replaces the old one in the same
    transaction, so a failed regeneration never loses more than it adds.
    """

    def __init__(
        self,
        store: ConversationStore,
        user_id: int,
        conversation: Conversation,
        reply: ReplyStream,
        options: TurnOptions | None = None,
    ) -> None:
        options = options or TurnOptions()
        self.reply = reply
        self._pumps = ReplyPumps([reply])  # the provider starts answering now
        self._conversation = conversation
        self._store = store
        self._user_id = user_id
        self._prompt = options.prompt
        self._replaces = options.replaces
        self._on_saved = options.on_saved
        self._lock = threading.RLock()
        self._message: Message | None = None

    def head_start(self) -> bool:
        """Wait (the GIL free) until the provider has answered or its head start is over; whether it answered.

        Call it before drawing anything: what a page draws meanwhile would slow the request down.
        """
        return self._pumps.head_start()

    @property
    def conversation_id(self) -> int | None:
        """The conversation's id: None for a new chat until its first message is saved."""
        return self._conversation.id

    def save_prompt(self) -> int:
        """Save the user's message now unless it already is (a new chat is created with it); the conversation's id.

        If the conversation was deleted meanwhile (in another tab), the message starts a new one: it is never lost.
        """
        with self._lock:
            conversation, prompt = self._conversation, self._prompt
            if prompt is not None:
                if conversation.id is not None:
                    try:
                        conversation.messages.append(self._store.add_message(self._user_id, conversation.id, prompt))
                    except ConversationNotFound:
                        log.info("a message was sent to a conversation deleted meanwhile: saved as a new one")
                        conversation.id, conversation.messages[:] = None, []
                if conversation.id is None:
                    created = self._store.create(self._user_id, conversation.settings, first=prompt)
                    conversation.id, conversation.created_at = created.id, created.created_at
                    conversation.messages.extend(created.messages)
            assert conversation.id is not None
            if prompt is not None:
                self._prompt = None
                if self._on_saved is not None:
                    self._on_saved(conversation.id)
            return conversation.id

    def batches(
        self, on_idle: Callable[[], object] | None = None, then: Callable[[], object] | None = None
    ) -> Iterator[str]:
        """The reply's text in batches (see `ReplyPumps.batches`), for `st.write_stream`.

        The user's message is saved, and `then()` called, once: right after the first text has been handed out
        when the provider answers within its head start (`HEAD_START_SECONDS` from sending), otherwise when that
        is over (so a page can draw what is above the reply without slowing the request, and a slow provider
        never holds it up).
        """
        pending = True

        def after_start() -> None:
            nonlocal pending
            if pending:
                pending = False
                self.save_prompt()
                if then is not None:
                    then()

        if not self.head_start():
            after_start()
        for _, text in self._pumps.batches(on_idle=on_idle):
            yield text
            after_start()
        after_start()

    def finish(self) -> Message:
        """Stop the reply if it is still streaming, and save the user's message (if not yet) and the reply (once)."""
        with self._lock:
            if self._message is None:
                self.reply.stop()
                message = self.reply.message()
                conversation_id = self.save_prompt()
                try:
                    message = self._store.add_message(self._user_id, conversation_id, message, replaces=self._replaces)
                except ConversationNotFound:
                    log.info("a reply arrived for a conversation that was deleted meanwhile")
                self._message = message
            return self._message
