"""A turn: one reply in a saved conversation, read from the provider on a thread of its own whoever watches it,
saved with the user's message as it starts, written as it grows and saved for good once it settles."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from core.chat.conversations import Conversation, ConversationNotFound, ConversationStore, Message
from core.chat.live import LiveTurns
from core.chat.pacing import FIRST_TEXT_HANDOFF_SECONDS, HEAD_START_SECONDS, IDLE_SECONDS, STREAM_BATCH_SECONDS
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

    The reply starts streaming when the turn is made, on a thread of the turn's own: it goes on whoever watches,
    and any number of readers (`batches()`, from any page run or tab) come and go without ending it. The user's
    message and the reply's row (marked interrupted, with what has arrived) are saved together, out of the
    provider's way (see `batches`); the row then catches up with the text every `SAVE_SECONDS` (core/chat/live.py)
    and the turn saves it for good when it settles. `finish()` (the app's Stop, a process stopping) ends it early;
    it may be called from any thread and any number of times. A regenerated reply (an edited message) is saved as
    a new version of the one it replaces, which the chat stops showing in that transaction.
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
        self.user_id = user_id
        self._conversation = conversation
        self._store = store
        self._prompt = options.prompt
        self._replaces = options.replaces
        self._on_saved = options.on_saved
        self._live = options.live
        self._lock = threading.RLock()
        self._row: Message | None = None  # the reply as last written (with its id), once saved
        self._gone = False  # its conversation was deleted meanwhile: nothing more to write
        self._message: Message | None = None  # the reply as saved for good
        self._changed = threading.Condition()  # notified as text arrives and once the reply is saved for good
        self._taken = threading.Event()  # a reader has taken the first text
        self._done = threading.Event()  # saved for good
        if self._live is not None:
            self._live.add(self)  # ReplyInProgress when the chat has a reply streaming: nothing is asked then
        self._head_start_ends = time.perf_counter() + HEAD_START_SECONDS
        threading.Thread(target=self._pump, name="reply-turn", daemon=True).start()  # the provider is asked now

    def _pump(self) -> None:
        """The turn's thread: read the reply to its end, then save it for good."""
        try:
            for _ in self.reply:
                with self._changed:
                    self._changed.notify_all()
                if not self._taken.is_set():
                    # Wait (briefly) until the first text is taken: a stream whose chunks are already buffered keeps
                    # this thread busy, and the page would get the GIL only after the switch interval (5 ms).
                    self._taken.wait(FIRST_TEXT_HANDOFF_SECONDS)
        finally:
            try:
                self.finish()
            except Exception:  # e.g. the database is down: the row keeps its last batch
                log.warning("could not save a reply that settled", exc_info=True)

    @property
    def done(self) -> bool:
        """Whether the reply is saved for good (finished, failed or stopped)."""
        return self._done.is_set()

    @property
    def reply_id(self) -> int | None:
        """The id of the reply's row, once it is saved."""
        row = self._row
        return row.id if row is not None else None

    def head_start(self) -> bool:
        """Wait (the GIL free) until the provider has answered or its head start is over; whether it answered.

        Call it before drawing anything: what a page draws meanwhile would slow the request down.
        """
        return self._wait(0, max(0.0, self._head_start_ends - time.perf_counter()))

    def _wait(self, shown: int, timeout: float) -> bool:
        """Wait up to `timeout` s (the GIL free) for text past `shown` characters, or the end; whether it came."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.reply.text) > shown or self._done.is_set(), timeout)

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
        """The reply's text for `st.write_stream`: all that has arrived at once, then the rest in batches (at most one
        per `STREAM_BATCH_SECONDS`), until it is saved for good. While nothing comes, `on_idle` is called every
        `IDLE_SECONDS`. Any number of readers, each from its start; leaving early ends nothing.

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
        shown = 0
        while True:
            text = self.reply.text
            if len(text) > shown:
                yield text[shown:]
                shown = len(text)
                self._taken.set()
                after_start()
                self._done.wait(STREAM_BATCH_SECONDS)  # the next batch, or the end
            elif self._done.is_set():
                break
            elif not self._wait(shown, IDLE_SECONDS) and on_idle is not None:
                on_idle()
        after_start()

    def save_progress(self) -> None:
        """Write the text that arrived since the last write; save a reply that has settled for good (its own thread
        may still wait on a read the provider never answers). The user's message is saved once the head start is
        over if no reader has saved it (see `batches`). Called by `LiveTurns`' thread."""
        with self._lock:
            row = self._row
            if self._gone or self._message is not None:
                return
            if row is None:
                if time.perf_counter() >= self._head_start_ends:
                    self.save_prompt()
            elif self.reply.settled:
                self.finish()
            elif len(self.reply.text) != len(row.content):  # the text only grows
                self._write(self._as_it_stands())

    def finish(self) -> Message:
        """Stop the reply if it is still streaming, and save the user's message (if not yet) and the reply for good."""
        with self._lock:
            if self._message is None:
                try:
                    self.reply.stop()
                    message = self.reply.message()
                    if self._row is None and not self._gone:
                        self._open(message)
                    elif not self._gone:
                        self._write(message, touch=True)
                    saved = self._row
                    self._message = (
                        message if saved is None else replace(message, id=saved.id, created_at=saved.created_at)
                    )
                finally:  # saved or not, it streams no more: its readers end
                    if self._live is not None:
                        self._live.discard(self)
                    self._done.set()
                    with self._changed:
                        self._changed.notify_all()
            assert self._message is not None
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
                saved = self._store.add_messages(self.user_id, conversation.id, messages, replaces=self._replaces)
            except ConversationNotFound:
                if prompt is None:
                    log.info("a reply was regenerated for a conversation that was deleted meanwhile")
                    self._gone = True
                    return
                log.info("a message was sent to a conversation deleted meanwhile: saved as a new one")
                conversation.id, conversation.messages[:] = None, []
        if saved is None:
            created = self._store.create(self.user_id, conversation.settings, first=messages)
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
        if self._store.update_message(self.user_id, self._conversation.id, reply, touch=touch):
            self._row = reply
        else:
            log.info("a reply arrived for a conversation that was deleted meanwhile")
            self._gone = True
