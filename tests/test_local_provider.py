"""Local models through the real litellm, as the app calls every provider: `local/<owner>/<name>` reaches the
custom provider, text streams, usage is the runtime's own, and closing the stream ends the generation."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from core.local.errors import LocalModelError
from core.local.pool import ModelPool
from core.local.provider import LOCAL_PROVIDER, register
from core.local.runtime import GIB, GenerationRequest, load
from core.providers.client import litellm
from tests.fakes.tiny_models import tiny_model

RUNTIMES = ["transformers", "llama.cpp"]
MODEL = "local/tiny/model"
HELLO = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello! Who are you?"}]
ENDLESS = 100_000
THREADS = 1


def call(**options: Any) -> dict[str, Any]:
    """The arguments the app's chat passes to litellm for a model with no key."""
    return {"model": MODEL, "messages": HELLO, "api_key": "unused", "temperature": 0, "max_tokens": 10, **options}


@pytest.fixture(params=RUNTIMES)
def runtime(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def pool(runtime: str) -> Iterator[ModelPool]:
    """A pool behind `local/tiny/model`, which is the runtime's tiny model."""
    pool = ModelPool(max_loaded=1, threads=THREADS)
    register(pool, lambda repo_id: tiny_model(runtime) if repo_id == "tiny/model" else pytest.fail(repo_id))
    yield pool
    for repo_id in pool.loaded():
        pool.unload(repo_id)


def direct(runtime: str, max_tokens: int = 10) -> tuple[str, int, int]:
    """The runtime called directly, greedy: its text, prompt tokens and completion tokens."""
    model = load("tiny/model", tiny_model(runtime), THREADS)
    try:
        generation = model.generate(GenerationRequest(tuple(HELLO), max_tokens, 0))
        return "".join(generation), generation.prompt_tokens, generation.completion_tokens
    finally:
        model.close()


def streamed(chunks: list[Any]) -> tuple[str, Any]:
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks[-1].usage


def usage_of(usage: Any) -> tuple[int, int, int]:
    return usage.prompt_tokens, usage.completion_tokens, usage.total_tokens


def test_local_is_not_one_of_litellms_providers() -> None:
    """A built-in provider of the same name would take `local/...` models before the custom handler."""
    from litellm.types.utils import LlmProvidersSet

    litellm()
    assert LOCAL_PROVIDER not in LlmProvidersSet


def test_registering_again_replaces_the_handler(pool: ModelPool) -> None:
    register(pool, lambda repo_id: tiny_model("llama.cpp"))
    entries = [entry for entry in litellm().custom_provider_map if entry["provider"] == LOCAL_PROVIDER]
    assert len(entries) == 1 and entries[0]["custom_handler"].pool is pool


def test_text_streams_with_real_usage(pool: ModelPool, runtime: str) -> None:
    chunks = list(litellm().completion(stream=True, stream_options={"include_usage": True}, **call()))
    text, usage = streamed(chunks)
    expected_text, prompt, completion = direct(runtime)
    assert text and text == expected_text
    assert usage_of(usage) == (prompt, completion, prompt + completion) and completion == 10
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["length"]


def test_the_non_streaming_completion(pool: ModelPool, runtime: str) -> None:
    response = litellm().completion(**call())
    expected_text, prompt, completion = direct(runtime)
    assert response.choices[0].message.content == expected_text
    assert usage_of(response.usage) == (prompt, completion, prompt + completion)
    assert response.choices[0].finish_reason == "length"


def test_async_completion_and_stream(pool: ModelPool, runtime: str) -> None:
    async def both() -> tuple[Any, list[Any]]:
        response = await litellm().acompletion(**call())
        stream = await litellm().acompletion(stream=True, stream_options={"include_usage": True}, **call())
        return response, [chunk async for chunk in stream]

    response, chunks = asyncio.run(both())
    expected_text, prompt, completion = direct(runtime)
    assert response.choices[0].message.content == expected_text
    text, usage = streamed(chunks)
    assert text == expected_text
    assert usage_of(usage) == usage_of(response.usage) == (prompt, completion, prompt + completion)


def next_reply_runs(pool: ModelPool, runtime: str) -> None:
    """A generation queued after the closed one runs, so the closed one has ended (an endless one left running
    would hold the turn for good)."""
    after = pool.generate("tiny/model", tiny_model(runtime), GenerationRequest(tuple(HELLO), 3, 0))
    assert "".join(after) and after.completion_tokens == 3


def test_closing_the_stream_midway_cancels_the_generation(pool: ModelPool, runtime: str) -> None:
    stream = litellm().completion(stream=True, **call(max_tokens=ENDLESS))
    generation = stream.completion_stream.generation  # what litellm wraps: our stream source
    for _, _chunk in zip(range(3), stream, strict=False):
        pass
    stream.close()
    assert generation.cancelled.is_set()
    generation.ended.wait(20)
    assert 0 < generation.completion_tokens < ENDLESS
    next_reply_runs(pool, runtime)


def test_closing_a_stream_before_reading_it_cancels_too(pool: ModelPool, runtime: str) -> None:
    stream = litellm().completion(stream=True, **call(max_tokens=ENDLESS))
    generation = stream.completion_stream.generation
    stream.close()
    assert generation.cancelled.is_set()
    next_reply_runs(pool, runtime)


def test_closing_an_async_stream_cancels_the_generation(pool: ModelPool, runtime: str) -> None:
    async def read_then_close() -> Any:
        stream = await litellm().acompletion(stream=True, **call(max_tokens=ENDLESS))
        generation = stream.completion_stream.generation
        count = 0
        async for _chunk in stream:
            count += 1
            if count == 3:
                break
        await stream.aclose()
        return generation

    generation = asyncio.run(read_then_close())
    assert generation.cancelled.is_set()
    next_reply_runs(pool, runtime)


def test_a_refusal_reaches_the_caller_with_its_message(runtime: str) -> None:
    pool = ModelPool(max_loaded=1, threads=THREADS, free_memory=lambda: GIB // 10)
    register(pool, lambda repo_id: tiny_model(runtime))
    with pytest.raises(Exception) as raised:
        list(litellm().completion(stream=True, **call()))
    causes = []
    error: BaseException | None = raised.value
    while error is not None:
        causes.append(error)
        error = error.__cause__ or error.__context__
    refusal = next(e for e in causes if isinstance(e, LocalModelError))  # litellm wraps it; the chain keeps it
    assert "needs about" in str(refusal) and "Close another model or pick a smaller one." in str(refusal)
