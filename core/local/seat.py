"""A chat reply's seat in the local models' queue. Chat makes it before calling litellm and binds it while litellm
makes the generation (litellm calls the custom provider on the caller's own thread or task, so a ContextVar
reaches it); the pool seats the generation it makes there. The reply can then say where it stands ("Waiting for
the model (2 ahead)") and Stop ends it even while it is still waiting."""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from core.local.generation import Generation

_current: ContextVar[Seat | None] = ContextVar("local_seat", default=None)


class Seat:
    """Where one reply stands in the queue, and its Stop; thread-safe, cancellable before its generation exists."""

    def __init__(self, repo_id: str) -> None:
        self.repo_id = repo_id
        self._generation: Generation | None = None
        self._cancelled = False
        self._lock = threading.Lock()

    @contextmanager
    def bound(self) -> Iterator[Seat]:
        """While inside, a generation the pool makes on this thread or task takes this seat."""
        token = _current.set(self)
        try:
            yield self
        finally:
            _current.reset(token)

    def take(self, generation: Generation) -> None:
        """The pool seats its generation (one cancelled already is cancelled at once)."""
        with self._lock:
            self._generation, cancelled = generation, self._cancelled
        if cancelled:
            generation.cancel()

    def cancel(self) -> None:
        """End the reply: it leaves the queue at once, or stops at its next token."""
        with self._lock:
            self._cancelled, generation = True, self._generation
        if generation is not None:
            generation.cancel()

    def note(self) -> str | None:
        """What the reply waits for, in words; None once it generates (or before the pool has it)."""
        generation = self._generation
        if generation is None or generation.ended.is_set() or generation.cancelled.is_set():
            return None
        if (ahead := generation.ahead()) > 0:
            return f"Waiting for the model ({ahead} ahead). One reply runs at a time on this server."
        if generation.loading.is_set():
            return f"Loading {self.repo_id} into memory…"
        return None


def current_seat() -> Seat | None:
    """The seat bound on this thread or task, if any."""
    return _current.get()


def seated(stream: Generator[Any, None, None], seat: Seat) -> Iterator[Any]:
    """The stream, its first step (where litellm asks the local provider for the generation) with `seat` bound."""
    try:
        with seat.bound():
            first = next(stream, None)
        if first is not None:
            yield first
            yield from stream
    finally:
        stream.close()  # closing litellm's stream ends the generation (also when this one is closed at `first`)
