"""A streamed reply as server-sent events: `data: {chunk}` lines, a usage chunk when asked, then `data: [DONE]`;
a provider failing after some text sends `data: {"error": {...}}` after the partial chunks, then ends.

The reply is read on a thread of its own, start to end: a provider call marks its key as in use for log
redaction in a context variable, which must be set and reset on one thread (the event loop's worker threads would
each bring their own context).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

from api.errors import error_body
from core.chat.stream import ReplyStream


class ReplyPump:
    """Reads `reply` on a daemon thread from the moment it is made; `next()` gives its text pieces, then None."""

    def __init__(self, reply: ReplyStream) -> None:
        self.reply = reply
        self._loop = asyncio.get_running_loop()
        self._pieces: asyncio.Queue[str | None] = asyncio.Queue()
        threading.Thread(target=self._run, name="api-reply", daemon=True).start()

    def _hand_over(self, piece: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the server stopped meanwhile: nobody is waiting
            self._loop.call_soon_threadsafe(self._pieces.put_nowait, piece)

    def _run(self) -> None:
        try:
            for piece in self.reply:
                self._hand_over(piece)
        finally:
            self._hand_over(None)

    async def next(self) -> str | None:
        return await self._pieces.get()


def event(data: Any) -> bytes:
    return f"data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


DONE = b"data: [DONE]\n\n"


class ChunkMaker:
    """The `chat.completion.chunk` objects of one streamed completion (one id, one creation time)."""

    def __init__(self, completion_id: str, created: int, model: str) -> None:
        self._head = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model}

    def delta(self, delta: dict[str, str], finish_reason: str | None = None) -> dict[str, Any]:
        return {**self._head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}

    def usage(self, usage: dict[str, int]) -> dict[str, Any]:
        return {**self._head, "choices": [], "usage": usage}


async def sse_events(
    pump: ReplyPump, first: str | None, chunks: ChunkMaker, include_usage: bool
) -> AsyncIterator[bytes]:
    """The events of a reply whose first piece (`first`, None when it ended at once) was already taken."""
    reply = pump.reply
    try:
        yield event(chunks.delta({"role": "assistant", "content": ""}))
        piece = first
        while piece is not None:
            yield event(chunks.delta({"content": piece}))
            piece = await pump.next()
        if reply.error is not None:
            yield event(error_body(reply.error))
            return
        yield event(chunks.delta({}, reply.finish_reason or "stop"))
        if include_usage and (usage := usage_of(reply)) is not None:
            yield event(chunks.usage(usage))
        yield DONE
    finally:
        reply.stop()  # the client went away (or the reply ended, when this does nothing): the provider call ends


def usage_of(reply: ReplyStream) -> dict[str, int] | None:
    if reply.prompt_tokens is None or reply.completion_tokens is None:
        return None
    total = reply.prompt_tokens + reply.completion_tokens
    return {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens, "total_tokens": total}
