"""The lean stream: a reply from a provider that streams OpenAI's chat-completion SSE, read straight off the HTTP
response with one `json.loads` per event, instead of through the SDK's and litellm's objects per chunk.

litellm still makes the call (provider, URL, headers, body) and sends it through the app's own HTTP client
(core/providers/client.py), so an answer that is no success raises litellm's own exception, as on litellm's stream.
`captured()` keeps the response that client received for this call (a response hook, per call and per thread, so
nothing is shared between users); `read` then yields chunks shaped like litellm's (`choices[0].delta.content`,
`choices[0].finish_reason`, `usage`), and applies the stream rules of litellm's wrapper: `[DONE]` ends it, an `error`
payload is the SDK's `APIError`, a finish reason of `abort` a provider failure, an end without any finish reason a
cut-off stream, and any failure while reading is mapped by litellm's `exception_type`, as litellm's wrapper maps it.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple, cast

import httpx
import openai

_capture: ContextVar[list[httpx.Response] | None] = ContextVar("lean_stream_capture", default=None)


class Delta(NamedTuple):
    content: str | None


class Choice(NamedTuple):
    delta: Delta
    finish_reason: str | None


class Usage(NamedTuple):
    prompt_tokens: int | None
    completion_tokens: int | None


class Chunk(NamedTuple):
    """One event of the stream, as the reply stream reads a litellm chunk."""

    choices: tuple[Choice, ...]
    usage: Usage | None


def record(response: httpx.Response) -> None:
    """The HTTP client's response hook: keep the response for the call being captured on this thread, if any."""
    responses = _capture.get()
    if responses is not None:
        responses.append(response)


@contextmanager
def captured() -> Iterator[list[httpx.Response]]:
    """The responses the app's HTTP client receives inside this block, on this thread (one, for a litellm call)."""
    responses: list[httpx.Response] = []
    token = _capture.set(responses)
    try:
        yield responses
    finally:
        _capture.reset(token)


def readable(response: httpx.Response | None) -> bool:
    """Whether a captured response is a stream nobody has read yet (litellm fakes some streams from a whole body)."""
    return (
        response is not None
        and response.is_success
        and not response.is_stream_consumed
        and response.headers.get("content-type", "").startswith("text/event-stream")
    )


def events(response: httpx.Response) -> Iterator[bytes]:
    """Each SSE event's data (its `data:` lines joined), as OpenAI's SDK decodes them: an event ends at a blank line."""
    buffer = b""
    data: list[bytes] = []
    for block in response.iter_bytes():
        buffer += block
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            line = line.removesuffix(b"\r")
            if not line:
                if data:
                    yield b"\n".join(data)
                    data = []
            elif line.startswith(b"data:"):
                data.append(line[6:] if line[5:6] == b" " else line[5:])


def _error(payload: dict[str, Any], response: httpx.Response) -> openai.APIError:
    """What OpenAI's SDK raises for an `error` event in a stream."""
    error = payload["error"]
    message = error.get("message") if isinstance(error, dict) else None
    if not message or not isinstance(message, str):
        message = "An error occurred during streaming"
    # The SDK types its request as its own httpx fork's; it only keeps it on the error.
    return openai.APIError(message=message, request=cast(Any, response.request), body=error)


def _chunks(response: httpx.Response, litellm: Any) -> Iterator[Chunk]:
    finish = litellm.litellm_core_utils.core_helpers.map_finish_reason
    finished = False
    for data in events(response):
        if data.startswith(b"[DONE]"):
            break
        payload = json.loads(data)
        if payload.get("error"):
            raise _error(payload, response)
        choices = []
        for choice in payload.get("choices") or ():
            if (reason := choice.get("finish_reason")) is not None:
                if reason == "abort":
                    raise litellm.InternalServerError(
                        message="Upstream generation aborted (finish_reason=abort)",
                        model=payload.get("model"),
                        llm_provider="openai",
                    )
                finished, reason = True, finish(reason)
            delta = choice.get("delta")
            choices.append(Choice(Delta(delta.get("content") if delta else None), reason))
        usage = payload.get("usage")
        counted = Usage(usage.get("prompt_tokens"), usage.get("completion_tokens")) if usage else None
        yield Chunk(tuple(choices), counted)
    if not finished:
        raise httpx.RemoteProtocolError("Stream ended before a finish_reason was received", request=response.request)


def read(response: httpx.Response, stream: Any, litellm: Any) -> Generator[Chunk, None, None]:
    """The reply's chunks off `response`, which `stream` (litellm's, left unread) was made for; closes both."""
    try:
        yield from _chunks(response, litellm)
    except Exception as error:  # every failure while reading, mapped as litellm's stream maps it
        raise mapped(error, stream, litellm) from error
    finally:
        response.close()
        stream.close()


def mapped(error: Exception, stream: Any, litellm: Any) -> Exception:
    """The exception litellm's stream would end with for `error` (its `exception_type` raises or returns it)."""
    try:
        result = litellm.exception_type(
            model=stream.model, custom_llm_provider=stream.custom_llm_provider, original_exception=error
        )
    except Exception as raised:
        return raised
    return result if isinstance(result, Exception) else error
