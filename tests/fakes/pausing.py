"""OpenAI's streaming chat API, paused mid-reply until the test releases it: a reply still streaming when the user
stops it, leaves or sends again."""

from __future__ import annotations

import json
import threading
from typing import Any

from tests.fakes.loopback import LoopbackFake, LoopbackHandler, LoopbackServer
from tests.fakes.providers import DEFAULT_KEYS

STORY = ["Once ", "upon ", "a time ", "there ", "was ", "a fake."]


class _PausingServer(LoopbackServer):
    def __init__(self, fake: PausingOpenAI) -> None:
        super().__init__(_PausingHandler)
        self.fake = fake


class _PausingHandler(LoopbackHandler):
    server: _PausingServer

    def _send_json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> None:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        event = {"id": "chatcmpl-paused", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o-mini"}
        data = f"data: {json.dumps(event | {'choices': [choice]})}\n\n".encode()
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def do_GET(self) -> None:
        self._send_json(200, {"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model", "created": 0}]})

    def do_POST(self) -> None:
        fake = self.server.fake
        fake.requests.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}"))
        if self.headers.get("Authorization") != f"Bearer {fake.key}":
            self._send_json(401, {"error": {"message": "Incorrect API key provided.", "code": "invalid_api_key"}})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._send_chunk({"role": "assistant", "content": ""})
        for piece in fake.pieces[: fake.before]:
            self._send_chunk({"content": piece})
        fake.released.wait(30)
        for piece in fake.pieces[fake.before :]:
            self._send_chunk({"content": piece})
        self._send_chunk({}, "stop")
        self.wfile.write(b"6\r\ndata: \r\n0\r\n\r\n")


class PausingOpenAI(LoopbackFake):
    """OpenAI's streaming chat API that sends the first `before` pieces of its reply, then waits for `release()`:
    a reply that is still streaming when the user stops it."""

    thread_name = "pausing-openai"

    def __init__(self, pieces: list[str], before: int, key: str = DEFAULT_KEYS["openai"]) -> None:
        super().__init__()
        self.pieces, self.before, self.key = pieces, before, key
        self.requests: list[Any] = []
        self.released = threading.Event()

    def _make_server(self) -> LoopbackServer:
        return _PausingServer(self)

    def _release_waiters(self, stopping: bool) -> None:
        if stopping:
            self.released.set()

    def release(self) -> None:
        self.released.set()

    @property
    def sent_before_pause(self) -> str:
        return "".join(self.pieces[: self.before])

    @property
    def base(self) -> str:
        return self.url + "/v1"


STORY = ["Once ", "upon ", "a time ", "there ", "was ", "a fake."]
