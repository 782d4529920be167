"""The ChatService the front ends call, the user first in every method: send, regenerate, compare, apply a chat's
settings, and for the HTTP API a plain completion, whole or streamed. Each reply uses the user's own key, read only
by the call."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import takewhile
from typing import Any, Protocol

from core.chat.attachment_reading import read_files
from core.chat.attachments import Prompt, attached, has_images
from core.chat.compare import Comparison, clean_model_refs
from core.chat.completion import Completion, CompletionParams, clean_messages, completion_of
from core.chat.conversations import (
    Conversation,
    GenerationSettings,
    Message,
    clean_prompt,
    clean_settings,
)
from core.chat.live import LiveTurns
from core.chat.model_input import messages_for
from core.chat.output_limit import max_output_tokens
from core.chat.paging import PagedConversationStore
from core.chat.retry import RetryPolicy
from core.chat.stream import ReplyOptions, ReplyStream
from core.chat.turn import Turn, TurnOptions
from core.config import Settings
from core.credentials.store import CredentialStore
from core.errors import AppError, InvalidInput, UnknownModel, own_error
from core.local.seat import Seat, seated
from core.models.servers import providers_in_effect
from core.models.target import ModelTarget, resolve_model
from core.providers import client
from core.providers.client import ChatRequest
from core.providers.failures import error_kind, explain_error
from core.providers.registry import PROVIDERS, ProviderSpec

log = logging.getLogger(__name__)


def _request(target: ModelTarget, messages: list[dict[str, Any]], generation: GenerationSettings) -> ChatRequest:
    return ChatRequest(
        model=target.litellm_model,
        messages=messages,
        max_tokens=max_output_tokens(target.litellm_model, generation.max_tokens),
        temperature=generation.temperature,
    )


class LocalGate(Protocol):
    """What chat asks before a local model answers (core/local's LocalModels, plugged in by services.py)."""

    def allow_chat(self, user_id: int, repo_id: str) -> None: ...


class ChatService:
    """Chat for the signed-in user: every method takes their id first and uses only their keys and chats. `live`
    holds this process's replies while they stream (`running` finds one, `stop` ends it): a front end's shutdown
    calls `live.finish_all()`."""

    def __init__(
        self,
        conversations: PagedConversationStore,
        credentials: CredentialStore,
        settings: Settings,
        providers: Sequence[ProviderSpec] = PROVIDERS,
        local: LocalGate | None = None,
    ) -> None:
        self._local = local
        self._conversations = conversations
        self._credentials = credentials
        self._settings = settings
        self._providers = tuple(providers)
        self._retry = RetryPolicy.of(settings)
        self.live: LiveTurns[Turn] = LiveTurns()

    def send(
        self,
        user_id: int,
        conversation: Conversation,
        text: str | Prompt,
        model_ref: str,
        on_saved: Callable[[int], object] | None = None,
    ) -> Turn:
        """Ask the provider now; the turn saves the message (a new conversation with it) and the reply's row while
        the provider answers, and the reply as it grows.

        `conversation` gets its id and the message when they are saved, and `on_saved(conversation_id)` is called
        then: within `HEAD_START_SECONDS` of the first `batches()` step, or by `finish()`, whatever becomes of the
        reply. A `Prompt` carries files too (see core/chat/attachments.py), saved with the message. InvalidInput (an
        empty or too long message, a file refused, an image for a model that takes none; ReplyInProgress while the
        chat's last reply is still streaming) is raised before anything is sent.
        """
        prompt = self._prompt(text if isinstance(text, Prompt) else Prompt(text))
        path = self._conversations.whole(user_id, conversation)  # a page of a long chat is read whole
        asked = Conversation(settings=conversation.settings, messages=[*path, prompt])
        messages = self._messages_for(asked, model_ref, new_images=has_images([prompt]))
        reply = self._open_reply(user_id, model_ref, messages, conversation.settings)
        options = TurnOptions(prompt=prompt, on_saved=on_saved, live=self.live)
        return Turn(self._conversations, user_id, conversation, reply, options)

    def regenerate(self, user_id: int, conversation: Conversation, model_ref: str) -> Turn:
        """Ask again for the last reply (with any model); the new reply is saved as its next version (shown from then
        on, the old one kept)."""
        last = conversation.messages[-1] if conversation.messages else None
        if conversation.id is None or last is None or last.role != "assistant":
            raise InvalidInput("There is no reply to regenerate yet.")
        path = self._conversations.whole(user_id, conversation)
        history = Conversation(settings=conversation.settings, messages=path[:-1])
        messages = self._messages_for(history, model_ref, new_images=False)
        reply = self._open_reply(user_id, model_ref, messages, conversation.settings)
        options = TurnOptions(replaces=last.id, live=self.live)
        return Turn(self._conversations, user_id, conversation, reply, options)

    def edit(self, user_id: int, conversation: Conversation, message_id: int, text: str, model_ref: str) -> Turn:
        """Send `text` as a new version of the user's message `message_id`: the chat goes on from the edit (what
        followed the old version stays that version's), `conversation` now ending before it. InvalidInput (an
        empty or too long message, or one no longer shown) is raised before anything is sent or changed."""
        prompt = Message(role="user", content=clean_prompt(text))
        at = next((i for i, m in enumerate(conversation.messages) if m.id == message_id and m.role == "user"), None)
        if conversation.id is None or at is None:
            raise InvalidInput("That message is no longer shown in this chat, so it cannot be edited.")
        earlier = list(takewhile(lambda m: m.id != message_id, self._conversations.whole(user_id, conversation)))
        del conversation.messages[at:]
        asked = Conversation(settings=conversation.settings, messages=[*earlier, prompt])
        messages = self._messages_for(asked, model_ref, new_images=False)
        reply = self._open_reply(user_id, model_ref, messages, conversation.settings)
        options = TurnOptions(prompt=prompt, replaces=message_id, live=self.live)
        return Turn(self._conversations, user_id, conversation, reply, options)

    def show_version(self, user_id: int, conversation: Conversation, message_id: int) -> None:
        """Show another version of a turn (see core/chat/versions.py): what later messages are sent with."""
        if conversation.id is not None:
            self._conversations.show_version(user_id, conversation.id, message_id)

    def running(self, user_id: int, conversation_id: int | None) -> Turn | None:
        """The reply streaming in the user's chat, if any (from any page run or tab of theirs); never another's."""
        return self.live.running(user_id, conversation_id)

    def stop(self, user_id: int, conversation_id: int | None) -> bool:
        """The app's Stop: end the reply streaming in the user's chat and save what arrived; whether one was."""
        turn = self.live.running(user_id, conversation_id)
        if turn is not None:
            turn.finish()
        return turn is not None

    def compare(
        self, user_id: int, model_refs: Sequence[str], prompt: str, generation: GenerationSettings
    ) -> Comparison:
        """One reply per model, streaming now with the user's own keys; a model that cannot start is a failed column."""
        refs = clean_model_refs(model_refs)
        prompt = clean_prompt(prompt)
        messages = Conversation(settings=generation, messages=[Message(role="user", content=prompt)]).for_provider()
        return Comparison(prompt, [self._open_reply(user_id, ref, messages, generation) for ref in refs])

    def continue_with(self, user_id: int, prompt: str, reply: Message, generation: GenerationSettings) -> Conversation:
        """Save a compared prompt and one of its replies (model and usage kept) as a new chat of the user's."""
        if reply.role != "assistant" or not reply.content:
            raise InvalidInput("Only a reply with text can be continued as a chat.")
        return self._conversations.create(user_id, generation, first=[Message("user", clean_prompt(prompt)), reply])

    def apply_settings(
        self,
        user_id: int,
        conversation: Conversation,
        system_prompt: str | None,
        temperature: float | None,
        max_tokens: int | None,
    ) -> GenerationSettings:
        """Validate a chat's settings (InvalidInput names the field) and keep them: saved once the chat is."""
        settings = clean_settings(system_prompt, temperature, max_tokens)
        if conversation.id is not None:
            self._conversations.update_settings(user_id, conversation.id, settings)
        conversation.settings = settings
        return settings

    def complete(
        self, user_id: int, model: str, messages: Sequence[Mapping[str, Any]], params: CompletionParams
    ) -> Completion:
        """A reply in one piece, nothing saved; AppError (ProviderError for a provider's refusal) when there is none.

        Retried as a streamed reply is (see `core.chat.retry`); the key's use is recorded as a chat's.
        """
        target = self._resolve(model)
        generation = clean_settings(None, params.temperature, params.max_tokens)
        request = _request(target, clean_messages(messages), generation)
        try:
            values = self._secrets(user_id, target)
            response = self._call(target, values, request)
        except AppError as error:
            self._record_use(user_id, target.spec, error)
            raise
        self._record_use(user_id, target.spec, None)
        return completion_of(response, target)

    def stream(
        self, user_id: int, model: str, messages: Sequence[Mapping[str, Any]], params: CompletionParams
    ) -> ReplyStream:
        """A completion streamed as it arrives, nothing saved: a reply stream, retried, recorded and stopped with its
        account as a chat's reply is. UnknownModel and InvalidInput are raised before anything is sent; a missing
        key (or a local model not the user's) fails the reply before any network call, as in a chat."""
        target = self._resolve(model)
        generation = clean_settings(None, params.temperature, params.max_tokens)
        return self._open_reply(user_id, target.ref, clean_messages(messages), generation)

    def _prompt(self, prompt: Prompt) -> Message:
        """The user's message, its files read (InvalidInput for one refused)."""
        if prompt.files and not prompt.text.strip():
            raise InvalidInput("Type a message to go with the attached files.", "prompt")
        message = Message(role="user", content=clean_prompt(prompt.text))
        return attached(message, read_files(prompt.files, self._settings.attachments))

    def _messages_for(self, conversation: Conversation, model_ref: str, new_images: bool) -> list[dict[str, Any]]:
        """What the model is sent (see core/chat/model_input.py); InvalidInput for a new image it cannot take."""
        try:
            target: ModelTarget | None = self._resolve(model_ref)
        except AppError:  # the reply fails with the reason
            target = None
        return messages_for(conversation, target, new_images, self._providers)

    def _call(self, target: ModelTarget, values: Mapping[str, str], request: ChatRequest) -> Any:
        """litellm's response, after the retries the policy allows; ProviderError when the provider refuses."""
        attempts = 0
        while True:
            attempts += 1
            try:
                return client.complete(target.spec, values, self._settings, request)
            except AppError:
                raise
            except Exception as error:  # every provider failure becomes an explained error
                if (own := own_error(error)) is not None:  # a local model's refusal, wrapped by litellm
                    raise own from None
                delay = self._retry.delay(error, attempts)
                if delay is None:
                    raise explain_error(error, target.spec, target.model_id, attempts=attempts) from None
                log.info("retrying a provider call in %.1f s (attempt %d)", delay, attempts + 1)
                time.sleep(delay)

    def _open_reply(
        self, user_id: int, model_ref: str, messages: list[dict[str, Any]], generation: GenerationSettings
    ) -> ReplyStream:
        """A reply ready to stream; one that cannot start (an unknown model) is a failed reply, not an exception.

        The key is read once, by the thread that streams: a missing or unreadable key (or a refused endpoint) fails
        the reply there, before any network call, so the page's run never waits for a decryption.
        """
        try:
            target = self._resolve(model_ref)
        except AppError as error:
            return ReplyStream.failed(model_ref, error)
        spec, request = target.spec, _request(target, messages, generation)
        credentials, settings = self._credentials, self._settings
        seat = Seat(target.model_id) if spec.runs_here else None  # its place in this server's queue

        def open_stream() -> Iterator[Any]:
            # The key is read here, on the thread that streams, and lives only as long as this call.
            stream = client.stream_chat(spec, self._secrets(user_id, target), settings, request)
            return stream if seat is None else seated(stream, seat)

        options = ReplyOptions(
            retry=self._retry,
            on_settled=lambda reply: self._record_use(user_id, spec, reply.error),
            still_allowed=lambda: credentials.account_active(user_id),
            waiting=seat.note if seat else None,
            on_stop=seat.cancel if seat else None,
            # A model that runs here may wait its turn on this server first: only the provider's timeout bounds it.
            first_token_timeout=None if spec.runs_here else settings.first_token_timeout,
        )
        return ReplyStream(target.ref, target, open_stream, options)

    def _resolve(self, model_ref: str) -> ModelTarget:
        """The target a reference names among the providers and the team servers the registry file names now."""
        return resolve_model(model_ref, providers_in_effect(self._settings, self._providers))

    def _secrets(self, user_id: int, target: ModelTarget) -> Mapping[str, str]:
        """The user's credential for the target's provider (MissingCredential when none is saved); nothing for a
        provider that needs none, whose calls never look one up. A model that runs here must be the user's own
        (and, when gated, granted to them): LocalModelError otherwise."""
        spec = target.spec
        if spec.runs_here:
            if self._local is None:
                raise UnknownModel("Local models are not available on this server.")
            self._local.allow_chat(user_id, target.model_id)
        return self._credentials.secrets(user_id, spec.id) if spec.needs_credential else {}

    def _record_use(self, user_id: int, spec: ProviderSpec, error: AppError | None) -> None:
        """Tell the credential store how the key fared (if the provider takes one); a failure to record never breaks
        a chat."""
        if not spec.needs_credential:
            return
        try:
            self._credentials.record_use(
                user_id, spec.id, str(error) if error else None, kind=error_kind(error) if error else None
            )
        except Exception:
            log.warning("could not record the use of a %s credential", spec.id, exc_info=True)
