"""A reply stream: one streamed reply's text, how it settled (finished, failed or stopped), its usage and cost."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

from core.chat.conversations import Message
from core.chat.retry import RetryPolicy
from core.errors import AccountInactive, AppError, own_error
from core.models.model_info import has_price
from core.models.target import ModelTarget
from core.providers.client import litellm
from core.providers.failures import error_kind, explain_error, no_first_token

log = logging.getLogger(__name__)

# How often a streaming reply checks that its account may still use the key (disabled or deleted: it stops).
ACCOUNT_CHECK_SECONDS = 1.0


def price(target: ModelTarget, prompt_tokens: int | None, completion_tokens: int | None) -> float | None:
    """What a reply cost in USD at litellm's known price for the model; None when the price is unknown (always, for
    a team server's); nothing for a model that runs on this server (litellm's cost functions raise for those)."""
    if target.spec.runs_here:
        return 0.0
    if not target.spec.litellm_model_map:  # a team server's model: litellm's price would be another model's
        return None
    litellm_model = target.litellm_model
    # litellm prices a model missing from its map that it can still place (e.g. a dated Claude) at $0.
    if prompt_tokens is None or completion_tokens is None or not has_price(litellm_model):
        return None
    try:
        prompt_cost, completion_cost = litellm().cost_per_token(
            model=litellm_model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )
    except Exception:  # litellm raises for a model it has no price for
        return None
    return float(prompt_cost) + float(completion_cost)


@dataclass(frozen=True)
class ReplyOptions:
    """How a reply retries, whom it tells once it has settled, what says its account may still use the key, how
    long its first text may take (`first_token_timeout`, None: as long as the provider's timeout allows), and,
    for a model that runs here, what it waits for (`waiting`) and how Stop reaches it while it waits (`on_stop`)."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    on_settled: Callable[[ReplyStream], None] | None = None
    still_allowed: Callable[[], bool] | None = None
    waiting: Callable[[], str | None] | None = None
    on_stop: Callable[[], None] | None = None
    first_token_timeout: float | None = None


class ReplyStream:
    """One streamed reply. Iterate (on any one thread) to receive its text; `stop()` from any thread.

    `open_stream` makes the provider call and yields its chunks; it reads the key itself, so this object (which a
    page may keep in its session) never holds one. The reply settles exactly once (finished, failed or stopped):
    then `text`, `error`, `interrupted`, the token counts and `cost` are final and `on_settled` has been called.
    """

    def __init__(
        self,
        model_ref: str,
        target: ModelTarget | None,
        open_stream: Callable[[], Iterator[Any]] | None,
        options: ReplyOptions | None = None,
    ) -> None:
        options = options or ReplyOptions()
        self.model_ref = model_ref
        self.target = target
        self.text = ""
        self.error: AppError | None = None
        self.interrupted = False
        self.stopped = False
        self.attempts = 0
        self.retrying = False  # waiting out a backoff before the next attempt
        self.finish_reason: str | None = None  # why the provider ended the reply ("stop", "length"), if it said
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self.cost: float | None = None
        self.started_at: float | None = None
        self.first_token_at: float | None = None
        self.finished_at: float | None = None
        self._open_stream = open_stream
        self._retry = options.retry
        self._on_settled = options.on_settled
        self._still_allowed = options.still_allowed
        self._waiting, self._on_stop = options.waiting, options.on_stop
        self._first_token_timeout = options.first_token_timeout
        self._usage: Any = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._settled = False

    @classmethod
    def failed(cls, model_ref: str, error: AppError, target: ModelTarget | None = None) -> ReplyStream:
        """A reply that could not start (no key, unknown model): settled with its error, no network call made."""
        reply = cls(model_ref, target, None)
        reply.error = error
        reply._settled = True
        return reply

    @property
    def settled(self) -> bool:
        return self._settled

    @property
    def time_to_first_token(self) -> float | None:
        if self.started_at is None or self.first_token_at is None:
            return None
        return self.first_token_at - self.started_at

    @property
    def tokens_per_second(self) -> float | None:
        """Output tokens over the time from first to last token (None without a count or a measurable span)."""
        if self.completion_tokens is None or self.first_token_at is None or self.finished_at is None:
            return None
        span = self.finished_at - self.first_token_at
        return self.completion_tokens / span if span > 0 else None

    def __iter__(self) -> Iterator[str]:
        open_stream, self._open_stream = self._open_stream, None
        if open_stream is None:
            return
        self.started_at = time.perf_counter()
        failure: Exception | None = None
        chunks = self._chunks(open_stream)
        next_check = self.started_at + ACCOUNT_CHECK_SECONDS
        overdue = self._first_token_watch()
        try:
            for chunk in chunks:
                if self._still_allowed is not None and time.perf_counter() >= next_check:
                    next_check = time.perf_counter() + ACCOUNT_CHECK_SECONDS
                    if not self._still_allowed():
                        raise AccountInactive()
                # Per-chunk work is kept to attribute reads and one string append.
                choices = getattr(chunk, "choices", None)
                delta = choices[0].delta.content if choices and choices[0].delta else None
                usage = getattr(chunk, "usage", None)
                if usage:
                    self._usage = usage
                if choices and (finish := getattr(choices[0], "finish_reason", None)):
                    self.finish_reason = finish
                if delta:
                    with self._lock:
                        if self._settled:
                            return
                        if self.first_token_at is None:
                            self.first_token_at = time.perf_counter()
                            if overdue is not None:
                                overdue.cancel()
                        self.text += delta
                    yield delta
        except GeneratorExit:
            self.stop()
            raise
        except Exception as error:  # every provider failure becomes an explained error
            failure = error
        finally:
            if overdue is not None:
                overdue.cancel()
            chunks.close()
        self._settle(failure)

    def _first_token_watch(self) -> threading.Timer | None:
        """A timer that gives the reply up when no text has come within the first-token timeout."""
        limit, target = self._first_token_timeout, self.target
        if limit is None or target is None:
            return None

        def give_up() -> None:
            # The thread reading the stream may be blocked in a read: the reply settles here, and what that thread
            # receives later is dropped (its read ends at the provider's own timeout at the latest).
            if self.first_token_at is None and not self._settled:
                self._stop.set()
                self._settle(no_first_token(target.spec, limit))

        timer = threading.Timer(limit, give_up)
        timer.daemon = True
        timer.start()
        return timer

    def _chunks(self, open_stream: Callable[[], Iterator[Any]]) -> Generator[Any, None, None]:
        """The provider's chunks; a failure before any text is asked again as the retry policy says."""
        while True:
            self.attempts += 1
            try:
                stream = open_stream()
                try:
                    yield from stream
                finally:
                    close = getattr(stream, "close", None)
                    if callable(close):
                        close()
                return
            except Exception as error:
                asked_again = not self._stop.is_set() and own_error(error) is None  # the app's own refusal stands
                delay = self._retry.delay(error, self.attempts, bool(self.text)) if asked_again else None
                if delay is None:
                    raise
                log.info("retrying a provider call in %.1f s (attempt %d)", delay, self.attempts + 1)
                self.retrying = True
                try:
                    if self._stop.wait(delay):
                        return
                finally:
                    self.retrying = False

    def _settle(self, failure: Exception | None = None, stopped: bool = False) -> None:
        with self._lock:
            if self._settled:
                return
            self.finished_at = time.perf_counter()
            failure = own_error(failure) or failure  # a local model's refusal, wrapped by litellm
            if self._usage is not None:  # what the provider reported is kept, also for a reply cut off or stopped
                self.prompt_tokens = getattr(self._usage, "prompt_tokens", None)
                self.completion_tokens = getattr(self._usage, "completion_tokens", None)
            if stopped:
                self.stopped = self.interrupted = True
            elif isinstance(failure, AppError):  # e.g. the key was deleted since the reply was prepared
                self.error = failure
                self.interrupted = bool(self.text)
            elif failure is not None and self.target is not None:
                self.error = explain_error(
                    failure, self.target.spec, self.target.model_id, partial=bool(self.text), attempts=self.attempts
                )
                self.interrupted = bool(self.text)
            counted = self.completion_tokens is not None
            if self.target is not None and (counted or (not self.stopped and self.error is None)):
                self.cost = price(self.target, self.prompt_tokens, self.completion_tokens)
            on_settled, self._on_settled = self._on_settled, None
            if on_settled is not None:  # before it reads as settled: a reply saved for good has been told of
                on_settled(self)
            self._settled = True  # last: whoever sees a settled reply (another thread saving it) sees all of it
        # A settled reply may live on in a page's session: it keeps its results, not its means of calling.
        self._open_stream, self._usage = None, None

    def waiting(self) -> str | None:
        """What the reply waits for before its first text, in words (a queue on this server); None otherwise."""
        if self._waiting is None or self._settled or self.first_token_at is not None:
            return None
        return self._waiting()

    def stop(self) -> None:
        """End the reply now (a no-op once it has settled): what arrived is kept, marked interrupted."""
        self._stop.set()
        if self._on_stop is not None:
            self._on_stop()  # a reply waiting its turn on this server leaves the queue now
        self._settle(stopped=True)

    def message(self) -> Message:
        """The assistant message to save for this reply."""
        return Message(
            "assistant",
            self.text,
            model=self.model_ref,
            error=str(self.error) if self.error else None,
            error_kind=error_kind(self.error) if self.error else None,
            interrupted=self.interrupted,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cost=self.cost,
        )
