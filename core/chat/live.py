"""The turns streaming in this process, whoever watches them: found by their user and chat, each reply's row
written as it grows, and every one ended and saved when the process is asked to stop (a container stop, a rolling
deploy)."""

from __future__ import annotations

import logging
import threading
from typing import Generic, Protocol, TypeVar

from core.errors import ReplyInProgress

log = logging.getLogger(__name__)

# How often a streaming reply's saved row catches up with its text: all a killed process can lose of a reply.
SAVE_SECONDS = 0.5


class LiveTurn(Protocol):
    """A reply being written (core/chat/turn.py's Turn), in one user's chat (None: a new chat not yet saved)."""

    @property
    def user_id(self) -> int: ...

    @property
    def conversation_id(self) -> int | None: ...

    def save_progress(self) -> None: ...

    def finish(self) -> object: ...


T = TypeVar("T", bound=LiveTurn)


class LiveTurns(Generic[T]):
    """The turns streaming in this process, each added as its reply starts and dropped once it is saved for good.

    A page finds a chat's running turn with `running(user_id, conversation_id)`; there is at most one per chat.
    While any streams, one thread calls each one's `save_progress()` every `interval` seconds: the rows grow in
    batches, never a write per token, and no page's thread waits for them. `finish_all()` ends them all.
    """

    def __init__(self, interval: float = SAVE_SECONDS) -> None:
        self._interval = interval
        self._turns: dict[T, None] = {}  # an ordered set
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._saver: threading.Thread | None = None
        self._closed = False

    def add(self, turn: T) -> None:
        """Keep `turn` saved as it grows; once `finish_all()` has run, it is finished at once instead.

        ReplyInProgress when its chat has a turn streaming already (a chat answers one message at a time).
        """
        with self._lock:
            closed = self._closed
            if not closed:
                if self._find(turn.user_id, turn.conversation_id) is not None:
                    raise ReplyInProgress()
                self._turns[turn] = None
                if self._saver is None:
                    self._saver = threading.Thread(target=self._save, name="reply-saver", daemon=True)
                    self._saver.start()
        if closed:
            turn.finish()  # the process is stopping: a reply that starts now ends now, its question saved

    def running(self, user_id: int, conversation_id: int | None) -> T | None:
        """The turn streaming in the user's chat, if any: never another user's."""
        with self._lock:
            return self._find(user_id, conversation_id)

    def _find(self, user_id: int, conversation_id: int | None) -> T | None:
        if conversation_id is None:
            return None
        found = (t for t in self._turns if t.user_id == user_id and t.conversation_id == conversation_id)
        return next(found, None)

    def discard(self, turn: T) -> None:
        with self._lock:
            self._turns.pop(turn, None)

    def finish_all(self) -> int:
        """End every reply still streaming and save it (interrupted, with what had arrived); how many there were.

        For a process about to exit: the threads that stream replies die with it mid-reply. A turn another thread
        is finishing right now is still listed, and waited for: its save completes before the exit.
        """
        with self._lock:
            self._closed = True
            turns = list(self._turns)
        for turn in turns:
            try:
                turn.finish()
            except Exception:  # one reply that cannot be saved must not keep the others from being saved
                log.warning("could not save a reply while stopping", exc_info=True)
        self._wake.set()
        return len(turns)

    def _save(self) -> None:
        """The saver thread: every interval, each turn writes what arrived since; it ends when none is left."""
        while True:
            self._wake.wait(self._interval)
            with self._lock:
                turns = list(self._turns)
                if not turns or self._closed:
                    self._saver = None
                    return
            for turn in turns:
                try:
                    turn.save_progress()
                except Exception:  # e.g. the database is restarting: the next batch, or the final save, catches up
                    log.warning("could not save a streaming reply's progress", exc_info=True)
