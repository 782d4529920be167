"""Pacing for front ends that redraw: replies streaming on threads of their own, read in batches, so a page draws
a handful of updates per second instead of one per token, and gets control back while a reply is quiet."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from core.chat.stream import ReplyStream

# Text reaches the page in batches: the first piece at once, then at most one update per interval.
STREAM_BATCH_SECONDS = 0.04
# While nothing arrives, the page is given a chance this often to notice a click (Stop).
IDLE_SECONDS = 0.1
# The longest a reply's thread waits for the page to take its first text (see `ReplyPumps._pump`).
FIRST_TEXT_HANDOFF_SECONDS = 0.05
# How long a turn holds back its own work (saving the user's message, drawing the page) for the provider to answer:
# building and sending a request takes litellm a few ms of CPU, which that work would otherwise compete with for
# the GIL. A provider that answers within it is shown first; a slower one only after the message is saved.
HEAD_START_SECONDS = 0.025


class ReplyPumps:
    """Replies streaming from the moment this is made, each on a thread of its own; read them with `batches()`.

    Starting at once lets the provider work while the page draws (and the message is saved).
    """

    def __init__(self, replies: Sequence[ReplyStream]) -> None:
        self.replies = list(replies)
        self._out: queue.SimpleQueue[tuple[int, str | None]] = queue.SimpleQueue()
        self._taken = [threading.Event() for _ in self.replies]
        self._ended = threading.Event()  # set by each pump as its reply ends
        self._arrived = threading.Event()  # set once any reply has text or has ended
        for index, reply in enumerate(self.replies):
            threading.Thread(target=self._pump, args=(index, reply), name=f"reply-{index}", daemon=True).start()
        self._head_start_ends = time.perf_counter() + HEAD_START_SECONDS

    def _pump(self, index: int, reply: ReplyStream) -> None:
        out, taken, arrived = self._out, self._taken[index], self._arrived
        try:
            for delta in reply:
                out.put((index, delta))
                arrived.set()
                if not taken.is_set():
                    # Wait (briefly) until the first text is taken: a stream whose chunks are already buffered keeps
                    # this thread busy, and the page would get the GIL only after the switch interval (5 ms).
                    taken.wait(FIRST_TEXT_HANDOFF_SECONDS)
        finally:
            out.put((index, None))
            self._ended.set()
            arrived.set()

    def wait_for_text(self, timeout: float) -> bool:
        """Wait up to `timeout` s (the GIL free meanwhile) until a reply has text or has ended; whether one has."""
        return self._arrived.wait(timeout)

    def head_start(self) -> bool:
        """Wait (the GIL free) until a reply has text or ended, or `HEAD_START_SECONDS` from the start; whether one has.

        Call it before drawing anything: what a page draws meanwhile would slow the request down.
        """
        return self.wait_for_text(max(0.0, self._head_start_ends - time.perf_counter()))

    def _take(self, timeout: float, on_arrival: bool) -> list[tuple[int, str | None]]:
        """Everything the pumps sent, after waiting up to `timeout` s for the next piece (`on_arrival`) or a
        reply's end (otherwise: a stream's tokens then wake the reader once per batch, not once each)."""
        items = []
        if on_arrival:
            with contextlib.suppress(queue.Empty):
                items.append(self._out.get(timeout=timeout))
        else:
            self._ended.wait(timeout)
            self._ended.clear()  # before draining, so an end signalled from now on is seen next time
        while True:
            try:
                items.append(self._out.get_nowait())
            except queue.Empty:
                return items

    def batches(
        self, interval: float = STREAM_BATCH_SECONDS, on_idle: Callable[[], object] | None = None
    ) -> Iterator[tuple[int, str]]:
        """`(index, new text)`: a reply's first text at once, later text at most every `interval` seconds.

        While nothing is yielded, `on_idle` is called every `IDLE_SECONDS`. Leaving early (the page's run was
        interrupted) stops every reply still streaming. Read once.
        """
        count = len(self.replies)
        pending, shown, last, done = [""] * count, [False] * count, [0.0] * count, [False] * count
        try:
            while not all(done):
                now = time.perf_counter()
                live = [i for i in range(count) if not done[i]]
                if all(shown[i] for i in live):
                    # Every reply is on screen: wake for the next batch or an end, then for the next text if quiet.
                    items = self._take(max(0.0, min(last[i] for i in live) + interval - now), on_arrival=False)
                    items = items or self._take(IDLE_SECONDS, on_arrival=True)
                else:
                    due = [last[i] + interval for i in live if pending[i]]
                    items = self._take(max(0.0, min(due) - now) if due else IDLE_SECONDS, on_arrival=True)
                finished = set()
                for index, delta in items:
                    self._taken[index].set()
                    if delta is None:
                        done[index] = True
                        finished.add(index)
                    else:
                        pending[index] += delta
                now = time.perf_counter()
                yielded = False
                for index, text in enumerate(pending):
                    if text and (not shown[index] or index in finished or now - last[index] >= interval):
                        pending[index], shown[index], last[index] = "", True, now
                        yielded = True
                        yield index, text
                if not yielded and on_idle is not None:
                    on_idle()
        finally:
            self.stop()

    def stop(self) -> None:
        for reply in self.replies:
            reply.stop()
