"""Local models behind litellm's custom-provider hook: `local/<owner>/<name>` goes through the same
`litellm.completion` call as every provider, to a `CustomLLM` that runs the model through the ModelPool.

litellm calls the four methods with keyword arguments only, and strips the `local/` prefix from `model`. A
stream's generator ends the generation in its `finally`, which closing litellm's stream reaches (see `_chunks`)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.local.pool import ModelPool
from core.local.runtime import Generation, GenerationRequest
from core.providers.client import litellm

litellm()  # the offline flags and the app's settings, before litellm's own modules load
from litellm import CustomLLM  # noqa: E402
from litellm.types.utils import ModelResponse, Usage  # noqa: E402

LOCAL_PROVIDER = "local"  # not one of litellm's providers (checked), so its own handler is never shadowed
DEFAULT_MAX_TOKENS = 512
_lock = threading.Lock()


def _request(messages: list[Any], optional_params: dict[str, Any]) -> GenerationRequest:
    """litellm's messages and optional params (max_tokens, temperature) as a runtime request; text content only."""
    chat = tuple(
        {"role": str(m["role"]), "content": m["content"] if isinstance(m["content"], str) else _text(m["content"])}
        for m in messages
    )
    max_tokens = optional_params.get("max_tokens") or optional_params.get("max_completion_tokens")
    return GenerationRequest(chat, int(max_tokens or DEFAULT_MAX_TOKENS), optional_params.get("temperature"))


def _text(parts: Any) -> str:
    """The text parts of a multi-part message (a local model here reads text only)."""
    return "".join(p.get("text", "") for p in parts or () if isinstance(p, dict) and p.get("type") == "text")


def _usage(generation: Generation) -> dict[str, int]:
    prompt, completion = generation.prompt_tokens, generation.completion_tokens
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _chunk(text: str, generation: Generation | None = None) -> dict[str, Any]:
    """A GenericStreamingChunk; the last one (with `generation`) carries the finish reason and the real usage."""
    return {
        "text": text,
        "tool_use": None,
        "is_finished": generation is not None,
        "finish_reason": generation.finish_reason if generation else "",
        "usage": _usage(generation) if generation else None,
        "index": 0,
    }


class _Chunks:
    """A generation as litellm's stream source. litellm's CustomStreamWrapper.close() (and aclose()) calls this
    object's close(), which cancels the generation, whether it has started or not."""

    def __init__(self, generation: Generation) -> None:
        self.generation = generation
        self._pieces = iter(generation)
        self._finished = False

    def __iter__(self) -> _Chunks:
        return self

    def __next__(self) -> dict[str, Any]:
        if self._finished:
            raise StopIteration
        try:
            return _chunk(next(self._pieces))
        except StopIteration:
            self._finished = True
            return _chunk("", self.generation)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._finished = True
        self.generation.cancel()

    def _next_or_none(self) -> dict[str, Any] | None:
        return next(self, None)

    # The async side: each piece is awaited off the event loop.
    def __aiter__(self) -> _Chunks:
        return self

    async def __anext__(self) -> dict[str, Any]:
        try:
            chunk = await asyncio.to_thread(self._next_or_none)
        except asyncio.CancelledError:
            self.close()
            raise
        if chunk is None:
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        self.close()


class LocalLLM(CustomLLM):
    """Runs `local/<owner>/<name>` on this server through the pool; litellm hands it `model` as `<owner>/<name>`."""

    def __init__(self, pool: ModelPool, folder_of: Callable[[str], Path]) -> None:
        super().__init__()
        self.pool, self.folder_of = pool, folder_of

    def _start(self, model: str, messages: list[Any], optional_params: dict[str, Any]) -> Generation:
        return self.pool.generate(model, self.folder_of(model), _request(messages, optional_params))

    def streaming(self, model: str, messages: list[Any], optional_params: dict[str, Any], **_: Any) -> Any:  # type: ignore[override]
        return _Chunks(self._start(model, messages, optional_params))

    def astreaming(self, model: str, messages: list[Any], optional_params: dict[str, Any], **_: Any) -> Any:  # type: ignore[override]
        # Not a coroutine: litellm iterates what this call returns without awaiting it (an async iterable).
        return _Chunks(self._start(model, messages, optional_params))

    def completion(  # type: ignore[override]
        self, model: str, messages: list[Any], optional_params: dict[str, Any], model_response: ModelResponse, **_: Any
    ) -> ModelResponse:
        generation = self._start(model, messages, optional_params)
        try:
            text = "".join(generation)
        finally:
            generation.cancel()
        choice: Any = model_response.choices[0]
        choice.message.content = text
        choice.finish_reason = generation.finish_reason
        model_response.model = f"{LOCAL_PROVIDER}/{model}"
        model_response.created = int(time.time())
        usage = _usage(generation)
        model_response.usage = Usage(  # type: ignore[attr-defined]
            prompt_tokens=usage["prompt_tokens"],
            completion_tokens=usage["completion_tokens"],
            total_tokens=usage["total_tokens"],
        )
        return model_response

    async def acompletion(  # type: ignore[override]
        self, model: str, messages: list[Any], optional_params: dict[str, Any], model_response: ModelResponse, **_: Any
    ) -> ModelResponse:
        return await asyncio.to_thread(self.completion, model, messages, optional_params, model_response)


def register(pool: ModelPool, folder_of: Callable[[str], Path]) -> None:
    """Make `local/...` models run through `pool`: one LocalLLM in `litellm.custom_provider_map` (a later call
    replaces it, never adds a second)."""
    module: Any = litellm()
    with _lock:
        entries = [entry for entry in module.custom_provider_map if entry.get("provider") != LOCAL_PROVIDER]
        handler = LocalLLM(pool, folder_of)
        module.custom_provider_map = [*entries, {"provider": LOCAL_PROVIDER, "custom_handler": handler}]
