"""The process-wide pool of loaded local models, shared by every session: at most `max_loaded` in memory (the least
recently used unloaded first), a load refused when the memory it needs is not free, and ONE generation at a time
on this server, first come first served. A waiting generation knows how many are `ahead()` of it; cancelling it
takes it out of the queue at once. Models load and unload only on the turn's thread, so none is closed mid-reply."""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.local.errors import LocalModelError
from core.local.runtime import GIB, Generation, GenerationRequest, LoadedModel, load, memory_needed
from core.local.seat import current_seat


def available_memory() -> int:
    """Bytes of memory the system can give without swapping (MemAvailable); unknown off Linux, so no limit."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return sys.maxsize


def _gib(size: int) -> str:
    return f"{size / GIB:.1f}"


@dataclass(eq=False)
class _Ticket:
    """One generation's place in the queue."""

    repo_id: str
    folder: Path
    request: GenerationRequest
    generation: Generation = field(init=False)


class ModelPool:
    """Loaded local models and the one queue every local generation waits in. Thread-safe."""

    def __init__(self, max_loaded: int, threads: int, free_memory: Callable[[], int] = available_memory) -> None:
        self.max_loaded, self.threads, self._free_memory = max(1, max_loaded), threads, free_memory
        self._models: OrderedDict[str, LoadedModel] = OrderedDict()
        self._retired: list[LoadedModel] = []  # unloaded while replying: closed when the reply ends
        self._queue: list[_Ticket] = []  # the first one runs, the others wait their turn
        self._turns = threading.Condition()

    def generate(self, repo_id: str, folder: Path, request: GenerationRequest) -> Generation:
        """Queue a generation: the model loads on its turn (LocalModelError, raised when iterating, if it cannot).
        A seat bound by the caller (see `seat.py`) takes it."""
        ticket = _Ticket(repo_id, folder, request)
        with self._turns:
            self._queue.append(ticket)
        ticket.generation = Generation(ahead=lambda: self._ahead(ticket))
        ticket.generation.on_cancel(lambda: self._leave_if_waiting(ticket))
        if (seat := current_seat()) is not None:
            seat.take(ticket.generation)
        ticket.generation.begin(lambda _: self._serve(ticket))
        return ticket.generation

    def _ahead(self, ticket: _Ticket) -> int:
        with self._turns:
            return self._queue.index(ticket) if ticket in self._queue else 0

    def waiting(self, repo_id: str) -> int:
        """How many generations for this model wait for their turn (the one running not counted)."""
        with self._turns:
            return sum(1 for ticket in self._queue[1:] if ticket.repo_id == repo_id)

    def _leave_if_waiting(self, ticket: _Ticket) -> None:
        """A cancelled generation that has not started leaves the queue now; a running one ends at its next token."""
        with self._turns:
            if ticket in self._queue[1:]:
                self._queue.remove(ticket)
                self._turns.notify_all()

    def _serve(self, ticket: _Ticket) -> None:
        """On the generation's own thread: wait for the turn, load the model if needed, generate, pass the turn."""
        with self._turns:
            while ticket in self._queue and self._queue[0] is not ticket:
                self._turns.wait()
            if ticket not in self._queue:  # cancelled while waiting
                return
        try:
            if not ticket.generation.cancelled.is_set():
                self._model(ticket).run(ticket.request, ticket.generation)
        finally:
            with self._turns:
                self._queue.remove(ticket)
                retired, self._retired = self._retired, []
                self._turns.notify_all()
            for model in retired:
                model.close()

    def _model(self, ticket: _Ticket) -> LoadedModel:
        """The loaded model, most recently used now; loaded after unloading the least recently used beyond the
        limit, if the memory it needs is free. Called only on the running turn."""
        repo_id, folder = ticket.repo_id, ticket.folder
        with self._turns:
            if (model := self._models.get(repo_id)) is not None:
                self._models.move_to_end(repo_id)
                return model
            evicted = [self._models.popitem(last=False)[1] for _ in range(len(self._models) - self.max_loaded + 1)]
        for old in evicted:
            old.close()
        needed, free = memory_needed(folder), self._free_memory()
        if needed > free:
            raise LocalModelError(
                f"{repo_id} needs about {_gib(needed)} GiB of free memory; {_gib(free)} GiB are free. "
                "Close another model or pick a smaller one."
            )
        ticket.generation.loading.set()
        try:
            model = load(repo_id, folder, self.threads)
        finally:
            ticket.generation.loading.clear()
        with self._turns:
            self._models[repo_id] = model
        return model

    def unload(self, repo_id: str) -> None:
        """Free the model's memory (after the reply it is giving, if any)."""
        with self._turns:
            model = self._models.pop(repo_id, None)
            if model is not None and self._queue and self._queue[0].repo_id == repo_id:
                self._retired.append(model)
                return
        if model is not None:
            model.close()

    def loaded(self) -> list[str]:
        """The loaded models, least recently used first."""
        with self._turns:
            return list(self._models)
