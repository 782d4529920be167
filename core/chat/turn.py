"""A turn: one reply in a saved conversation, streamed, saved with the user's message as it starts, written as it
grows and saved for good once it settles."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from core.chat.conversations import Conversation, ConversationNotFound, ConversationStore, Message
from core.chat.live import LiveTurns
from core.chat.pacing import ReplyPumps
from core.chat.stream import ReplyStream

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TurnOptions:
    """What a turn saves besides its reply: the user's new message (a send), the message `replaces` names a new
    version of (a regenerated reply; with `prompt`, the edited message); `on_saved(conversation_id)` is called once
    the message is saved; `live` keeps the reply's row growing while it streams (and ends it when the process stops)."""

    prompt: Message | None = None
    replaces: int | None = None
    on_saved: Callable[[int], object] | None = None
    live: LiveTurns | None = None


class Turn:
    """One assistant reply in a saved conversation, saved from its start so that a process that dies keeps it.

    The reply starts streaming when the turn is made. The user's message and the reply's row (marked interrupted,
    with what has arrived) are saved together, out of the provider's way (see `batches`); the row then catches up
    with the text every `SAVE_SECONDS` (core/chat/live.py) and `finish()` saves it for good: finished, failed or
    stopped. `finish()` may be called from any thread and any number of times. A regenerated reply (an edited
    message) is saved as a new version of the one it replaces, which the chat stops showing in that transaction.
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
        self._live = options.live
        self._lock = threading.RLock()
        self._row: Message | None = None  # the reply as last written (with its id), once saved
        self._gone = False  # its conversation was deleted meanwhile: nothing more to write
        self._message: Message | None = None  # the reply as saved for good
        if self._live is not None:
            self._live.add(self)

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
        """Save the user's message and the reply as it stands unless they are (a new chat is created with them);
        the conversation's id.

        If the conversation was deleted meanwhile (in another tab), the message starts a new one: it is never lost.
        """
        with self._lock:
            if self._row is None and not self._gone:
                self._open(self._as_it_stands())
            assert self._conversation.id is not None
            return self._conversation.id

    def batches(
        self, on_idle: Callable[[], object] | None = None, then: Callable[[], object] | None = None
    ) -> Iterator[str]:
        """The reply's text in batches (see `ReplyPumps.batches`), for `st.write_stream`.

        The user's message and the reply's row are saved, and `then()` called, once: right after the first text
        has been handed out when the provider answers within its head start (`HEAD_START_SECONDS` from sending),
        otherwise when that is over (so a page can draw what is above the reply without slowing the request, and
        a slow provider never holds it up).
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

    def save_progress(self) -> None:
        """Write the text that arrived since the last write; finish a reply that has settled. Nothing before the
        user's message is saved (the page's head start, see `batches`). Called by `LiveTurns`' thread."""
        with self._lock:
            row = self._row
            if row is None or self._gone or self._message is not None:
                return
            if self.reply.settled:
                self.finish()
            elif len(self.reply.text) != len(row.content):  # the text only grows
                self._write(self._as_it_stands())

    def finish(self) -> Message:
        """Stop the reply if it is still streaming, and save the user's message (if not yet) and the reply for good."""
        with self._lock:
            if self._message is None:
                self.reply.stop()
                message = self.reply.message()
                if self._row is None and not self._gone:
                    self._open(message)
                elif not self._gone:
                    self._write(message, touch=True)
                saved = self._row
                self._message = message if saved is None else replace(message, id=saved.id, created_at=saved.created_at)
                if self._live is not None:
                    self._live.discard(self)
            return self._message

    def _as_it_stands(self) -> Message:
        """The reply to write now: as it settled, or until then what has arrived, marked interrupted."""
        settled = self.reply.settled
        message = self.reply.message()
        return message if settled else replace(message, interrupted=True)

    def _open(self, reply: Message) -> None:
        """Save the user's message (if any) and `reply` in one transaction, as a new version of `replaces`."""
        conversation, prompt = self._conversation, self._prompt
        messages = [reply] if prompt is None else [prompt, reply]
        saved: Sequence[Message] | None = None
        if conversation.id is not None:
            try:
                saved = self._store.add_messages(self._user_id, conversation.id, messages, replaces=self._replaces)
            except ConversationNotFound:
                if prompt is None:
                    log.info("a reply was regenerated for a conversation that was deleted meanwhile")
                    self._gone = True
                    return
                log.info("a message was sent to a conversation deleted meanwhile: saved as a new one")
                conversation.id, conversation.messages[:] = None, []
        if saved is None:
            created = self._store.create(self._user_id, conversation.settings, first=messages)
            conversation.id, conversation.created_at, saved = created.id, created.created_at, created.messages
        self._row = saved[-1]
        assert conversation.id is not None
        if prompt is not None:
            conversation.messages.append(saved[0])
            self._prompt = None
            if self._on_saved is not None:
                self._on_saved(conversation.id)

    def _write(self, reply: Message, touch: bool = False) -> None:
        """Write `reply` over its row (`touch`: its chat becomes the most recent)."""
        assert self._row is not None and self._conversation.id is not None
        reply = replace(reply, id=self._row.id, created_at=self._row.created_at)
        if self._store.update_message(self._user_id, self._conversation.id, reply, touch=touch):
            self._row = reply
        else:
            log.info("a reply arrived for a conversation that was deleted meanwhile")
            self._gone = True
