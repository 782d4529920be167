"""The Streamlit front end's own HTTP parts: the sign-in cookie, security headers, same-origin websockets, warm-up.

Streamlit's script runs talk to the browser over a websocket, which cannot set a cookie; so the sign-in cookie is
set here, by the server, HttpOnly: a signed-in page asks `/auth/session` to trade its one-time hand-off code for
it, and sign-out asks `/auth/sign-out` to end it. Every response says the app may not be framed, and a websocket
from another origin (another port of the same host included) is refused before Streamlit sees it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ui.state import app_services

log = logging.getLogger(__name__)

COOKIE_NAME = "chat_dashboard_session"
# The JWT cookie of versions that signed in through streamlit-authenticator: never accepted, always cleared.
LEGACY_COOKIES = ("chat_dashboard_auth",)
SESSION_PATH = "/auth/session"
SIGN_OUT_PATH = "/auth/sign-out"
# Sent by the page's own scripts; a form or link on another site cannot add a header (a CSRF check).
REQUEST_HEADER = "x-chat-dashboard"
MAX_BODY_BYTES = 1024
SECURITY_HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
# Paths that never serve the app's page (assets, Streamlit's own API, these routes).
NOT_PAGES = ("/_stcore/", "/static/", "/media/", "/component/", "/auth/", "/favicon")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.encode()
    for key, value in scope.get("headers", ()):
        if key.lower() == wanted:
            return value.decode("latin-1")
    return None


def same_origin(scope: Scope) -> bool:
    """The request's Origin (when the browser sent one) is this server itself: scheme-less host and port equal."""
    origin, host = _header(scope, "origin"), _header(scope, "host")
    if origin is None:
        return True
    return bool(host) and urlsplit(origin).netloc.lower() == host.lower()


def _cookies(scope: Scope) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(_header(scope, "cookie") or "")
    except Exception:  # a malformed Cookie header is no cookie
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def _secure(scope: Scope) -> bool:
    """The browser reached us over https (directly, or through a proxy that says so)."""
    origin = _header(scope, "origin") or ""
    forwarded = (_header(scope, "x-forwarded-proto") or "").lower()
    return scope.get("scheme") == "https" or origin.startswith("https://") or forwarded == "https"


def _cookie_header(name: str, value: str, expires: datetime | None, secure: bool) -> bytes:
    """A Set-Cookie value: HttpOnly, SameSite=Strict, Secure on https; no expiry clears it."""
    if expires is None:
        lifetime = "Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    else:
        lifetime = "Expires=" + expires.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    return f"{name}={value}; Path=/; {lifetime}; HttpOnly; SameSite=Strict{'; Secure' if secure else ''}".encode()


def _clear_headers(names: tuple[str, ...], secure: bool) -> list[tuple[bytes, bytes]]:
    return [(b"set-cookie", _cookie_header(name, "", None, secure)) for name in names]


def _is_page_load(scope: Scope) -> bool:
    path = scope.get("path", "")
    accept = _header(scope, "accept") or ""
    return scope.get("method") == "GET" and "text/html" in accept and not any(part in path for part in NOT_PAGES)


def _refused(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers={"cache-control": "no-store"})


def _trusted(request: Request) -> bool:
    """Sent by the app's own page: same origin, with the app's header."""
    return same_origin(request.scope) and request.headers.get(REQUEST_HEADER) == "1"


async def trade_handoff(request: Request) -> Response:
    """POST /auth/session {"code": ...}: the page's one-time code becomes the HttpOnly session cookie."""
    if not _trusted(request):
        return _refused("This request did not come from the app's own page.", 403)
    body = await request.body()
    try:
        code = json.loads(body)["code"] if len(body) <= MAX_BODY_BYTES else None
    except (ValueError, KeyError, TypeError):
        code = None
    if not isinstance(code, str):
        return _refused("Expected a JSON body with the sign-in code.")
    traded = await run_in_threadpool(app_services().sessions.trade_handoff, code)
    if traded is None:
        return _refused("This sign-in code is unknown, used or expired. Sign in again to stay signed in.")
    token, expires = traded
    response = Response(status_code=204, headers={"cache-control": "no-store"})
    response.raw_headers.append((b"set-cookie", _cookie_header(COOKIE_NAME, token, expires, _secure(request.scope))))
    return response


async def sign_out(request: Request) -> Response:
    """POST /auth/sign-out: end the session the cookie belongs to (if still live) and clear the cookie."""
    if not _trusted(request):
        return _refused("This request did not come from the app's own page.", 403)
    token = request.cookies.get(COOKIE_NAME)
    if token:
        await run_in_threadpool(app_services().sessions.end_by_token, token)
    response = Response(status_code=204, headers={"cache-control": "no-store"})
    response.raw_headers.extend(_clear_headers((COOKIE_NAME, *LEGACY_COOKIES), _secure(request.scope)))
    return response


class SecurityMiddleware:
    """Anti-framing headers on every response; cross-origin websockets refused; dead cookies cleared on page load."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and not same_origin(scope):
            log.info("refused a websocket from another origin: %s", _header(scope, "origin"))
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(SECURITY_HEADERS)
        if _is_page_load(scope):
            extra += await self._dead_cookies(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    async def _dead_cookies(scope: Scope) -> list[tuple[bytes, bytes]]:
        """Clear a session cookie that no longer signs anyone in (ended, expired, forged) and legacy cookies."""
        cookies = _cookies(scope)
        dead = tuple(name for name in LEGACY_COOKIES if name in cookies)
        token = cookies.get(COOKIE_NAME)
        if token is not None and await run_in_threadpool(app_services().sessions.resume, token) is None:
            dead += (COOKIE_NAME,)
        return _clear_headers(dead, _secure(scope)) if dead else []


def base_path() -> str:
    """Streamlit's `server.baseUrlPath` as a path prefix ("" or "/prefix")."""
    from streamlit import config

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""


def routes() -> list[Route]:
    return [
        Route(base_path() + SESSION_PATH, trade_handoff, methods=["POST"]),
        Route(base_path() + SIGN_OUT_PATH, sign_out, methods=["POST"]),
    ]


def middleware() -> list[Middleware]:
    return [Middleware(SecurityMiddleware)]


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """Before the server accepts connections: open the database and keys (a misconfiguration stops it here, with
    its message), so the first page load does not pay for them. When it stops: end and save every reply still
    streaming.

    It also tells Streamlit the app routes with `st.navigation`: until a run has called it, a fresh process would
    serve an address like /models by running pages/models.py alone (the pages-folder mode), without the router.
    """
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False
    services = await run_in_threadpool(app_services)
    try:
        yield
    finally:
        # On SIGTERM (a container stop, a rolling deploy) uvicorn stops taking connections, closes the open ones and
        # then ends this lifespan, before Streamlit's runtime stops and the process exits. The threads that stream
        # replies and run pages are daemons that die with the process, so the replies are saved here, as they stand.
        ended = await run_in_threadpool(services.chat.live.finish_all)
        if ended:  # a warning: users' replies were cut short
            log.warning("stopping: saved %d streaming repl%s as interrupted", ended, "y" if ended == 1 else "ies")
