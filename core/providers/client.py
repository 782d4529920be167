"""How a provider is called, and the one place that imports litellm: offline, quiet, with no callbacks that could
keep a key, the credential's values as call arguments, no redirect followed, no retry of litellm's own."""

from __future__ import annotations

import os
import threading
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from core.config import Settings, server_key
from core.providers import sse
from core.providers.endpoints import validate_endpoint
from core.providers.registry import ProviderSpec
from core.security.redaction import mask_everywhere, secrets_in_use

# litellm fetches price maps, header configs and tokenizers from the internet unless told not to,
# and reads these variables at import time (it also imports huggingface_hub, which reads its own).
OFFLINE_FLAGS = {
    "LITELLM_OFFLINE_MODE": "true",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "true",
    "LITELLM_LOCAL_BLOG_POSTS": "true",
    "HF_HUB_DISABLE_TELEMETRY": "1",
}

# litellm reaches OpenAI and Azure through the openai SDK, built on `litellm.client_session`, and the other
# providers through its own HTTPHandler, which a call can be given as `client=`. Both follow redirects by
# default, which would send a request (and the key in its headers) on to whatever host a redirect names.
SDK_PREFIXES = frozenset({"openai", "azure"})

# Module settings, applied once at import: quiet, and no callback (a callback would receive the raw keys).
# The last three are for speed (see bench/README.md): without them a streamed reply costs about twice the CPU.
SETTINGS: dict[str, Any] = {
    "suppress_debug_info": True,
    "telemetry": False,
    "turn_off_message_logging": True,
    "disable_hf_tokenizer_download": True,
    "set_verbose": False,
    "callbacks": [],
    "success_callback": [],
    "failure_callback": [],
    # Each chunk would be handed to a thread pool that runs the (callback-less) logging in a new event loop.
    # The reply's final success logging still runs, once.
    "disable_streaming_logging": True,
    # litellm tokenizes the whole conversation at the start of every call to price the stream object, which the
    # app never reads (tiktoken: ~9 ms for 32k tokens, ~0.4 s to load once). Usage and cost come from the
    # provider's own counts, which all five providers send with a stream.
    "disable_token_counter": True,
    # Each response's headers would be copied into a dict the app never reads.
    "return_response_headers": False,
}

NO_KEY = "no-key-needed"
_lock = threading.Lock()
_module: ModuleType | None = None
_handler: Any = None


def litellm() -> ModuleType:
    """The configured litellm module, imported on first use (about 4 s, so never on the sign-in page)."""
    global _module
    if _module is None:
        with _lock:
            if _module is None:
                for name, value in OFFLINE_FLAGS.items():
                    os.environ[name] = value
                import litellm as module

                for name, value in SETTINGS.items():
                    setattr(module, name, list(value) if isinstance(value, list) else value)
                _no_redirects()
                _module = module
    return _module


def _no_redirects() -> None:
    """One shared HTTP client that never follows a redirect, for the SDK-based and the other providers; it hands
    each response to the lean stream's capture (a no-op unless a call on this thread is being captured)."""
    global _handler
    import litellm as module  # imported by `litellm()` already, after the offline flags
    from litellm.llms.custom_httpx.http_handler import HTTPHandler

    _handler = HTTPHandler(follow_redirects=False)
    hooks = _handler.client.event_hooks
    _handler.client.event_hooks = {**hooks, "response": [*hooks.get("response", []), sse.record]}
    module.client_session = _handler.client


def no_redirect_client(litellm_prefix: str) -> dict[str, Any]:
    """The `client=` argument a completion for this provider needs so that no redirect is followed."""
    litellm()
    return {} if litellm_prefix in SDK_PREFIXES else {"client": _handler}


_warming: threading.Thread | None = None


def warm_in_background() -> threading.Thread:
    """Start importing litellm on a daemon thread (once per process) so the first chat does not wait for it."""
    global _warming
    with _lock:
        if _warming is None:
            _warming = threading.Thread(target=litellm, name="litellm-warmup", daemon=True)
            _warming.start()
        return _warming


def call_arguments(spec: ProviderSpec, values: Mapping[str, str], settings: Settings) -> dict[str, Any]:
    """The litellm keyword arguments a provider's credential feeds; bases come from settings only (or, for a
    provider that needs no credential, from its entry)."""
    arguments = {f.litellm_arg: values[f.name] for f in spec.fields if f.litellm_arg and values.get(f.name)}
    if any(f.is_endpoint for f in spec.fields):
        arguments["api_base"] = validate_endpoint(arguments.get("api_base", ""), settings.allow_endpoints)
    elif base := settings.provider_base(spec.base_url_variable):
        arguments["api_base"] = base
    if not spec.needs_credential:
        arguments.setdefault("api_base", spec.api_base)
        # Servers that take no key (vLLM, Ollama, llama.cpp's server) still get one: the SDKs refuse to send none.
        arguments["api_key"] = team_key(spec) or NO_KEY
    return arguments


def team_key(spec: ProviderSpec) -> str | None:
    """A team server's key, read now from the environment variable the admin named (None: it takes none, or the
    variable is not set); masked in every log line from the moment it is read."""
    key = server_key(spec.key_variable) if spec.key_variable else None
    if key is not None:
        mask_everywhere((key,))
    return key


def server_values(spec: ProviderSpec) -> dict[str, str]:
    """What a call to a provider that needs no credential of the user's signs with: a team server's key, if any."""
    return {"api_key": team_key(spec) or NO_KEY}


def secrets_of(spec: ProviderSpec, values: Mapping[str, str]) -> tuple[str, ...]:
    """A call's secret values (the credential's key or token, a team server's key), masked in any log while it runs."""
    secrets = tuple(values[f.name] for f in spec.fields if f.secret and values.get(f.name))
    key = team_key(spec)
    return (*secrets, key) if key else secrets


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion: the litellm model, the messages, the output bound; `temperature` None: the default."""

    model: str
    messages: Sequence[Mapping[str, Any]]  # a message's content: its text, or OpenAI-style parts (text, image_url)
    max_tokens: int
    temperature: float | None = None


def _completion(spec: ProviderSpec, settings: Settings, request: ChatRequest) -> dict[str, Any]:
    """The per-call arguments every completion shares, the credential's aside."""
    options = {"temperature": request.temperature} if request.temperature is not None else {}
    return {
        "model": request.model,
        "messages": list(request.messages),
        "max_tokens": request.max_tokens,
        "timeout": settings.request_timeout,
        # Retries are the app's own (the SDKs' differ per provider, and Azure's are fixed per process).
        "max_retries": 0,
        **no_redirect_client(spec.litellm_prefix or ""),
        **options,
    }


def stream_chat(
    spec: ProviderSpec, values: Mapping[str, str], settings: Settings, request: ChatRequest
) -> Generator[Any, None, None]:
    """Stream a chat completion with the credential's `values`, its usage in the last chunk: litellm's chunks, or
    for a provider that streams OpenAI's SSE (`openai_stream`) the lean stream's (core/providers/sse.py), unless
    APP_LEAN_STREAMS turned it off. litellm makes the call either way."""
    arguments = call_arguments(spec, values, settings)
    options = {"stream": True, "stream_options": {"include_usage": True}, **_completion(spec, settings, request)}
    with secrets_in_use(secrets_of(spec, values)):
        if not (spec.openai_stream and settings.lean_streams):
            yield from litellm().completion(**options, **arguments)
            return
        with sse.captured() as responses:
            stream = litellm().completion(**options, **arguments)
        response = responses[-1] if responses else None
        if response is None or not sse.readable(response):  # e.g. a stream litellm fakes from a whole reply
            yield from stream
            return
        yield from sse.read(response, stream, litellm())


def complete(spec: ProviderSpec, values: Mapping[str, str], settings: Settings, request: ChatRequest) -> Any:
    """A chat completion in one piece with the credential's `values`: litellm's response."""
    arguments = call_arguments(spec, values, settings)
    with secrets_in_use(secrets_of(spec, values)):
        return litellm().completion(**_completion(spec, settings, request), **arguments)
