"""The one place that imports litellm: offline, quiet, with no callbacks that could keep a key."""

from __future__ import annotations

import os
import threading
from types import ModuleType

# litellm fetches price maps, header configs and tokenizers from the internet unless told not to,
# and reads these variables at import time (it also imports huggingface_hub, which reads its own).
OFFLINE_FLAGS = {
    "LITELLM_OFFLINE_MODE": "true",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "true",
    "LITELLM_LOCAL_BLOG_POSTS": "true",
    "HF_HUB_DISABLE_TELEMETRY": "1",
}

_lock = threading.Lock()
_module: ModuleType | None = None


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
                _module = module
    return _module


def warm_in_background() -> threading.Thread:
    """Start importing litellm on a daemon thread so the first chat does not wait for it."""
    thread = threading.Thread(target=litellm, name="litellm-warmup", daemon=True)
    thread.start()
    return thread
