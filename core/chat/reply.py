"""Chat: replies streamed through litellm with the user's own key, honest errors, usage and cost, saved turns."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from core.chat.conversations import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_SETTINGS,
    Conversation,
    ConversationNotFound,
    ConversationStore,
    GenerationSettings,
    Message,
    clean_prompt,
)
from core.config import Settings
from core.credentials.store import CredentialStore
from core.errors import (
    AccountInactive,
    AppError,
    InvalidInput,
)
from core.models.model_info import has_price
from core.models.target import ModelTarget, resolve_model
from core.providers.client import call_arguments, litellm, no_redirect_client
from core.providers.failures import error_kind, explain_error, is_transient, retry_after, unwrap
from core.security.redaction import secrets_in_use

log = logging.getLogger(__name__)

MAX_OUTPUT_TOKENS = DEFAULT_MAX_TOKENS
# Text reaches the page in batches: the first piece at once, then at most one update per interval.
STREAM_BATCH_SECONDS = 0.04
# While nothing arrives, the page is given a chance this often to notice a click (Stop).
IDLE_SECONDS = 0.1
# The longest a reply's thread waits for the page to take its first text (see `_pump`).
FIRST_TEXT_HANDOFF_SECONDS = 0.05
# How long a turn holds back its own work (saving the user's message, drawing the page) for the provider to answer:
# building and sending a request takes litellm a few ms of CPU, which that work would otherwise compete with for
# the GIL. A provider that answers within it is shown first; a slower one only after the message is saved.
HEAD_START_SECONDS = 0.025
RETRY_BASE_SECONDS = 0.5
# How often a streaming reply checks that its account may still use the key (disabled or deleted: it stops).
ACCOUNT_CHECK_SECONDS = 1.0


def price(litellm_model: str, prompt_tokens: int | None, completion_tokens: int | None) -> float | None:
    """What a reply cost in USD at litellm's known price for the model; None when the price is unknown."""
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
        retries: int = 0,
        max_wait: float = 0.0,
        on_settled: Callable[[ReplyStream], None] | None = None,
        still_allowed: Callable[[], bool] | None = None,
    ) -> None:
        self.model_ref = model_ref
        self.target = target
        self.text = ""
        self.error: AppError | None = None
        self.interrupted = False
        self.stopped = False
        self.attempts = 0
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self.cost: float | None = None
        self.started_at: float | None = None
        self.first_token_at: float | None = None
        self.finished_at: float | None = None
        self._open_stream = open_stream
        self._retries = retries
        self._max_wait = max_wait
        self._on_settled = on_settled
        self._still_allowed = still_allowed
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
                if delta:
                    with self._lock:
                        if self._settled:
                            return
                        if self.first_token_at is None:
                            self.first_token_at = time.perf_counter()
                        self.text += delta
                    yield delta
        except GeneratorExit:
            self.stop()
            raise
        except Exception as error:  # every provider failure becomes an explained error
            failure = error
        finally:
            chunks.close()
        self._settle(failure)

    def _chunks(self, open_stream: Callable[[], Iterator[Any]]) -> Iterator[Any]:
        """The provider's chunks; a 429 or 5xx before any text is retried with backoff, a bounded number of times."""
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
                if self.text or self.attempts > self._retries or self._stop.is_set() or not is_transient(error):
                    raise
                delay = self._backoff(error)
                log.info("retrying a provider call in %.1f s (attempt %d)", delay, self.attempts + 1)
                if self._stop.wait(delay):
                    return

    def _backoff(self, error: Exception) -> float:
        """Exponential, at least what the provider's Retry-After asks, never more than the configured cap."""
        asked = retry_after(unwrap(error))
        wait = max(float(asked) if asked else 0.0, RETRY_BASE_SECONDS * 2 ** (self.attempts - 1))
        return min(wait, self._max_wait)

    def _settle(self, failure: Exception | None = None, stopped: bool = False) -> None:
        with self._lock:
            if self._settled:
                return
            self._settled = True
            self.finished_at = time.perf_counter()
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
            elif self._usage is not None:
                self.prompt_tokens = getattr(self._usage, "prompt_tokens", None)
                self.completion_tokens = getattr(self._usage, "completion_tokens", None)
        if self.target is not None and not self.stopped and self.error is None:
            self.cost = price(self.target.litellm_model, self.prompt_tokens, self.completion_tokens)
        # A settled reply may live on in a page's session: it keeps its results, not its means of calling.
        on_settled, self._on_settled, self._open_stream, self._usage = self._on_settled, None, None, None
        if on_settled is not None:
            on_settled(self)

    def stop(self) -> None:
        """End the reply now (a no-op once it has settled): what arrived is kept, marked interrupted."""
        self._stop.set()
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


def _record_use(credentials: CredentialStore, user_id: int, provider_id: str) -> Callable[[ReplyStream], None]:
    """Tell the credential store how the key fared; a failure to record never breaks a chat."""

    def record(reply: ReplyStream) -> None:
        try:
            credentials.record_use(
                user_id,
                provider_id,
                str(reply.error) if reply.error else None,
                kind=error_kind(reply.error) if reply.error else None,
            )
        except Exception:
            log.warning("could not record the use of a %s credential", provider_id, exc_info=True)

    return record


def start_reply(
    credentials: CredentialStore,
    settings: Settings,
    user_id: int,
    model_ref: str,
    messages: list[dict[str, str]],
    generation: GenerationSettings = DEFAULT_SETTINGS,
) -> ReplyStream:
    """Prepare a streamed reply with the user's own credential; MissingCredential before any network call."""
    target = resolve_model(model_ref)
    call_arguments(target.spec, credentials.secrets(user_id, target.spec.id), settings)  # no key, unreadable: now
    return _reply(credentials, settings, user_id, target, messages, generation)


def open_reply(
    credentials: CredentialStore,
    settings: Settings,
    user_id: int,
    model_ref: str,
    messages: list[dict[str, str]],
    generation: GenerationSettings = DEFAULT_SETTINGS,
) -> ReplyStream:
    """Like `start_reply`, but a request that cannot start is a failed reply instead of an exception.

    The key is read once, by the thread that streams: a missing or unreadable key (or a refused endpoint) fails
    the reply there, before any network call, so the page's run never waits for a decryption.
    """
    try:
        target = resolve_model(model_ref)
    except AppError as error:
        return ReplyStream.failed(model_ref, error)
    return _reply(credentials, settings, user_id, target, messages, generation)


def _reply(
    credentials: CredentialStore,
    settings: Settings,
    user_id: int,
    target: ModelTarget,
    messages: list[dict[str, str]],
    generation: GenerationSettings,
) -> ReplyStream:
    spec = target.spec
    options = {"temperature": generation.temperature} if generation.temperature is not None else {}
    client = litellm()

    def open_stream() -> Iterator[Any]:
        # The key is read here, on the thread that streams, and lives only as long as this call.
        arguments = call_arguments(spec, credentials.secrets(user_id, spec.id), settings)
        secrets = tuple(str(arguments[f.litellm_arg]) for f in spec.fields if f.secret and f.litellm_arg)
        with secrets_in_use(secrets):
            # Retries are the reply's own (the SDKs' differ per provider, and Azure's are fixed per process).
            yield from client.completion(
                model=target.litellm_model,
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
                max_tokens=generation.max_tokens,
                timeout=settings.request_timeout,
                max_retries=0,
                **no_redirect_client(spec.litellm_prefix or ""),
                **options,
                **arguments,
            )

    return ReplyStream(
        target.ref,
        target,
        open_stream,
        retries=settings.max_retries,
        max_wait=settings.retry_max_wait,
        on_settled=_record_use(credentials, user_id, spec.id),
        still_allowed=lambda: credentials.account_active(user_id),
    )


def _pump(
    index: int,
    reply: ReplyStream,
    out: queue.SimpleQueue,
    taken: threading.Event,
    ended: threading.Event,
    arrived: threading.Event,
) -> None:
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
        ended.set()
        arrived.set()


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
            arguments = (index, reply, self._out, self._taken[index], self._ended, self._arrived)
            threading.Thread(target=_pump, args=arguments, name=f"reply-{index}", daemon=True).start()

    def wait_for_text(self, timeout: float) -> bool:
        """Wait up to `timeout` s (the GIL free meanwhile) until a reply has text or has ended; whether one has."""
        return self._arrived.wait(timeout)

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

        So the page draws a handful of updates per second instead of one per token. While nothing is yielded,
        `on_idle` is called every `IDLE_SECONDS`. Leaving early (the page's run was interrupted) stops every
        reply still streaming. Read once.
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


def stream_batches(
    replies: Sequence[ReplyStream],
    interval: float = STREAM_BATCH_SECONDS,
    on_idle: Callable[[], object] | None = None,
) -> Iterator[tuple[int, str]]:
    """Start `replies` now and read them in batches (see `ReplyPumps.batches`)."""
    return ReplyPumps(replies).batches(interval, on_idle)


class Turn:
    """One assistant reply in a saved conversation: streamed, then saved exactly once (finished, failed or stopped).

    A sent message is saved by the turn itself, out of the provider's way (see `batches`), and in any case before
    its reply: `finish()` saves both. `finish()` may be called from any thread and any number of times; a
    regenerated reply replaces the old one in the same transaction, so a failed regeneration never loses more than
    it adds.
    """

    def __init__(
        self,
        store: ConversationStore,
        user_id: int,
        conversation: Conversation,
        pumps: ReplyPumps,
        prompt: Message | None = None,
        replaces: int | None = None,
        on_saved: Callable[[int], object] | None = None,
    ) -> None:
        [self.reply] = pumps.replies
        self._conversation = conversation
        self._pumps = pumps
        self._store = store
        self._user_id = user_id
        self._prompt = prompt
        self._replaces = replaces
        self._on_saved = on_saved
        self._lock = threading.RLock()
        self._message: Message | None = None
        self._head_start_ends = time.perf_counter() + HEAD_START_SECONDS

    def head_start(self) -> bool:
        """Wait (the GIL free) until the provider has answered or the head start is over; whether it answered.

        Call it before drawing anything: what a page draws meanwhile would slow the request down.
        """
        return self._pumps.wait_for_text(max(0.0, self._head_start_ends - time.perf_counter()))

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
                self._prompt = None
                if self._on_saved is not None:
                    self._on_saved(conversation.id)
            assert conversation.id is not None
            return conversation.id

    def batches(
        self, on_idle: Callable[[], object] | None = None, then: Callable[[], object] | None = None
    ) -> Iterator[str]:
        """The reply's text in batches (see `stream_batches`), for `st.write_stream`.

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


def send_message(
    store: ConversationStore,
    credentials: CredentialStore,
    settings: Settings,
    user_id: int,
    conversation: Conversation,
    text: str,
    model_ref: str,
    on_saved: Callable[[int], object] | None = None,
) -> Turn:
    """Ask the provider now; the turn saves the message (a new conversation with it) while the provider answers.

    `conversation` gets its id and the message when they are saved, and `on_saved(conversation_id)` is called
    then: within `HEAD_START_SECONDS` of the first `batches()` step, or by `finish()`, whatever becomes of the
    reply. InvalidInput (an empty or too long message) is raised before anything is sent.
    """
    prompt = Message("user", clean_prompt(text))
    asked = Conversation(settings=conversation.settings, messages=[*conversation.messages, prompt])
    reply = open_reply(credentials, settings, user_id, model_ref, asked.for_provider(), conversation.settings)
    return Turn(store, user_id, conversation, ReplyPumps([reply]), prompt=prompt, on_saved=on_saved)


def regenerate(
    store: ConversationStore,
    credentials: CredentialStore,
    settings: Settings,
    user_id: int,
    conversation: Conversation,
    model_ref: str,
) -> Turn:
    """Ask again for the last reply (with any model); the new reply replaces the old one when it is saved."""
    last = conversation.messages[-1] if conversation.messages else None
    if conversation.id is None or last is None or last.role != "assistant":
        raise InvalidInput("There is no reply to regenerate yet.")
    history = Conversation(conversation.id, settings=conversation.settings, messages=conversation.messages[:-1])
    reply = open_reply(credentials, settings, user_id, model_ref, history.for_provider(), conversation.settings)
    return Turn(store, user_id, conversation, ReplyPumps([reply]), replaces=last.id)
