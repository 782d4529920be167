"""Chat: conversations, streamed replies through litellm with the user's own key, and honest errors."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.catalog import ModelTarget, resolve_model
from core.config import Settings
from core.credentials import CredentialStore
from core.endpoints import validate_endpoint
from core.errors import ProviderError, ProviderErrorKind
from core.llm import litellm, no_redirect_client
from core.providers import ProviderSpec
from core.redaction import secrets_in_use

log = logging.getLogger(__name__)

# Providers need a bound on the reply length (Anthropic rejects a request without a sensible one);
# 4096 fits every default model's output limit.
MAX_OUTPUT_TOKENS = 4096


@dataclass
class Message:
    role: str
    content: str
    model: str | None = None
    error: str | None = None
    interrupted: bool = False


@dataclass
class Conversation:
    """What is on screen; the user's message is stored before any provider is called."""

    messages: list[Message] = field(default_factory=list)

    def add_user(self, text: str) -> Message:
        message = Message("user", text)
        self.messages.append(message)
        return message

    def add_reply(self, reply: ReplyStream) -> Message:
        message = Message(
            "assistant",
            reply.text,
            model=reply.target.ref if reply.target else None,
            error=str(reply.error) if reply.error else None,
            interrupted=bool(reply.error and reply.text),
        )
        self.messages.append(message)
        return message

    def add_error(self, text: str) -> Message:
        """A request that failed before reaching a provider (no key, unknown model)."""
        message = Message("assistant", "", error=text)
        self.messages.append(message)
        return message

    def for_provider(self) -> list[dict[str, str]]:
        """The messages to send: everything with content, in order."""
        return [{"role": m.role, "content": m.content} for m in self.messages if m.content]


def call_arguments(spec: ProviderSpec, values: Mapping[str, str], settings: Settings) -> dict[str, Any]:
    """The litellm keyword arguments a provider's credential feeds; bases come from settings only."""
    arguments = {f.litellm_arg: values[f.name] for f in spec.fields if f.litellm_arg and values.get(f.name)}
    if any(f.is_endpoint for f in spec.fields):
        arguments["api_base"] = validate_endpoint(arguments.get("api_base", ""), settings.allow_endpoints)
    elif base := settings.provider_base(spec.id):
        arguments["api_base"] = base
    return arguments


def _retry_after(error: Exception) -> str | None:
    headers = getattr(error, "litellm_response_headers", None) or {}
    value = headers.get("retry-after") if hasattr(headers, "get") else None
    return value if value and str(value).replace(".", "", 1).isdigit() else None


def _mentions_bad_key(error: Exception) -> bool:
    text = str(getattr(error, "message", "") or "").lower()
    return any(marker in text for marker in ("api key", "api_key_invalid", "incorrect api key", "invalid x-api-key"))


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and what caused it (litellm wraps connection failures in 500-status errors)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = getattr(current, "original_exception", None) or current.__cause__ or current.__context__


def _network_failure(error: BaseException) -> ProviderErrorKind | None:
    """TIMEOUT or UNREACHABLE when the request never got an answer, whatever litellm called it."""
    import httpx

    for cause in _causes(error):
        if isinstance(cause, httpx.TimeoutException | TimeoutError):
            return ProviderErrorKind.TIMEOUT
        if isinstance(cause, httpx.ConnectError | ConnectionRefusedError | socket.gaierror):
            return ProviderErrorKind.UNREACHABLE
    return None


def explain_error(error: Exception, target: ModelTarget, partial: bool = False) -> ProviderError:
    """Map any provider exception to a user-safe category and advice; the raw text is never shown."""
    errors = litellm().exceptions
    label, model = target.spec.label, target.model_id
    if partial:
        log.info("provider stream broke off: provider=%s model=%s", target.spec.id, model)
        return ProviderError(
            ProviderErrorKind.INTERRUPTED,
            f"The reply from {label} was cut off. What arrived is kept; send your message again to retry.",
        )
    if isinstance(error, errors.MidStreamFallbackError) and error.original_exception is not None:
        error = error.original_exception
    where = f"Profile → Provider Keys → {label}"
    status = getattr(error, "status_code", None)
    kind, message = ProviderErrorKind.PROVIDER_DOWN, f"{label} had a problem answering. Try again in a moment."
    network = _network_failure(error)
    if isinstance(error, errors.Timeout) or network is ProviderErrorKind.TIMEOUT:
        kind, message = ProviderErrorKind.TIMEOUT, f"{label} did not answer in time. Try again, or pick another model."
    elif isinstance(error, errors.AuthenticationError) or status == 401 or (status == 400 and _mentions_bad_key(error)):
        kind, message = ProviderErrorKind.REJECTED_KEY, f"{label} rejected the saved key. Update it in {where}."
    elif isinstance(error, errors.PermissionDeniedError) or status in {402, 403}:
        kind = ProviderErrorKind.NO_ACCESS
        message = f"Your {label} key has no access to {model} (or no credit). Check the key's permissions and billing."
    elif isinstance(error, errors.NotFoundError) or status == 404:
        kind = ProviderErrorKind.NOT_FOUND
        message = (
            f"There is no deployment named {model} at your Azure endpoint. "
            "Check the deployment name in the Azure portal."
            if target.spec.id == "azure"
            else f"{label} does not offer the model {model} to your key. Pick another model."
        )
    elif isinstance(error, errors.RateLimitError) or status == 429:
        kind = ProviderErrorKind.RATE_LIMITED
        wait = _retry_after(error)
        message = f"{label} is rate limiting your key" + (f"; wait {wait} s" if wait else "; wait a moment")
        message += " and try again. If it persists, check your plan's quota."
    elif network is ProviderErrorKind.UNREACHABLE or isinstance(error, errors.APIConnectionError):
        kind = ProviderErrorKind.UNREACHABLE
        message = f"Could not reach {label}. Check the server's network connection, then try again."
    elif isinstance(error, errors.BadRequestError) or status == 400:
        kind = ProviderErrorKind.BAD_REQUEST
        message = f"{label} refused the request for {model}. Check the model ID, or shorten the conversation."
    log.info("provider call failed: provider=%s model=%s kind=%s", target.spec.id, model, kind.value)
    return ProviderError(kind, message)


class ReplyStream:
    """Iterate to receive text as it streams; afterwards `text` holds all of it and `error` what went wrong."""

    def __init__(
        self, target: ModelTarget, open_stream: Callable[[], Iterator[Any]], secrets: tuple[str, ...] = ()
    ) -> None:
        self.target = target
        self._secrets = secrets
        self.text = ""
        self.error: ProviderError | None = None
        self._open_stream: Callable[[], Iterator[Any]] | None = open_stream

    def __iter__(self) -> Iterator[str]:
        open_stream, self._open_stream = self._open_stream, None
        secrets, self._secrets = self._secrets, ()
        if open_stream is None:
            return
        with secrets_in_use(secrets):
            try:
                for chunk in open_stream():
                    choices = getattr(chunk, "choices", None) or []
                    delta = choices[0].delta.content if choices and choices[0].delta else None
                    if delta:
                        self.text += delta
                        yield delta
            except Exception as error:  # every provider failure becomes a ProviderError the page can show
                self.error = explain_error(error, self.target, partial=bool(self.text))


def start_reply(
    credentials: CredentialStore, settings: Settings, user_id: int, model_ref: str, messages: list[dict[str, str]]
) -> ReplyStream:
    """Prepare a streamed reply with the user's own credential; MissingCredential before any network call."""
    target = resolve_model(model_ref)
    arguments = call_arguments(target.spec, credentials.secrets(user_id, target.spec.id), settings)
    client = litellm()

    def open_stream() -> Iterator[Any]:
        return client.completion(
            model=target.litellm_model,
            messages=messages,
            stream=True,
            max_tokens=MAX_OUTPUT_TOKENS,
            timeout=settings.request_timeout,
            max_retries=settings.max_retries,
            **no_redirect_client(target.spec.litellm_prefix or ""),
            **arguments,
        )

    secret_values = tuple(str(arguments[f.litellm_arg]) for f in target.spec.fields if f.secret and f.litellm_arg)
    return ReplyStream(target, open_stream, secret_values)
