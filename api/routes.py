"""`GET /v1/models` and `POST /v1/chat/completions`, in OpenAI's shapes, for the caller the token names."""

from __future__ import annotations

import secrets
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse

from api.auth import Caller, services_of
from api.errors import error_response
from api.schemas import ChatCompletionRequest, parse_request, read_body
from api.streaming import ChunkMaker, ReplyPump, sse_events
from core.accounts.tokens import TokenUser
from core.chat.completion import Completion
from core.models.choice import ModelChoice, ProviderSection
from core.services import Services

router = APIRouter(prefix="/v1")
STREAM_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}  # no proxy holds the events back


def completion_id() -> str:
    return f"chatcmpl-{secrets.token_hex(12)}"


def model_entry(section: ProviderSection, model: ModelChoice) -> dict[str, Any]:
    """A model as OpenAI lists one; `created` is when the key that unlocks it was saved (0 for keyless ones)."""
    saved = section.credential.saved_at if section.credential is not None else None
    created = int(saved.timestamp()) if saved is not None else 0
    return {"id": model.ref, "object": "model", "created": created, "owned_by": model.provider}


@router.get("/models")
def list_models(request: Request, user: Caller) -> dict[str, Any]:
    """The caller's models, as the Models page shows them: the ones their keys are offered first."""
    sections = services_of(request).catalog.load(user.user_id)
    entries = [(model.offered, model_entry(s, model)) for s in sections for model in s.models]
    seen: set[str] = set()
    data = []
    for _, entry in sorted(entries, key=lambda item: not item[0]):  # stable: the catalog's order otherwise
        if entry["id"] not in seen:
            seen.add(entry["id"])
            data.append(entry)
    return {"object": "list", "data": data}


def completion_body(completion: Completion) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": completion.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": completion.text},
                "finish_reason": completion.finish_reason or "stop",
            }
        ],
    }
    if completion.prompt_tokens is not None and completion.completion_tokens is not None:
        body["usage"] = {
            "prompt_tokens": completion.prompt_tokens,
            "completion_tokens": completion.completion_tokens,
            "total_tokens": completion.prompt_tokens + completion.completion_tokens,
        }
    return body


@router.post("/chat/completions")
async def chat_completions(request: Request, user: Caller) -> Response:
    """A reply from the caller's own key for the model, in one piece or (`stream`) as server-sent events."""
    asked = parse_request(await read_body(request.stream()))
    services = services_of(request)
    if asked.stream:
        return await _stream(services, user, asked)
    completion = await run_in_threadpool(
        services.chat.complete, user.user_id, asked.model, asked.messages_for_core(), asked.params()
    )
    return JSONResponse(completion_body(completion))


async def _stream(services: Services, user: TokenUser, asked: ChatCompletionRequest) -> Response:
    """Events once the first text arrived; a reply that fails before any text is a plain error response, with the
    status its failure has (nothing was sent yet)."""
    reply = services.chat.stream(user.user_id, asked.model, asked.messages_for_core(), asked.params())
    pump = ReplyPump(reply)
    first = await pump.next()
    if first is None and reply.error is not None:
        return error_response(reply.error)
    chunks = ChunkMaker(completion_id(), int(time.time()), reply.model_ref)
    events = sse_events(pump, first, chunks, asked.include_usage)
    return StreamingResponse(events, media_type="text/event-stream", headers=STREAM_HEADERS)
