"""One streamed reply through raw httpx, through litellm, and through the app's chat core; many at once."""

from __future__ import annotations

import json
import threading
import time
from types import ModuleType

import httpx

from bench.measure import Sample, cpu_seconds, cpu_since
from core.chat.conversations import Conversation
from core.services import Services

MESSAGES = [{"role": "user", "content": "Tell me a story."}]
PROMPT = "Tell me a story."


def httpx_reply(client: httpx.Client, base: str, key: str, model: str) -> Sample:
    """The floor: one POST, SSE lines read and each chunk's JSON parsed for its text, nothing else."""
    body = {"model": model, "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}}
    started, cpu = time.perf_counter(), cpu_seconds()
    first = None
    with client.stream(
        "POST", f"{base}/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}
    ) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            choices = json.loads(line[6:]).get("choices")
            if choices and choices[0]["delta"].get("content"):
                first = first or time.perf_counter()
    return Sample(first - started if first else None, time.perf_counter() - started, cpu_since(cpu))


def litellm_reply(litellm: ModuleType, base: str, key: str, model: str) -> Sample:
    """`litellm.completion(stream=True)` called directly, with the key and base on the call, as the app does."""
    started, cpu = time.perf_counter(), cpu_seconds()
    first = None
    stream = litellm.completion(
        model=f"openai/{model}",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        max_retries=0,
        api_key=key,
        api_base=base,
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            first = first or time.perf_counter()
    return Sample(first - started if first else None, time.perf_counter() - started, cpu_since(cpu))


def core_reply(services: Services, user_id: int, model_ref: str, expected: str) -> Sample:
    """What the Chat page asks of core for a message: save it, stream the reply in batches, save the reply."""
    cpu = cpu_seconds()
    ttft, total = core_turn(services, user_id, model_ref, expected)
    return Sample(ttft, total, cpu_since(cpu))


def core_turn(services: Services, user_id: int, model_ref: str, expected: str) -> tuple[float | None, float]:
    """Seconds to the first batch of text and to the saved reply."""
    started = time.perf_counter()
    first = None
    turn = services.chat.send(user_id, Conversation(), PROMPT, model_ref)
    for _ in turn.batches():
        first = first or time.perf_counter()
    message = turn.finish()
    total = time.perf_counter() - started
    check_reply(message.content, message.error, expected)
    return (first - started if first else None), total


def check_reply(text: str, error: str | None, expected: str) -> None:
    if error or text != expected:
        raise RuntimeError(f"the reply did not arrive whole: error={error!r}, {len(text)} of {len(expected)} chars")


def concurrent_core(services: Services, user_id: int, model_ref: str, expected: str, streams: int) -> Sample:
    """`streams` people sending a message at the same moment, each on a thread of their own (as Streamlit runs
    each session's script): wall time until the last reply is saved, and the CPU all of it took."""
    barrier = threading.Barrier(streams + 1)
    failures: list[BaseException] = []

    def chat() -> None:
        barrier.wait()
        try:
            core_turn(services, user_id, model_ref, expected)
        except BaseException as error:  # reported after the run
            failures.append(error)

    threads = [threading.Thread(target=chat, name=f"bench-chat-{i}") for i in range(streams)]
    for thread in threads:
        thread.start()
    cpu = cpu_seconds()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    sample = Sample(None, time.perf_counter() - started, cpu_since(cpu))
    if failures:
        raise RuntimeError(f"{len(failures)} of {streams} concurrent replies failed") from failures[0]
    return sample
