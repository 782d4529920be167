"""What a chat completion request may hold: OpenAI's fields, checked strictly (a string where a number belongs is
refused, not converted), read from a body of bounded size.

A field OpenAI knows but this server does not do (tools, response formats, sampling knobs) is refused by name
rather than silently dropped, unless it is sent with OpenAI's default value (some clients always send `n: 1`); a
field OpenAI does not know either is refused with OpenAI's own wording.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from api.errors import ApiError, validation_error
from core.chat.completion import CompletionParams

MAX_BODY_BYTES: Final = 4 * 1024 * 1024  # a long conversation is well under this (1M tokens is about 4 MB)
# A body over the limit is still read (and dropped) up to this much, so the client gets its answer rather than a
# connection reset in the middle of its upload.
DRAIN_BYTES: Final = 16 * MAX_BODY_BYTES

# OpenAI's own parameters this server does not support, with the value that means "not used" where there is one.
UNSUPPORTED: Final[Mapping[str, object]] = {
    "n": 1,
    "top_p": 1,
    "presence_penalty": 0,
    "frequency_penalty": 0,
    "logprobs": False,
    "parallel_tool_calls": None,
    "tools": None,
    "tool_choice": None,
    "functions": None,
    "function_call": None,
    "response_format": None,
    "top_logprobs": None,
    "logit_bias": None,
    "stop": None,
    "seed": None,
    "audio": None,
    "modalities": None,
    "prediction": None,
    "reasoning_effort": None,
    "service_tier": None,
    "store": False,
    "metadata": None,
    "web_search_options": None,
}
ROLE_ALIASES: Final = {"developer": "system"}  # OpenAI's newer name for the system message


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TextPart(Strict):
    type: Literal["text"]
    text: str


class ChatMessage(Strict):
    role: str
    content: str | list[TextPart] | None = None
    name: str | None = None

    def for_core(self) -> dict[str, Any]:
        """The message as core's completion takes it: its role and its text (text parts joined)."""
        content = self.content
        if isinstance(content, list):
            content = "".join(part.text for part in content)
        return {"role": ROLE_ALIASES.get(self.role, self.role), "content": content}


class StreamOptions(Strict):
    include_usage: bool = False


class ChatCompletionRequest(Strict):
    model: str = Field(min_length=1)
    messages: list[ChatMessage]
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    user: str | None = None  # OpenAI's end-user tag for abuse tracking; accepted, not used

    @model_validator(mode="before")
    @classmethod
    def _refuse_unsupported(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, unused in UNSUPPORTED.items():
                if name in data and data[name] is not None and data[name] != unused:
                    raise ApiError("invalid_input", f"This server does not support '{name}'.", name)
            return {name: value for name, value in data.items() if name not in UNSUPPORTED}
        return data

    def params(self) -> CompletionParams:
        limit = self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens
        if limit is None:
            return CompletionParams(temperature=self.temperature)
        return CompletionParams(temperature=self.temperature, max_tokens=limit)

    def messages_for_core(self) -> list[dict[str, Any]]:
        return [message.for_core() for message in self.messages]

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage


async def read_body(chunks: AsyncIterator[bytes]) -> bytes:
    """The request body, at most MAX_BODY_BYTES; ApiError (400) for a bigger one."""
    kept, size = bytearray(), 0
    async for chunk in chunks:
        size += len(chunk)
        if size > DRAIN_BYTES:
            break
        if size <= MAX_BODY_BYTES:
            kept += chunk
    if size > MAX_BODY_BYTES:
        raise ApiError("invalid_input", f"The request body is over {MAX_BODY_BYTES // (1024 * 1024)} MiB.")
    return bytes(kept)


def parse_request(body: bytes) -> ChatCompletionRequest:
    """A chat completion request from its JSON body; ApiError (400, OpenAI's wording) for anything else."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("invalid_input", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError("invalid_input", "The request body must be a JSON object.")
    try:
        return ChatCompletionRequest.model_validate(data)
    except ValidationError as error:
        raise validation_error(list(error.errors())) from None
