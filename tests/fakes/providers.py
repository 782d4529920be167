"""Fake OpenAI, Anthropic, Gemini, xAI and Azure OpenAI HTTP APIs on 127.0.0.1, and a team's own
OpenAI-compatible inference server (``server``: vLLM's dialect of OpenAI's protocol).

One stdlib server speaks each provider's real wire protocol (JSON bodies, SSE
streaming over chunked HTTP/1.1, auth headers, error bodies and status codes)
closely enough that the real litellm client works against it unchanged.

``fake.base(provider)`` is the ``api_base`` to hand litellm; the paths below are
what litellm then requests (``{url}`` is ``fake.url``):

=========  ====================  ===================================================
provider   base(provider)        paths served
=========  ====================  ===================================================
openai     {url}/openai/v1       POST /chat/completions, GET /models
xai        {url}/xai/v1          POST /chat/completions, GET /models
anthropic  {url}/anthropic       POST /v1/messages, GET /v1/models
gemini     {url}/gemini/v1beta   POST /models/{m}:generateContent,
                                 POST /models/{m}:streamGenerateContent?alt=sse,
                                 GET /models
azure      {url}                 POST /openai/deployments/{d}/chat/completions,
                                 GET /openai/deployments, GET /openai/models
server     {url}/server/v1       POST /chat/completions, GET /models
=========  ====================  ===================================================

Checks run in the real providers' order: credential, then model (or Azure
deployment), then any failure injected with ``fake.fail``, then the reply.
Failures, each in the provider's own error shape: ``rate_limit`` is a 429 with
``Retry-After: 2``, ``server_error`` a 500, ``forbidden`` a 403; ``cut_stream``
sends half the SSE content chunks (or half a JSON body) and then closes the
socket; ``hang`` answers nothing for 30 s, or until ``stop()``; ``not_found`` is the
provider's 404 for an unknown model (on any endpoint, a listing too); ``redirect`` a
307 to ``{url}/elsewhere`` plus the request's path (a client that follows it asks the
fake again: ``fake.unrouted`` lists the paths asked for that no route serves).

Listings page as the providers do: Anthropic by ``limit`` (default 20) and
``after_id``, Gemini by ``pageSize`` (default 50) and ``pageToken``; ``fake.page_size``
caps a page further. ``fake.methods`` sets a Gemini model's
``supportedGenerationMethods`` (an embedding model has only ``embedContent``), and
``fake.lists_deployments = False`` makes Azure answer ``GET /openai/deployments``
with 404, as resources on API versions without that operation do.

The ``server`` speaks as vLLM does: model IDs are Hugging Face's ``owner/name``, its listing
gives each model's ``max_model_len`` (``fake.max_model_len``), a wrong or missing key is
``401 {"error": "Unauthorized"}``; its key is ``SERVER_KEY`` (add ``NO_KEY`` to
``fake.keys["server"]`` for a server started without ``--api-key``).
"""

from __future__ import annotations

import itertools
import json
import math
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, get_args
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.loopback import LoopbackFake, LoopbackHandler, LoopbackServer

ProviderId = Literal["openai", "anthropic", "gemini", "xai", "azure", "server"]
FailureKind = Literal["rate_limit", "server_error", "cut_stream", "hang", "forbidden", "not_found", "redirect"]
_ErrorKind = Literal["rate_limit", "server_error", "forbidden"]
_Endpoint = Literal["chat", "stream", "models", "deployments"]

PROVIDERS: Final[tuple[ProviderId, ...]] = get_args(ProviderId)
FAILURE_KINDS: Final[tuple[FailureKind, ...]] = get_args(FailureKind)
HANG_SECONDS: Final = 30.0
RETRY_AFTER_SECONDS: Final = 2
REDIRECT_STATUS: Final = 307
REDIRECT_PATH: Final = "/elsewhere"  # where a ``redirect`` points, on the fake itself (see ``unrouted``)

DEFAULT_KEYS: Final[Mapping[ProviderId, str]] = {
    "openai": "sk-test-openai-valid",
    "anthropic": "sk-ant-test-anthropic-valid",
    "gemini": "AIza-test-gemini-valid",
    "xai": "xai-test-xai-valid",
    "azure": "azure-test-azure-valid",
}
DEFAULT_MODELS: Final[Mapping[ProviderId, tuple[str, ...]]] = {
    "openai": ("gpt-4o-mini", "gpt-4o", "text-embedding-3-small"),
    "anthropic": ("claude-3-5-sonnet-latest", "claude-3-5-haiku-latest"),
    "gemini": ("gemini-1.5-flash", "gemini-1.5-pro"),
    "xai": ("grok-2", "grok-2-mini"),
    "azure": ("my-gpt4o",),
    "server": ("meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen2.5-7B-Instruct"),
}
# The team server's key: not one of the users' provider keys (DEFAULT_KEYS), so nothing saves it as one.
SERVER_KEY: Final = "team-server-key-sentinel-0001"

_FAILURE_STATUS: Final[Mapping[_ErrorKind, int]] = {"rate_limit": 429, "server_error": 500, "forbidden": 403}
GEMINI_CHAT_METHODS: Final = ("generateContent", "countTokens")
_GEMINI_PATH: Final = r"/gemini/v1(?:beta|alpha)?"
_ROUTES: Final[tuple[tuple[ProviderId, str, re.Pattern[str], _Endpoint], ...]] = tuple(
    (provider, method, re.compile(pattern + "/?"), endpoint)
    for provider, method, pattern, endpoint in (
        ("openai", "POST", r"/openai/v1/chat/completions", "chat"),
        ("openai", "GET", r"/openai/v1/models", "models"),
        ("xai", "POST", r"/xai/v1/chat/completions", "chat"),
        ("xai", "GET", r"/xai/v1/models", "models"),
        ("anthropic", "POST", r"/anthropic/v1/messages", "chat"),
        ("anthropic", "GET", r"/anthropic/v1/models", "models"),
        ("gemini", "POST", _GEMINI_PATH + r"/models/(?P<model>[^/:]+):generateContent", "chat"),
        ("gemini", "POST", _GEMINI_PATH + r"/models/(?P<model>[^/:]+):streamGenerateContent", "stream"),
        ("gemini", "GET", _GEMINI_PATH + r"/models", "models"),
        ("azure", "POST", r"/openai/deployments/(?P<model>[^/]+)/chat/completions", "chat"),
        ("azure", "GET", r"/openai/deployments", "deployments"),
        ("azure", "GET", r"/openai/models", "models"),
        ("server", "POST", r"/server/v1/chat/completions", "chat"),
        ("server", "GET", r"/server/v1/models", "models"),
    )
)


@dataclass(frozen=True)
class Recorded:
    """One request the fake received, as the provider would have seen it."""

    provider: ProviderId
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    key: str | None
    model: str | None


@dataclass
class _Failure:
    provider: ProviderId
    kind: FailureKind
    remaining: int | None


@dataclass(frozen=True)
class _Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Stream:
    """SSE frames; ``content`` frames carry the text and are what ``cut_stream`` truncates."""

    head: list[bytes]
    content: list[bytes]
    tail: list[bytes]


@dataclass(frozen=True)
class _Usage:
    prompt: int
    completion: int

    @property
    def total(self) -> int:
        return self.prompt + self.completion


def count_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _prompt_tokens(body: Any) -> int:
    """Rough prompt size from every string in the request's conversation fields."""
    if not isinstance(body, Mapping):
        return 1
    fields = ("messages", "system", "contents", "systemInstruction", "system_instruction")
    return max(1, sum(count_tokens(text) for name in fields for text in _strings(body.get(name))))


def _split(text: str, parts: int) -> list[str]:
    count = max(1, min(parts, len(text)))
    bounds = [round(i * len(text) / count) for i in range(count + 1)]
    return [text[start:end] for start, end in itertools.pairwise(bounds)]


def _sse(data: Any, event: str | None = None) -> bytes:
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {json.dumps(data)}\n\n".encode()


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:24]


def _mask(key: str | None) -> str:
    return "" if not key else f"{key[:2]}***{key[-2:]}"


def _display_name(model: str) -> str:
    """``claude-3-5-sonnet-latest`` -> ``Claude 3.5 Sonnet Latest``."""
    words: list[str] = []
    for part in model.split("-"):
        if part.isdigit() and words and words[-1][-1].isdigit():
            words[-1] += "." + part
        else:
            words.append(part if part[:1].isdigit() else part.capitalize())
    return " ".join(words)


def _page_size(requested: str | None, default: int, cap: int | None) -> int | None:
    """A listing page's size: the request's (1-1000, else None) or the provider's default, capped by the fake."""
    if requested is None:
        size = default
    elif requested.isdigit():
        size = int(requested)
    else:
        return None
    if not 1 <= size <= 1000:
        return None
    return min(size, cap) if cap else size


def _bearer(headers: Mapping[str, str]) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


class _OpenAIDialect:
    """OpenAI chat completions; the base for the OpenAI-compatible dialects."""

    owned_by = "openai"

    def key(self, headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
        return _bearer(headers)

    def request_error(self, query: Mapping[str, str]) -> _Reply | None:
        return None

    def auth_error(self, key: str | None) -> _Reply:
        message = (
            f"Incorrect API key provided: {_mask(key)}. "
            "You can find your API key at https://platform.openai.com/account/api-keys."
        )
        return _Reply(401, self._error(message, "invalid_request_error", "invalid_api_key"))

    def not_found(self, model: str | None) -> _Reply:
        message = f"The model `{model}` does not exist or you do not have access to it."
        return _Reply(404, self._error(message, "invalid_request_error", "model_not_found"))

    def failure(self, kind: _ErrorKind, model: str | None) -> _Reply:
        bodies: Mapping[_ErrorKind, dict[str, Any]] = {
            "rate_limit": self._error(
                f"Rate limit reached for {model} in organization org-fake on requests per min (RPM): "
                f"Limit 3, Used 3, Requested 1. Please try again in {RETRY_AFTER_SECONDS}s.",
                "requests",
                "rate_limit_exceeded",
            ),
            "server_error": self._error(
                "The server had an error while processing your request. Sorry about that!", "server_error", None
            ),
            "forbidden": self._error(
                "Country, region, or territory not supported",
                "request_forbidden",
                "unsupported_country_region_territory",
            ),
        }
        return _Reply(_FAILURE_STATUS[kind], bodies[kind])

    def completion(self, model: str, text: str, usage: _Usage) -> dict[str, Any]:
        message = {"role": "assistant", "content": text, "refusal": None, "annotations": []}
        return {
            "id": _new_id("chatcmpl-"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": usage.prompt,
                "completion_tokens": usage.completion,
                "total_tokens": usage.total,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
            },
            "system_fingerprint": "fp_fake",
        }

    def stream(self, model: str, pieces: list[str], usage: _Usage, body: Mapping[str, Any]) -> _Stream:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        base = {"id": _new_id("chatcmpl-"), "object": "chat.completion.chunk", "created": int(time.time())}
        base |= {"model": model, "system_fingerprint": "fp_fake"} | ({"usage": None} if include_usage else {})

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            return _sse(base | {"choices": [choice]})

        tail = [chunk({}, "stop")]
        if include_usage:
            totals = {"prompt_tokens": usage.prompt, "completion_tokens": usage.completion, "total_tokens": usage.total}
            tail.append(_sse(base | {"choices": [], "usage": totals}))
        return _Stream(
            head=[chunk({"role": "assistant", "content": "", "refusal": None})],
            content=[chunk({"content": piece}) for piece in pieces],
            tail=[*tail, b"data: [DONE]\n\n"],
        )

    def listing(self, endpoint: _Endpoint, ids: list[str], query: Mapping[str, str], fake: FakeProviders) -> Any:
        created = int(time.time())
        models = [{"id": name, "object": "model", "created": created, "owned_by": self.owned_by} for name in ids]
        return {"object": "list", "data": models}

    @staticmethod
    def _error(message: str, kind: str, code: str | None) -> dict[str, Any]:
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class _XAIDialect(_OpenAIDialect):
    """xAI: OpenAI's protocol, but gRPC-style ``{"code", "error"}`` error bodies (bad key is a 400)."""

    owned_by = "xai"

    def auth_error(self, key: str | None) -> _Reply:
        message = f"Incorrect API key provided: {_mask(key)}. You can obtain an API key from https://console.x.ai."
        return _Reply(400, {"code": "Client specified an invalid argument", "error": message})

    def not_found(self, model: str | None) -> _Reply:
        message = (
            f"The model {model} does not exist or your team does not have access to it. "
            "Please ensure you're using the correct API key."
        )
        return _Reply(404, {"code": "Some requested entity was not found", "error": message})

    def failure(self, kind: _ErrorKind, model: str | None) -> _Reply:
        bodies: Mapping[_ErrorKind, dict[str, str]] = {
            "rate_limit": {
                "code": "Some resource has been exhausted",
                "error": f"Your team has exceeded its requests-per-second limit for {model}. "
                f"Please retry after {RETRY_AFTER_SECONDS} seconds.",
            },
            "server_error": {"code": "Internal error", "error": "Internal server error."},
            "forbidden": {
                "code": "The caller does not have permission to execute the specified operation",
                "error": "Your newly created team doesn't have any credits yet. "
                "You can purchase credits on https://console.x.ai.",
            },
        }
        return _Reply(_FAILURE_STATUS[kind], bodies[kind])


class _AzureDialect(_OpenAIDialect):
    """Azure OpenAI: deployments in the path, ``api-key`` header, ``{"code", "message"}`` errors."""

    owned_by = "system"

    def key(self, headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
        return headers.get("api-key") or _bearer(headers)

    def request_error(self, query: Mapping[str, str]) -> _Reply | None:
        return None if query.get("api-version") else _Reply(404, self._azure_error("404", "Resource not found"))

    def auth_error(self, key: str | None) -> _Reply:
        message = (
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid "
            "key for an active subscription and use a correct regional API endpoint for your resource."
        )
        return _Reply(401, self._azure_error("401", message))

    def not_found(self, model: str | None) -> _Reply:
        message = (
            "The API deployment for this resource does not exist. If you created the deployment within the "
            "last 5 minutes, please wait a moment and try again."
        )
        return _Reply(404, self._azure_error("DeploymentNotFound", message))

    def failure(self, kind: _ErrorKind, model: str | None) -> _Reply:
        bodies: Mapping[_ErrorKind, dict[str, Any]] = {
            "rate_limit": self._azure_error(
                "429",
                "Requests to the ChatCompletions_Create Operation have exceeded token rate limit of your current "
                f"OpenAI S0 pricing tier. Please retry after {RETRY_AFTER_SECONDS} seconds.",
            ),
            "server_error": self._azure_error(
                "InternalServerError",
                "The service is temporarily unable to process your request. Please try again later.",
            ),
            "forbidden": self._azure_error("403", "Access denied due to Virtual Network/Firewall rules."),
        }
        return _Reply(_FAILURE_STATUS[kind], bodies[kind])

    def completion(self, model: str, text: str, usage: _Usage) -> dict[str, Any]:
        return super().completion(model, text, usage) | {"prompt_filter_results": []}

    def listing(self, endpoint: _Endpoint, ids: list[str], query: Mapping[str, str], fake: FakeProviders) -> Any:
        created = int(time.time())
        kind = "deployment" if endpoint == "deployments" else "model"
        items = [{"id": name, "object": kind, "status": "succeeded", "created_at": created} for name in ids]
        return {"object": "list", "data": items}

    @staticmethod
    def _azure_error(code: str, message: str) -> dict[str, Any]:
        return {"error": {"code": code, "message": message}}


class _ServerDialect(_OpenAIDialect):
    """vLLM's OpenAI-compatible server: OpenAI's protocol, a bare ``Unauthorized`` error, ``max_model_len``."""

    owned_by = "vllm"

    def auth_error(self, key: str | None) -> _Reply:
        return _Reply(401, {"error": "Unauthorized"})

    def listing(self, endpoint: _Endpoint, ids: list[str], query: Mapping[str, str], fake: FakeProviders) -> Any:
        body = super().listing(endpoint, ids, query, fake)
        for model in body["data"]:
            model |= {"root": model["id"], "parent": None, "max_model_len": fake.max_model_len}
        return body


class _AnthropicDialect:
    """Anthropic Messages API."""

    def key(self, headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
        return headers.get("x-api-key")

    def request_error(self, query: Mapping[str, str]) -> _Reply | None:
        return None

    def auth_error(self, key: str | None) -> _Reply:
        return _Reply(401, self._error("authentication_error", "invalid x-api-key"))

    def not_found(self, model: str | None) -> _Reply:
        return _Reply(404, self._error("not_found_error", f"model: {model}"))

    def failure(self, kind: _ErrorKind, model: str | None) -> _Reply:
        bodies: Mapping[_ErrorKind, dict[str, Any]] = {
            "rate_limit": self._error(
                "rate_limit_error",
                "This request would exceed the rate limit for your organization of 5 requests per minute. "
                "Please reduce the prompt length or the maximum tokens requested, or try again later.",
            ),
            "server_error": self._error("api_error", "Internal server error"),
            "forbidden": self._error(
                "permission_error", "Your API key does not have permission to use the specified resource."
            ),
        }
        return _Reply(_FAILURE_STATUS[kind], bodies[kind])

    def completion(self, model: str, text: str, usage: _Usage) -> dict[str, Any]:
        return {
            "id": _new_id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": usage.prompt, "output_tokens": usage.completion},
        }

    def stream(self, model: str, pieces: list[str], usage: _Usage, body: Mapping[str, Any]) -> _Stream:
        message = self.completion(model, "", usage) | {
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": usage.prompt, "output_tokens": 1},
        }
        head = [
            _sse({"type": "message_start", "message": message}, "message_start"),
            _sse(
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                "content_block_start",
            ),
            _sse({"type": "ping"}, "ping"),
        ]
        content = [
            _sse(
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}},
                "content_block_delta",
            )
            for piece in pieces
        ]
        tail = [
            _sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
            _sse(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": usage.completion},
                },
                "message_delta",
            ),
            _sse({"type": "message_stop"}, "message_stop"),
        ]
        return _Stream(head, content, tail)

    def listing(self, endpoint: _Endpoint, ids: list[str], query: Mapping[str, str], fake: FakeProviders) -> Any:
        after = query.get("after_id")
        start = ids.index(after) + 1 if after in ids else 0
        size = _page_size(query.get("limit"), 20, fake.page_size)
        if size is None:
            return self._error("invalid_request_error", "limit: Input should be between 1 and 1000")
        page = ids[start : start + size]
        models = [
            {"type": "model", "id": name, "display_name": _display_name(name), "created_at": "2024-10-22T00:00:00Z"}
            for name in page
        ]
        return {
            "data": models,
            "has_more": start + size < len(ids),
            "first_id": page[0] if page else None,
            "last_id": page[-1] if page else None,
        }

    @staticmethod
    def _error(kind: str, message: str) -> dict[str, Any]:
        return {"type": "error", "error": {"type": kind, "message": message}}


class _GeminiDialect:
    """Google AI Studio Gemini API (generateContent / streamGenerateContent)."""

    def key(self, headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
        return headers.get("x-goog-api-key") or query.get("key")

    def request_error(self, query: Mapping[str, str]) -> _Reply | None:
        return None

    def auth_error(self, key: str | None) -> _Reply:
        if not key:
            message = (
                "Method doesn't allow unregistered callers (callers without established identity). "
                "Please use API Key or other form of API consumer identity to call this API."
            )
            return _Reply(403, self._error(403, message, "PERMISSION_DENIED"))
        details = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
            }
        ]
        return _Reply(
            400, self._error(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT", details)
        )

    def not_found(self, model: str | None) -> _Reply:
        message = (
            f"models/{model} is not found for API version v1beta, or is not supported for generateContent. "
            "Call ListModels to see the list of available models and their supported methods."
        )
        return _Reply(404, self._error(404, message, "NOT_FOUND"))

    def failure(self, kind: _ErrorKind, model: str | None) -> _Reply:
        retry = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{RETRY_AFTER_SECONDS}s"}]
        bodies: Mapping[_ErrorKind, dict[str, Any]] = {
            "rate_limit": self._error(
                429, "Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED", retry
            ),
            "server_error": self._error(
                500,
                "An internal error has occurred. Please retry or report in "
                "https://developers.generativeai.google/guide/troubleshooting",
                "INTERNAL",
            ),
            "forbidden": self._error(403, "The caller does not have permission", "PERMISSION_DENIED"),
        }
        return _Reply(_FAILURE_STATUS[kind], bodies[kind])

    def completion(self, model: str, text: str, usage: _Usage) -> dict[str, Any]:
        return self._chunk(model, text, "STOP", self._usage(usage))

    def stream(self, model: str, pieces: list[str], usage: _Usage, body: Mapping[str, Any]) -> _Stream:
        running = {"promptTokenCount": usage.prompt, "totalTokenCount": usage.prompt}
        return _Stream(
            head=[],
            content=[_sse(self._chunk(model, piece, None, running)) for piece in pieces],
            tail=[_sse(self._chunk(model, "", "STOP", self._usage(usage)))],
        )

    def listing(self, endpoint: _Endpoint, ids: list[str], query: Mapping[str, str], fake: FakeProviders) -> Any:
        token = query.get("pageToken", "")
        start = int(token) if token.isdigit() else 0
        size = _page_size(query.get("pageSize"), 50, fake.page_size)
        if size is None:
            return self._error(400, "pageSize must be between 1 and 1000", "INVALID_ARGUMENT")
        page = ids[start : start + size]
        models = [
            {
                "name": f"models/{name}",
                "version": "001",
                "displayName": _display_name(name),
                "description": f"Fake {_display_name(name)}",
                "inputTokenLimit": 1_048_576,
                "outputTokenLimit": 8192,
                "supportedGenerationMethods": list(fake.methods.get(name, GEMINI_CHAT_METHODS)),
                "temperature": 1.0,
                "topP": 0.95,
                "topK": 40,
                "maxTemperature": 2.0,
            }
            for name in page
        ]
        more = start + size < len(ids)
        return {"models": models} | ({"nextPageToken": str(start + size)} if more else {})

    @staticmethod
    def _usage(usage: _Usage) -> dict[str, int]:
        return {
            "promptTokenCount": usage.prompt,
            "candidatesTokenCount": usage.completion,
            "totalTokenCount": usage.total,
        }

    @staticmethod
    def _chunk(model: str, text: str, finish_reason: str | None, usage: dict[str, int]) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
        if finish_reason:
            candidate["finishReason"] = finish_reason
        return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model, "responseId": _new_id("")}

    @staticmethod
    def _error(code: int, message: str, status: str, details: list[dict[str, str]] | None = None) -> dict[str, Any]:
        error: dict[str, Any] = {"code": code, "message": message, "status": status}
        if details:
            error["details"] = details
        return {"error": error}


_Dialect = _OpenAIDialect | _AnthropicDialect | _GeminiDialect
_DIALECTS: Final[Mapping[ProviderId, _Dialect]] = {
    "openai": _OpenAIDialect(),
    "xai": _XAIDialect(),
    "azure": _AzureDialect(),
    "anthropic": _AnthropicDialect(),
    "gemini": _GeminiDialect(),
    "server": _ServerDialect(),
}


def _match_route(method: str, path: str) -> tuple[ProviderId, _Endpoint, str | None] | None:
    for provider, route_method, pattern, endpoint in _ROUTES:
        if method == route_method and (found := pattern.fullmatch(path)):
            return provider, endpoint, found.groupdict().get("model")
    return None


class _Server(LoopbackServer):
    def __init__(self, fake: FakeProviders) -> None:
        super().__init__(_Handler)
        self.fake = fake

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        if self.fake.no_delay:
            # Each SSE frame leaves at once, as streaming servers send them: with Nagle's algorithm the first frame
            # waits for the client to acknowledge the headers, which it delays by up to 40 ms.
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


class _Handler(LoopbackHandler):
    server: _Server

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        body = self._read_json()
        route = _match_route(method, url.path)
        if route is None:
            self.server.fake._record_unrouted(f"{method} {url.path}")
            self._send_json(_Reply(404, {"error": f"the fake serves no {method} {url.path}"}))
            return
        provider, endpoint, path_model = route
        headers = {name.lower(): value for name, value in self.headers.items()}
        query = dict(parse_qsl(url.query))
        request = Recorded(
            provider=provider,
            method=method,
            path=url.path,
            query=query,
            headers=headers,
            body=body,
            key=_DIALECTS[provider].key(headers, query),
            model=path_model or (body.get("model") if isinstance(body, dict) else None),
        )
        self.server.fake._record(request)
        if rejection := self._rejection(request, endpoint):
            self._send_json(rejection)
        else:
            self._serve(request, endpoint)

    def _rejection(self, request: Recorded, endpoint: _Endpoint) -> _Reply | None:
        """The provider's error for a malformed request, a wrong credential or an unknown model."""
        fake = self.server.fake
        dialect = _DIALECTS[request.provider]
        if error := dialect.request_error(request.query):
            return error
        if request.key not in fake.keys.get(request.provider, set()):
            return dialect.auth_error(request.key)
        if endpoint in ("chat", "stream") and request.model not in fake.models.get(request.provider, []):
            return dialect.not_found(request.model)
        if endpoint == "deployments" and not fake.lists_deployments:
            return _Reply(404, {"error": {"code": "404", "message": "Resource not found"}})
        return None

    def _serve(self, request: Recorded, endpoint: _Endpoint) -> None:
        """Answer an accepted request, applying the next injected failure if there is one."""
        fake = self.server.fake
        dialect = _DIALECTS[request.provider]
        failure = fake._take_failure(request.provider)
        cut = failure == "cut_stream"
        if failure == "hang" and fake._stopping.wait(HANG_SECONDS):
            self.close_connection = True
        elif failure == "not_found":
            self._send_json(dialect.not_found(request.model))
        elif failure == "redirect":
            location = fake.url + REDIRECT_PATH + request.path
            self._send_json(_Reply(REDIRECT_STATUS, {"error": "moved"}, {"Location": location}))
        elif failure in ("rate_limit", "server_error", "forbidden"):
            reply = dialect.failure(failure, request.model)
            headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if failure == "rate_limit" else {}
            self._send_json(_Reply(reply.status, reply.body, headers))
        elif endpoint in ("models", "deployments") or request.model is None:
            listing = dialect.listing(endpoint, fake.models.get(request.provider, []), request.query, fake)
            status = 400 if "error" in listing else 200
            self._send_json(_Reply(status, listing), cut=cut)
        else:
            text = fake.reply_text(request.provider, request.model)
            body = request.body if isinstance(request.body, dict) else {}
            usage = _Usage(prompt=_prompt_tokens(body), completion=count_tokens(text))
            if endpoint == "stream" or body.get("stream") is True:
                stream = dialect.stream(request.model, _split(text, fake.chunks), usage, body)
                self._send_stream(stream, cut=cut, paced=fake.paces(request.model))
            else:
                self._send_json(_Reply(200, dialect.completion(request.model, text, usage)), cut=cut)

    def _read_json(self) -> Any:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def _send_json(self, reply: _Reply, cut: bool = False) -> None:
        data = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if cut:
            self.wfile.write(data[: len(data) // 2])
            self._abort()
        else:
            self.wfile.write(data)

    def _send_stream(self, stream: _Stream, cut: bool, paced: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        content = stream.content[: max(1, len(stream.content) // 2)] if cut else stream.content
        for frame in stream.head:
            self._write_chunk(frame)
        for frame in content:
            if paced and self.server.fake._stopping.wait(self.server.fake.pace):
                return
            self._write_chunk(frame)
        if cut:
            self._abort()
            return
        for frame in stream.tail:
            self._write_chunk(frame)
        self.wfile.write(b"0\r\n\r\n")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")

    def _abort(self) -> None:
        """Drop the connection mid-body, as a crashed upstream or proxy would."""
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)


class FakeProviders(LoopbackFake):
    """In-process fake of five LLM provider HTTP APIs and a team server; see the module docstring for routes.

    Configure through the public attributes (``keys``, ``models``, ``reply``,
    ``chunks``, ``pace``, ``paced_models``, ``no_delay``, ``page_size``, ``methods``, ``lists_deployments``,
    ``max_model_len``), inject
    failures with :meth:`fail`, inspect :attr:`requests` (and :attr:`unrouted`).
    """

    thread_name = "fake-providers"

    def __init__(self) -> None:
        super().__init__()
        self.keys: dict[str, set[str]] = {}
        self.models: dict[str, list[str]] = {}
        self.reply: str | None = None
        self.chunks: int = 5
        self.pace: float = 0.0  # seconds before each content frame of a stream (a provider that writes slowly)
        self.paced_models: set[str] | None = None  # the models `pace` applies to; None: every model
        self.no_delay: bool = False  # TCP_NODELAY on each connection (each frame leaves at once)
        self.page_size: int | None = None
        self.methods: dict[str, tuple[str, ...]] = {}
        self.lists_deployments: bool = True
        self.max_model_len: int = 8192  # what the team server lists as each model's context window
        self.requests: list[Recorded] = []
        self.unrouted: list[str] = []  # "METHOD /path" of each request no route serves (a followed redirect)
        self._failures: list[_Failure] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.reset()

    def _make_server(self) -> _Server:
        return _Server(self)

    def _release_waiters(self, stopping: bool) -> None:
        if stopping:
            self._stopping.set()
        else:
            self._stopping.clear()

    def base(self, provider: ProviderId) -> str:
        """Return the ``api_base`` to give litellm for ``provider``."""
        suffixes: Mapping[ProviderId, str] = {
            "openai": "/openai/v1",
            "xai": "/xai/v1",
            "anthropic": "/anthropic",
            "gemini": "/gemini/v1beta",
            "azure": "",
            "server": "/server/v1",
        }
        return self.url + suffixes[provider]

    def paces(self, model: str | None) -> bool:
        """Whether a stream of `model` is sent `pace` seconds per content frame."""
        return self.pace > 0 and (self.paced_models is None or model in self.paced_models)

    def reply_text(self, provider: str, model: str) -> str:
        """Return the assistant text every completion for ``provider``/``model`` carries."""
        return self.reply if self.reply is not None else f"Hello from {provider} {model}."

    def fail(self, provider: ProviderId, kind: FailureKind, times: int | None = 1) -> None:
        """Make the next ``times`` requests to ``provider`` (every one if None) fail as ``kind``.

        Failures apply after the key and model checks pass, to any endpoint of
        the provider, in the order they were added.
        """
        if provider not in PROVIDERS or kind not in FAILURE_KINDS:
            raise ValueError(f"unknown provider or failure kind: {provider!r}, {kind!r}")
        if times is not None and times < 1:
            raise ValueError("times must be a positive int or None")
        with self._lock:
            self._failures.append(_Failure(provider, kind, times))

    def clear_failures(self) -> None:
        """Drop every pending injected failure."""
        with self._lock:
            self._failures.clear()

    def reset(self) -> None:
        """Forget recorded requests and failures; restore default keys, models, reply and chunks."""
        with self._lock:
            self.requests.clear()
            self.unrouted.clear()
            self._failures.clear()
        self.keys = {provider: {key} for provider, key in DEFAULT_KEYS.items()} | {"server": {SERVER_KEY}}
        self.models = {provider: list(models) for provider, models in DEFAULT_MODELS.items()}
        self.reply = None
        self.chunks = 5
        self.pace = 0.0
        self.page_size = None
        self.methods = {}
        self.lists_deployments = True
        self.max_model_len = 8192

    def _record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)

    def _record_unrouted(self, request: str) -> None:
        with self._lock:
            self.unrouted.append(request)

    def _take_failure(self, provider: ProviderId) -> FailureKind | None:
        with self._lock:
            for failure in self._failures:
                if failure.provider == provider:
                    if failure.remaining is not None:
                        failure.remaining -= 1
                        if failure.remaining == 0:
                            self._failures.remove(failure)
                    return failure.kind
        return None
