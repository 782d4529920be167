"""One reply from a local model: the request, and the `Generation` it streams through.

A `Generation` runs on its own worker thread: the runtime pushes text pieces into it and the caller iterates them.
`cancel()` is seen by the runtime between two tokens, so it ends within one token's time; a queued one leaves its
queue at once (the pool's `on_cancel` callback)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

FinishReason = Literal["stop", "length"]
_DONE = object()


@dataclass(frozen=True)
class GenerationRequest:
    """One reply to generate: the chat so far, the output bound, the temperature (None: the model's default;
    0: greedy)."""

    messages: tuple[Mapping[str, str], ...]
    max_tokens: int
    temperature: float | None = None


class Generation:
    """One reply's text pieces as the runtime makes them; `prompt_tokens`, `completion_tokens` and
    `finish_reason` are known once iteration ends. Iterating raises the error that ended the generation, if any."""

    def __init__(self, ahead: Callable[[], int] | None = None) -> None:
        self._pieces: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._ahead = ahead
        self._on_cancel: list[Callable[[], None]] = []
        self.cancelled = threading.Event()
        self.loading = threading.Event()  # set while its model loads for it
        self.ended = threading.Event()
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.finish_reason: FinishReason = "stop"

    @classmethod
    def start(cls, work: Callable[[Generation], None], ahead: Callable[[], int] | None = None) -> Generation:
        """A generation whose `work` runs on a new daemon thread, pushing pieces and finishing it."""
        generation = cls(ahead)
        generation.begin(work)
        return generation

    def begin(self, work: Callable[[Generation], None]) -> None:
        """Run `work` on a new daemon thread; what it raises is raised where the caller iterates."""
        threading.Thread(target=self._run, args=(work,), name="local-generation", daemon=True).start()

    def _run(self, work: Callable[[Generation], None]) -> None:
        try:
            work(self)
        except BaseException as error:  # handed to the caller's thread, raised where it iterates
            self._pieces.put(error)
        finally:
            self.ended.set()
            self._pieces.put(_DONE)

    # The runtime's side.
    def put(self, text: str) -> None:
        if text:
            self._pieces.put(text)

    def finish(self, prompt_tokens: int, completion_tokens: int, finish_reason: FinishReason) -> None:
        self.prompt_tokens, self.completion_tokens, self.finish_reason = prompt_tokens, completion_tokens, finish_reason

    # The caller's side.
    def __iter__(self) -> Iterator[str]:
        while True:
            item = self._pieces.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            if not self.cancelled.is_set():
                yield str(item)

    def ahead(self) -> int:
        """How many generations run or wait before this one (0 once it runs)."""
        return self._ahead() if self._ahead else 0

    def on_cancel(self, callback: Callable[[], None]) -> None:
        self._on_cancel.append(callback)

    def cancel(self) -> None:
        """End the generation: the runtime stops at its next token, a queued one leaves the queue at once."""
        if not self.cancelled.is_set():
            self.cancelled.set()
            for callback in self._on_cancel:
                callback()
