"""Fake Hugging Face Hub HTTP API on 127.0.0.1, for the real ``huggingface_hub`` client (2.x, httpx2 based).

Point the client at ``hub.url`` per call: ``HfApi(endpoint=hub.url)``, ``hf_hub_download(..., endpoint=hub.url)``
and ``snapshot_download(..., endpoint=hub.url)`` all take an ``endpoint``. The module-level shortcuts
(``huggingface_hub.whoami``, ``auth_check``, ``model_info``) are bound to an ``HfApi()`` built at import time and
only follow ``HF_ENDPOINT``, which huggingface_hub reads once, when first imported.

Routes served (``{repo}`` is ``namespace/name``; ``{rev}`` is ``main`` or the repo's commit sha):

=========  ========================================  ==================================================
method     path                                      what calls it
=========  ========================================  ==================================================
GET        /api/whoami-v2                            ``HfApi.whoami``
GET        /api/models/{repo}/auth-check[/write]     ``HfApi.auth_check``
GET        /api/models/{repo}[/revision/{rev}]       ``model_info``; ``snapshot_download`` first (``main``)
GET        /api/models/{repo}/tree/{rev}[/{path}]    ``list_repo_tree``; ``snapshot_download`` second
HEAD, GET  /{repo}/resolve/{rev}/{filename}          ``hf_hub_download`` (HEAD for metadata, then GET)
HEAD       /api/telemetry/{topic}                    ``send_telemetry`` unless ``HF_HUB_DISABLE_TELEMETRY``
GET        /api/agent-harnesses                      user-agent agent detection, same switch
=========  ========================================  ==================================================

Checks run in the Hub's order: credential (an unknown Bearer token is a 401 on every route), repo, revision,
gate, file. Errors carry the Hub's ``X-Error-Code`` / ``X-Error-Message`` headers and ``{"error": ...}`` body,
from which the client picks its exception: ``RepoNotFound`` (404 with a valid token, 401 without one),
``RevisionNotFound`` (404), ``GatedRepo`` (403 for a user not granted, 401 when anonymous), ``EntryNotFound`` (404).
Metadata (``model_info``, tree) of a gated repo stays public, as on the Hub; only ``auth-check`` and file
downloads are gated. Files with a weights suffix, or over 10 MiB, are LFS files: ETag is their sha256 and
``X-Linked-Etag`` / ``X-Linked-Size`` are set (the real Hub also redirects those to a CDN; the fake serves them
itself). ``Range`` requests get 206 with ``Content-Range``; :meth:`FakeHub.cut_download` drops a download
mid-body so the client's resume path (a ``Range: bytes=N-`` retry) can be tested, and :meth:`FakeHub.throttle`
sends file bodies at a set number of bytes per second (for progress and cancel tests).

Repos after ``reset()``: ``OPEN_REPO`` and ``GATED_REPO`` (config.json and one safetensors file), ``LLAMA_REPO``
(a Llama-style layout: sharded safetensors, index, tokenizer files, and ``original/`` with a ``.pth`` duplicate
and its own tokenizer) and ``GGUF_REPO`` (README and two quantizations, Q4_K_M and Q8_0). File contents are
arbitrary bytes; tests that need a real tiny model add their own repo with :meth:`FakeHub.add_repo`.

:meth:`FakeHub.fail` makes the next requests (after the token check, on any route but telemetry) fail: ``forbidden``
a 403 without an error code, ``rate_limit`` a 429 with ``Retry-After: 2``, ``server_error`` a 500, ``hang`` no answer
for 30 s (or until ``stop()``), ``redirect`` a 307 to ``{url}/elsewhere`` plus the path, ``cut`` half the answer and
then a closed connection.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import struct
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fakes.loopback import LoopbackFake, LoopbackHandler, LoopbackServer

GatedMode = Literal["auto", "manual"] | bool
HubFailure = Literal["forbidden", "rate_limit", "server_error", "hang", "redirect", "cut"]
_RouteName = Literal["whoami", "auth_check", "tree", "info", "resolve", "telemetry", "harnesses"]

DEFAULT_TOKENS: Final[Mapping[str, str]] = {"hf_test_reader_token": "reader", "hf_test_granted_token": "granted"}
OPEN_REPO: Final = "tiny/open-model"
GATED_REPO: Final = "meta-llama/Llama-3-tiny"
LLAMA_REPO: Final = "meta-llama/Llama-layout-tiny"
GGUF_REPO: Final = "tiny/tiny-model-GGUF"
DEFAULT_BRANCH: Final = "main"
LFS_SUFFIXES: Final = (".safetensors", ".bin", ".gguf", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".onnx", ".model")
LFS_MIN_SIZE: Final = 10 * 1024 * 1024
INVALID_TOKEN_MESSAGE: Final = "Invalid credentials in Authorization header"
ANONYMOUS_MESSAGE: Final = "Invalid username or password."
TIMESTAMP: Final = "2024-04-18T12:00:00.000Z"
HUB_FAILURES: Final[tuple[HubFailure, ...]] = ("forbidden", "rate_limit", "server_error", "hang", "redirect", "cut")
HANG_SECONDS: Final = 30.0
RETRY_AFTER_SECONDS: Final = 2
REDIRECT_STATUS: Final = 307
THROTTLE_TICKS: Final = 20  # chunks per second of a throttled body

_REPO: Final = r"(?P<repo>[^/]+(?:/[^/]+)?)"
_ROUTES: Final[tuple[tuple[_RouteName, frozenset[str], re.Pattern[str]], ...]] = tuple(
    (name, frozenset(methods), re.compile(pattern))
    for name, methods, pattern in (
        ("whoami", {"GET"}, r"/api/whoami-v2"),
        ("telemetry", {"HEAD", "GET"}, r"/api/telemetry/.*"),
        ("harnesses", {"GET"}, r"/api/agent-harnesses"),
        ("auth_check", {"GET"}, rf"/api/models/{_REPO}/auth-check(?P<write>/write)?"),
        ("tree", {"GET"}, rf"/api/models/{_REPO}/tree/(?P<rev>[^/]+)(?:/(?P<subpath>.+))?"),
        ("info", {"GET"}, rf"/api/models/{_REPO}(?:/revision/(?P<rev>[^/]+))?"),
        ("resolve", {"HEAD", "GET"}, rf"/(?!api/){_REPO}/resolve/(?P<rev>[^/]+)/(?P<filename>.+)"),
    )
)


def _git_sha1(data: bytes) -> str:
    """Git's blob id: sha1 over ``blob <size>\\0`` and the content."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data, usedforsecurity=False).hexdigest()


def _lfs_pointer(sha256: str, size: int) -> bytes:
    """The git-lfs pointer file git stores in place of an LFS file."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def _object_id(text: str) -> str:
    """A stable 24-hex Mongo-style ``_id``."""
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()[:24]


def _bearer(headers: Mapping[str, str]) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def tiny_safetensors() -> bytes:
    """A valid, tiny safetensors file: one 2x2 float32 tensor."""
    header = json.dumps({"weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + struct.pack("<4f", 0.5, -1.0, 2.0, 0.25)


def _config(model_type: str) -> bytes:
    return json.dumps({"architectures": ["TinyForCausalLM"], "model_type": model_type, "hidden_size": 2}).encode()


def _llama_layout() -> dict[str, bytes]:
    """A Llama repo's file list in miniature: what transformers loads, and ``original/`` it must not download."""
    index = {"metadata": {"total_size": 32}, "weight_map": {"a": "model-00001-of-00002.safetensors"}}
    return {
        "config.json": _config("llama"),
        "generation_config.json": b'{"bos_token_id": 1}',
        "model-00001-of-00002.safetensors": tiny_safetensors(),
        "model-00002-of-00002.safetensors": tiny_safetensors(),
        "model.safetensors.index.json": json.dumps(index).encode(),
        "tokenizer.json": b'{"version": "1.0"}',
        "tokenizer_config.json": b'{"chat_template": "{{ messages }}"}',
        "special_tokens_map.json": b"{}",
        "original/consolidated.00.pth": bytes(20000),
        "original/params.json": b'{"dim": 2}',
        "original/tokenizer.model": bytes(500),
        "LICENSE": b"LLAMA 3 COMMUNITY LICENSE\n",
        "README.md": b"# Llama layout tiny\n",
    }


@dataclass(frozen=True)
class HubFile:
    """One file of a repo, with the ids the Hub derives from it."""

    path: str
    data: bytes
    lfs: bool
    sha256: str
    blob_id: str

    @classmethod
    def of(cls, path: str, data: bytes) -> HubFile:
        lfs = path.endswith(LFS_SUFFIXES) or len(data) >= LFS_MIN_SIZE
        sha256 = hashlib.sha256(data).hexdigest()
        return cls(path, data, lfs, sha256, _git_sha1(_lfs_pointer(sha256, len(data)) if lfs else data))

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def etag(self) -> str:
        """What ``/resolve`` reports as the file's ETag: sha256 for LFS files, the git blob id otherwise."""
        return self.sha256 if self.lfs else self.blob_id

    @property
    def pointer_size(self) -> int:
        return len(_lfs_pointer(self.sha256, self.size))


@dataclass(frozen=True)
class HubRepo:
    """A model repo with a single commit on ``main``."""

    repo_id: str
    files: Mapping[str, HubFile]
    gated: Literal["auto", "manual", False]
    granted: frozenset[str]
    sha: str

    def commit(self, revision: str) -> str | None:
        """The commit ``revision`` names (``main`` or the sha itself), or None."""
        return self.sha if revision in (DEFAULT_BRANCH, self.sha) else None

    def readable_by(self, user: str | None) -> bool:
        return not self.gated or user in self.granted


@dataclass(frozen=True)
class Recorded:
    """One request the fake received, as the Hub would have seen it, and the status it got (0: none, it hung)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    token: str | None
    repo_id: str | None
    status: int


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    cut_after: int | None = None
    hang: bool = False
    rate: int | None = None  # bytes per second for the body, when throttled


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> _Reply:
    return _Reply(
        status, json.dumps(body).encode(), {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    )


def _error(status: int, message: str, code: str | None = None, headers: Mapping[str, str] | None = None) -> _Reply:
    """The Hub's error shape: ``X-Error-Code`` (when it has one), ``X-Error-Message`` and ``{"error": ...}``."""
    extra = {"X-Error-Message": message} | ({"X-Error-Code": code} if code else {}) | dict(headers or {})
    return _json(status, {"error": message}, extra)


def _parse_range(header: str | None, size: int) -> tuple[int, int] | Literal["unsatisfiable"] | None:
    """``(start, end)`` inclusive for one ``bytes=`` range, None to ignore the header."""
    found = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header or "")
    if not found or found[1] == found[2] == "":
        return None
    if found[1] == "":
        start, end = max(0, size - int(found[2])), size - 1
    else:
        start, end = int(found[1]), min(int(found[2]), size - 1) if found[2] else size - 1
    return (start, end) if start <= end and start < size else "unsatisfiable"


class _Server(LoopbackServer):
    def __init__(self, hub: FakeHub) -> None:
        super().__init__(_Handler)
        self.hub = hub


class _Handler(LoopbackHandler):
    server: _Server

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        query = parse_qs(url.query, keep_blank_values=True)
        hub = self.server.hub
        route = hub._route(method, url.path)
        repo_id = unquote(route[1]["repo"]) if route and route[1].get("repo") else None
        reply = hub._inject(
            route, _bearer(headers), url.path, hub._answer(method, route, _bearer(headers), query, headers)
        )
        reply = replace(reply, headers={"X-Request-Id": f"Root=1-{uuid.uuid4().hex}"} | reply.headers)
        hub._record(
            Recorded(
                method=method,
                path=url.path,
                query={name: values[-1] for name, values in query.items()},
                headers=headers,
                token=_bearer(headers),
                repo_id=repo_id,
                status=reply.status,
            )
        )
        if reply.hang:
            self._hang()
        else:
            self._send(method, reply)

    def _send(self, method: str, reply: _Reply) -> None:
        self.send_response(reply.status)
        headers = {"Content-Length": str(len(reply.body))} | reply.headers
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if method == "HEAD":
            return
        self._write(reply.body if reply.cut_after is None else reply.body[: reply.cut_after], reply.rate)
        if reply.cut_after is not None:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

    def _write(self, body: bytes, rate: int | None) -> None:
        """The body, at `rate` bytes per second in small chunks when throttled (stopping when the fake stops)."""
        if not rate:
            self.wfile.write(body)
            return
        chunk = max(1, rate // THROTTLE_TICKS)
        for start in range(0, len(body), chunk):
            if self.server.hub._stopping.is_set():
                break
            self.wfile.write(body[start : start + chunk])
            self.wfile.flush()
            time.sleep(len(body[start : start + chunk]) / rate)

    def _hang(self) -> None:
        """Answer nothing until the fake stops (or `HANG_SECONDS` pass), then hang up."""
        self.server.hub._stopping.wait(HANG_SECONDS)
        self.close_connection = True


class FakeHub(LoopbackFake):
    """In-process fake of the Hugging Face Hub API; see the module docstring for routes and errors.

    Configure through ``tokens`` (token -> user name) and :meth:`add_repo`; inspect :attr:`requests`.
    """

    thread_name = "fake-hub"

    def __init__(self) -> None:
        super().__init__()
        self.tokens: dict[str, str] = {}
        self.repos: dict[str, HubRepo] = {}
        self.requests: list[Recorded] = []
        self._cuts: list[int | None] = []
        self._failures: list[HubFailure] = []
        self._rate: int | None = None
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

    def fail(self, kind: HubFailure, times: int = 1) -> None:
        """Make the next ``times`` requests that pass the token check fail as ``kind`` (see the module docstring)."""
        if kind not in HUB_FAILURES or times < 1:
            raise ValueError(f"unknown failure {kind!r}, or times not positive")
        with self._lock:
            self._failures.extend([kind] * times)

    def add_repo(
        self, repo_id: str, files: Mapping[str, bytes], gated: GatedMode = False, granted: frozenset[str] = frozenset()
    ) -> HubRepo:
        """Add (or replace) a model repo; a gated one is readable only by the user names in ``granted``."""
        if gated not in (False, True, "auto", "manual"):
            raise ValueError(f"gated must be False, True, 'auto' or 'manual', not {gated!r}")
        hub_files = {path: HubFile.of(path, data) for path, data in sorted(files.items())}
        digest = hashlib.sha1(repo_id.encode(), usedforsecurity=False)
        for hub_file in hub_files.values():
            digest.update(f"\n{hub_file.path}\x00{hub_file.blob_id}".encode())
        mode: Literal["auto", "manual", False] = "auto" if gated is True else gated
        repo = HubRepo(repo_id, hub_files, mode, frozenset(granted), digest.hexdigest())
        self.repos[repo_id] = repo
        return repo

    def cut_download(self, after_bytes: int | None = None, times: int = 1) -> None:
        """Make the next ``times`` file GETs send ``after_bytes`` of the body (default half) and then hang up."""
        if times < 1 or (after_bytes is not None and after_bytes < 0):
            raise ValueError("times must be positive and after_bytes non-negative")
        with self._lock:
            self._cuts.extend([after_bytes] * times)

    def throttle(self, bytes_per_second: int | None) -> None:
        """Send file bodies (GET ``/resolve``) at this many bytes per second; None for full speed."""
        if bytes_per_second is not None and bytes_per_second < 1:
            raise ValueError("bytes_per_second must be positive, or None")
        self._rate = bytes_per_second

    def reset(self) -> None:
        """Forget requests, pending cuts, failures and the throttle; restore the default tokens and repos."""
        with self._lock:
            self.requests.clear()
            self._cuts.clear()
            self._failures.clear()
        self._rate = None
        self.tokens = dict(DEFAULT_TOKENS)
        self.repos = {}
        self.add_repo(OPEN_REPO, {"config.json": _config("tiny"), "model.safetensors": tiny_safetensors()})
        self.add_repo(
            GATED_REPO,
            {
                "config.json": _config("llama"),
                "model.safetensors": tiny_safetensors(),
                "README.md": b"# Llama 3 tiny\n",
            },
            gated="manual",
            granted=frozenset({"granted"}),
        )
        self.add_repo(LLAMA_REPO, _llama_layout(), gated="manual", granted=frozenset({"granted"}))
        self.add_repo(
            GGUF_REPO,
            {
                "README.md": b"# tiny GGUF\n",
                "tiny-model-Q4_K_M.gguf": b"GGUF" + bytes(4096),
                "tiny-model-Q8_0.gguf": b"GGUF" + bytes(8192),
            },
        )

    def _record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)

    def _take_failure(self) -> HubFailure | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def _inject(
        self, route: tuple[_RouteName, dict[str, str]] | None, token: str | None, path: str, reply: _Reply
    ) -> _Reply:
        """The next injected failure in place of ``reply``, for a request that passed the token check."""
        if route is None or route[0] in ("telemetry", "harnesses") or (token and token not in self.tokens):
            return reply
        kind = self._take_failure()
        if kind is None:
            return reply
        if kind == "cut":
            return _Reply(reply.status, reply.body, reply.headers, len(reply.body) // 2)
        replies: dict[HubFailure, _Reply] = {
            "forbidden": _error(403, "You don't have permission to access this resource."),
            "rate_limit": _error(
                429, "You have exceeded our hourly quotas.", headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
            ),
            "server_error": _error(500, "Internal Error - We're working hard to fix this as soon as possible!"),
            "hang": _Reply(0, hang=True),
            "redirect": _Reply(REDIRECT_STATUS, headers={"Location": f"{self.url}/elsewhere{path}"}),
        }
        return replies[kind]

    def _take_cut(self) -> tuple[bool, int | None]:
        with self._lock:
            return (True, self._cuts.pop(0)) if self._cuts else (False, None)

    @staticmethod
    def _route(method: str, path: str) -> tuple[_RouteName, dict[str, str]] | None:
        for name, methods, pattern in _ROUTES:
            if method in methods and (found := pattern.fullmatch(path)):
                return name, {key: value for key, value in found.groupdict().items() if value is not None}
        return None

    def _answer(
        self,
        method: str,
        route: tuple[_RouteName, dict[str, str]] | None,
        token: str | None,
        query: Mapping[str, list[str]],
        headers: Mapping[str, str],
    ) -> _Reply:
        """The Hub's reply, checking credential, repo, revision, gate and file in that order."""
        if route is None:
            return _error(404, "Sorry, we can't find the page you are looking for.")
        name, params = route
        if name == "telemetry":
            return _Reply(200)
        if name == "harnesses":
            return _json(200, {"standardEnvVars": [], "harnesses": {}})
        user = self.tokens.get(token) if token else None
        if token and user is None:
            return _error(401, INVALID_TOKEN_MESSAGE)
        if name == "whoami":
            return _json(200, self._whoami(token, user)) if token and user else _error(401, ANONYMOUS_MESSAGE)
        repo_id = unquote(params["repo"])
        repo = self.repos.get(repo_id)
        if repo is None:
            if user is None:
                return _error(401, ANONYMOUS_MESSAGE, "RepoNotFound")
            return _error(404, "Repository not found", "RepoNotFound")
        revision = unquote(params.get("rev", DEFAULT_BRANCH))
        commit = repo.commit(revision)
        if commit is None:
            return _error(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        if name in ("auth_check", "resolve") and not repo.readable_by(user):
            if user is None:
                message = (
                    f"Access to model {repo_id} is restricted. You must have access to it and be authenticated "
                    "to access it. Please log in."
                )
                return _error(401, message, "GatedRepo")
            message = (
                f"Access to model {repo_id} is restricted and you are not in the authorized list. "
                f"Visit {self.url}/{repo_id} to ask for access."
            )
            return _error(403, message, "GatedRepo")
        if name == "auth_check":
            if params.get("write"):
                return _error(403, f"You don't have write access to {repo_id}: your token has the read role.")
            return _json(200, {})
        if name == "info":
            expand = [item for value in query.get("expand", []) for item in value.split(",") if item]
            blobs = query.get("blobs", ["false"])[-1].lower() in ("1", "true")
            return _json(200, self._model_info(repo, blobs, expand))
        if name == "tree":
            recursive = query.get("recursive", ["false"])[-1].lower() in ("1", "true")
            entries = self._tree(repo, unquote(params.get("subpath", "")), recursive)
            if entries is None:
                return _error(404, f"{params.get('subpath')} does not exist on {revision!r}", "EntryNotFound")
            return _json(200, entries)
        return self._file(method, repo, unquote(params["filename"]), headers)

    def _whoami(self, token: str, user: str) -> dict[str, Any]:
        return {
            "type": "user",
            "id": _object_id(f"user:{user}"),
            "name": user,
            "fullname": user.replace("-", " ").title(),
            "email": f"{user}@example.com",
            "emailVerified": True,
            "canPay": False,
            "periodEnd": None,
            "isPro": False,
            "avatarUrl": f"/avatars/{_object_id(user)}.svg",
            "orgs": [],
            "auth": {
                "type": "access_token",
                "accessToken": {"displayName": f"{user}-read", "role": "read", "createdAt": TIMESTAMP},
            },
        }

    @staticmethod
    def _model_info(repo: HubRepo, blobs: bool, expand: list[str]) -> dict[str, Any]:
        siblings: list[dict[str, Any]] = []
        for hub_file in repo.files.values():
            sibling: dict[str, Any] = {"rfilename": hub_file.path}
            if blobs:
                sibling |= {"size": hub_file.size, "blobId": hub_file.blob_id}
                if hub_file.lfs:
                    lfs = {"size": hub_file.size, "sha256": hub_file.sha256, "pointerSize": hub_file.pointer_size}
                    sibling["lfs"] = lfs
            siblings.append(sibling)
        namespace = repo.repo_id.split("/")[0] if "/" in repo.repo_id else None
        info: dict[str, Any] = {
            "_id": _object_id(repo.repo_id),
            "id": repo.repo_id,
            "modelId": repo.repo_id,
            "author": namespace,
            "sha": repo.sha,
            "lastModified": TIMESTAMP,
            "createdAt": TIMESTAMP,
            "private": False,
            "disabled": False,
            "gated": repo.gated,
            "downloads": 0,
            "likes": 0,
            "library_name": "transformers",
            "pipeline_tag": "text-generation",
            "tags": ["transformers", "safetensors", "text-generation"],
            "siblings": siblings,
            "spaces": [],
            "usedStorage": sum(hub_file.size for hub_file in repo.files.values()),
        }
        if expand:
            return {"_id": info["_id"], "id": info["id"]} | {key: info[key] for key in expand if key in info}
        return info

    @staticmethod
    def _tree(repo: HubRepo, subpath: str, recursive: bool) -> list[dict[str, Any]] | None:
        """The ``/tree`` listing of folder ``subpath`` (root if empty), or None if there is no such folder."""
        prefix = subpath.strip("/") + "/" if subpath.strip("/") else ""
        entries: dict[str, dict[str, Any]] = {}
        for hub_file in repo.files.values():
            if not hub_file.path.startswith(prefix):
                continue
            parts = hub_file.path[len(prefix) :].split("/")
            for depth in range(1, len(parts) if recursive else min(2, len(parts))):
                folder = prefix + "/".join(parts[:depth])
                entries.setdefault(
                    folder, {"type": "directory", "oid": _git_sha1(folder.encode()), "size": 0, "path": folder}
                )
            if recursive or len(parts) == 1:
                entry: dict[str, Any] = {"type": "file", "oid": hub_file.blob_id, "size": hub_file.size}
                if hub_file.lfs:
                    entry["lfs"] = {"oid": hub_file.sha256, "size": hub_file.size, "pointerSize": hub_file.pointer_size}
                entries[hub_file.path] = entry | {"path": hub_file.path}
        return list(entries.values()) if entries or not prefix else None

    def _file(self, method: str, repo: HubRepo, filename: str, headers: Mapping[str, str]) -> _Reply:
        """``/resolve``: the file (whole or one Range), or EntryNotFound; HEAD gets the same headers."""
        hub_file = repo.files.get(filename)
        if hub_file is None:
            return _error(404, "Entry not found", "EntryNotFound", {"X-Repo-Commit": repo.sha})
        base = filename.rsplit("/", 1)[-1]
        reply_headers = {
            "Content-Type": "application/octet-stream" if hub_file.lfs else "text/plain; charset=utf-8",
            "Content-Disposition": f"inline; filename*=UTF-8''{base}; filename=\"{base}\";",
            "Accept-Ranges": "bytes",
            "ETag": f'"{hub_file.etag}"',
            "X-Repo-Commit": repo.sha,
            "Vary": "Origin, Accept-Encoding",
            "Access-Control-Expose-Headers": "X-Repo-Commit,X-Request-Id,X-Error-Code,X-Error-Message,ETag,"
            "Link,Accept-Ranges,Content-Range,X-Linked-Size,X-Linked-ETag",
        }
        if hub_file.lfs:
            reply_headers |= {"X-Linked-Etag": f'"{hub_file.sha256}"', "X-Linked-Size": str(hub_file.size)}
        status, body = 200, hub_file.data
        wanted = _parse_range(headers.get("range"), hub_file.size) if method == "GET" else None
        if wanted == "unsatisfiable":
            return _Reply(416, b"", reply_headers | {"Content-Range": f"bytes */{hub_file.size}"})
        if wanted is not None:
            start, end = wanted
            status, body = 206, hub_file.data[start : end + 1]
            reply_headers["Content-Range"] = f"bytes {start}-{end}/{hub_file.size}"
        cut, after = self._take_cut() if method == "GET" and body else (False, None)
        cut_after = min(len(body) // 2 if after is None else after, len(body) - 1) if cut else None
        return _Reply(status, body, reply_headers, cut_after, rate=self._rate if method == "GET" else None)
