"""The one place that imports litellm: offline, quiet, with no callbacks that could keep a key."""

from __future__ import annotations

import os
import threading
from types import ModuleType
from typing import Any

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

                module.suppress_debug_info = True
                module.telemetry = False
                module.turn_off_message_logging = True
                module.disable_hf_tokenizer_download = True
                module.set_verbose = False
                module.callbacks = []
                module.success_callback = []
                module.failure_callback = []
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


def warm_in_background() -> threading.Thread:
    """Start importing litellm on a daemon thread so the first chat does not wait for it."""
    thread = threading.Thread(target=litellm, name="litellm-warmup", daemon=True)
    thread.start()
    return thread
