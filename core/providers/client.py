"""The one place that imports litellm: offline, quiet, with no callbacks that could keep a key."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from core.config import Settings
from core.providers.endpoints import validate_endpoint
from core.providers.registry import ProviderSpec

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
                _no_redirects(module)
                _module = module
    return _module


def _no_redirects(module: ModuleType) -> None:
    """One shared HTTP client that never follows a redirect, for the SDK-based and the other providers."""
    global _handler
    from litellm.llms.custom_httpx.http_handler import HTTPHandler

    _handler = HTTPHandler(follow_redirects=False)
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
    """The litellm keyword arguments a provider's credential feeds; bases come from settings only."""
    arguments = {f.litellm_arg: values[f.name] for f in spec.fields if f.litellm_arg and values.get(f.name)}
    if any(f.is_endpoint for f in spec.fields):
        arguments["api_base"] = validate_endpoint(arguments.get("api_base", ""), settings.allow_endpoints)
    elif base := settings.provider_base(spec.id):
        arguments["api_base"] = base
    return arguments
