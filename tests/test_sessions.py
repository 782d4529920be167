"""Server-side sign-in sessions: the store, and the HTTP routes and middleware that set and clear the cookie."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from core.accounts.sessions import HANDOFF_SECONDS, SessionStore, SignedIn
from core.accounts.users import UserPublic
from core.services import Services
from tests.helpers import PASSWORD, Clock, stored_bytes
from ui.web import COOKIE_NAME, REQUEST_HEADER, middleware, routes

pytestmark = pytest.mark.both_backends


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(services: Services, clock: Clock) -> SessionStore:
    return SessionStore(services.engine, lifetime=timedelta(days=1), clock=clock)


def signed_in_with_cookie(store: SessionStore, user: UserPublic) -> tuple[SignedIn, str]:
    session, code = store.start(user.id, "Mozilla/5.0 (X11; Linux x86_64) Chrome/156")
    traded = store.trade_handoff(code)
    assert traded is not None
    return session, traded[0]


def test_a_session_is_found_by_its_cookie_and_the_database_keeps_only_a_hash(
    services: Services, store: SessionStore, alice: UserPublic
) -> None:
    session, token = signed_in_with_cookie(store, alice)
    assert store.resume(token) == session
    assert store.user(session) == alice
    with services.engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT token_hash, handoff_hash FROM sign_in_session").all()
    assert stored == [(hashlib.sha256(token.encode()).hexdigest(), None)]
    assert token.encode() not in stored_bytes(services)


def test_a_hand_off_code_works_once_and_only_for_a_minute(store: SessionStore, alice: UserPublic, clock: Clock) -> None:
    _, code = store.start(alice.id)
    assert store.trade_handoff(code) is not None
    assert store.trade_handoff(code) is None, "a code is spent once traded"
    _, late = store.start(alice.id)
    clock.now += timedelta(seconds=HANDOFF_SECONDS + 1)
    assert store.trade_handoff(late) is None
    assert store.trade_handoff("not-a-code") is None


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "x" * 5000,
        # What earlier versions put in the cookie (a JWT naming a user) and forgeries of it.
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VybmFtZSI6ImFsaWNlIn0.c2lnbmF0dXJl",
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJ1c2VybmFtZSI6ImFsaWNlIn0.",
        "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJ1c2VybmFtZSI6ImFsaWNlIn0.c2ln",
    ],
)
def test_a_bad_cookie_signs_nobody_in(store: SessionStore, alice: UserPublic, token: str) -> None:
    signed_in_with_cookie(store, alice)
    assert store.resume(token) is None


def test_ending_a_session_stops_its_cookie_everywhere(
    services: Services, store: SessionStore, alice: UserPublic, clock: Clock
) -> None:
    session, token = signed_in_with_cookie(store, alice)
    # Another app process on the same database (on the test's clock: the session's expiry is measured from it).
    other = SessionStore(services.engine, lifetime=timedelta(days=1), clock=clock)
    assert other.resume(token) == session
    assert store.end(alice.id, session.session_id)
    assert other.resume(token) is None and other.user(session) is None


def test_one_user_cannot_list_or_end_anothers_sessions(store: SessionStore, alice: UserPublic, bob: UserPublic):
    session, token = signed_in_with_cookie(store, alice)
    assert store.list(bob.id) == []
    assert not store.end(bob.id, session.session_id)
    assert store.end_all(bob.id) == 0
    assert store.user(SignedIn(session.session_id, bob.id)) is None, "a session id is only good with its own user"
    assert store.resume(token) == session


def test_sessions_expire(store: SessionStore, alice: UserPublic, clock: Clock) -> None:
    session, token = signed_in_with_cookie(store, alice)
    clock.now += timedelta(days=1, seconds=1)
    assert store.resume(token) is None and store.user(session) is None
    assert store.list(alice.id) == []
    assert store.expire_old() == 1


def test_the_list_shows_devices_and_end_all_can_keep_this_one(store: SessionStore, alice: UserPublic, clock: Clock):
    first, _ = signed_in_with_cookie(store, alice)
    clock.now += timedelta(minutes=10)
    second, _ = signed_in_with_cookie(store, alice)
    listed = store.list(alice.id)
    assert [s.id for s in listed] == [second.session_id, first.session_id]
    assert listed[0].user_agent.startswith("Mozilla/5.0")
    assert store.end_all(alice.id, keep=second.session_id) == 1
    assert [s.id for s in store.list(alice.id)] == [second.session_id]


def test_last_seen_is_written_only_now_and_then(store: SessionStore, alice: UserPublic, clock: Clock) -> None:
    session, token = signed_in_with_cookie(store, alice)
    clock.now += timedelta(minutes=1)
    store.user(session)
    assert store.list(alice.id)[0].last_seen_at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    clock.now += timedelta(minutes=10)
    store.resume(token)
    assert store.list(alice.id)[0].last_seen_at == clock.now


@pytest.mark.parametrize("change", ["reset password", "disable", "delete", "end sessions"])
def test_an_account_change_ends_every_session_at_once(services: Services, alice: UserPublic, change: str) -> None:
    accounts = services.accounts
    started = [accounts.sign_in("alice", PASSWORD, "test") for _ in range(2)]
    {
        "reset password": lambda: accounts.reset_password("alice", "another good password"),
        "disable": lambda: accounts.set_disabled("alice", True),
        "delete": lambda: services.users.delete("alice"),
        "end sessions": lambda: services.sessions.end_all(alice.id),
    }[change]()
    assert [accounts.current_user(s.session) for s in started] == [None, None]


def test_a_re_created_user_name_is_not_signed_in_by_the_old_cookie(services: Services, alice: UserPublic) -> None:
    started = services.accounts.sign_in("alice", PASSWORD, "test")
    traded = services.sessions.trade_handoff(started.handoff)
    assert traded is not None
    services.users.delete("alice")
    services.users.add("alice", "Another Alice", "other@example.com", "a different password")
    assert services.sessions.resume(traded[0]) is None


# The web routes and middleware, through Starlette's test client (real ASGI requests, no browser).


@pytest.fixture
def client(services: Services) -> TestClient:
    async def page(request) -> HTMLResponse:
        return HTMLResponse("<html>the app</html>")

    async def stream(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    app = Starlette(
        routes=[*routes(), Route("/", page), WebSocketRoute("/_stcore/stream", stream)], middleware=middleware()
    )
    return TestClient(app, base_url="http://app.test")


TRUSTED = {REQUEST_HEADER: "1", "origin": "http://app.test"}


def test_the_hand_off_sets_an_http_only_strict_cookie(services: Services, client: TestClient, alice: UserPublic):
    started = services.accounts.sign_in("alice", PASSWORD, "test")
    response = client.post("/auth/session", json={"code": started.handoff}, headers=TRUSTED)
    assert response.status_code == 204
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie, "plain http: a Secure cookie would never come back"
    token = cookie.split(";")[0].split("=", 1)[1]
    assert services.sessions.resume(token) == started.session
    again = client.post("/auth/session", json={"code": started.handoff}, headers=TRUSTED)
    assert again.status_code == 400 and "set-cookie" not in again.headers


def test_the_cookie_is_secure_on_https(services: Services, client: TestClient, alice: UserPublic) -> None:
    started = services.accounts.sign_in("alice", PASSWORD, "test")
    headers = {**TRUSTED, "x-forwarded-proto": "https", "origin": "https://app.test"}
    response = client.post("/auth/session", json={"code": started.handoff}, headers={**headers, "host": "app.test"})
    assert response.status_code == 204 and "; Secure" in response.headers["set-cookie"]


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no header the page's script sends
        {REQUEST_HEADER: "1", "origin": "http://evil.test"},
        {REQUEST_HEADER: "1", "origin": "http://app.test:8502"},  # another port of the same host
    ],
)
def test_the_routes_answer_only_the_apps_own_page(
    services: Services, client: TestClient, alice: UserPublic, headers: dict
) -> None:
    started = services.accounts.sign_in("alice", PASSWORD, "test")
    response = client.post("/auth/session", json={"code": started.handoff}, headers=headers)
    assert response.status_code == 403 and "set-cookie" not in response.headers
    assert client.post("/auth/sign-out", headers=headers).status_code == 403
    assert services.sessions.trade_handoff(started.handoff) is not None, "a refused request spends nothing"


@pytest.mark.parametrize("body", [b"", b"not json", b'{"code": 5}', b"[]", b'{"code": "' + b"x" * 2000 + b'"}'])
def test_a_malformed_hand_off_is_refused_plainly(client: TestClient, body: bytes) -> None:
    response = client.post("/auth/session", content=body, headers=TRUSTED)
    assert response.status_code == 400 and "error" in response.json()


def test_sign_out_ends_the_session_and_clears_the_cookie(
    services: Services, client: TestClient, alice: UserPublic
) -> None:
    started = services.accounts.sign_in("alice", PASSWORD, "test")
    client.post("/auth/session", json={"code": started.handoff}, headers=TRUSTED)
    response = client.post("/auth/sign-out", headers=TRUSTED)
    assert response.status_code == 204
    assert f"{COOKIE_NAME}=;" in response.headers["set-cookie"] and "Max-Age=0" in response.headers["set-cookie"]
    assert services.accounts.current_user(started.session) is None


def test_every_response_forbids_framing(client: TestClient) -> None:
    for response in (client.get("/", headers={"accept": "text/html"}), client.post("/auth/session")):
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["content-security-policy"] == "frame-ancestors 'none'"
        assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("value", ["forged-token", "eyJhbGciOiJub25lIn0.eyJ1c2VybmFtZSI6ImFsaWNlIn0."])
def test_a_page_load_with_a_dead_cookie_clears_it(client: TestClient, value: str) -> None:
    client.cookies.set(COOKIE_NAME, value)
    client.cookies.set("chat_dashboard_auth", "old-jwt-from-an-earlier-version")
    response = client.get("/", headers={"accept": "text/html"})
    cleared = response.headers.get_list("set-cookie")
    assert {c.split("=")[0] for c in cleared} == {COOKIE_NAME, "chat_dashboard_auth"}
    assert all("Max-Age=0" in c for c in cleared)


def test_a_page_load_with_a_live_cookie_keeps_it(services: Services, client: TestClient, alice: UserPublic) -> None:
    started = services.accounts.sign_in("alice", PASSWORD, "test")
    client.post("/auth/session", json={"code": started.handoff}, headers=TRUSTED)
    assert "set-cookie" not in client.get("/", headers={"accept": "text/html"}).headers


def test_a_websocket_from_another_origin_is_refused(client: TestClient) -> None:
    with client.websocket_connect("ws://app.test/_stcore/stream", headers={"origin": "http://app.test"}) as socket:
        assert socket.receive_text() == "hello"
    for origin in ("http://evil.test", "http://app.test:9999"):
        with (
            pytest.raises(WebSocketDisconnect),
            client.websocket_connect("ws://app.test/_stcore/stream", headers={"origin": origin}),
        ):
            pass


def test_expired_sessions_are_swept_out_by_later_sign_ins(
    services: Services, store: SessionStore, alice: UserPublic, clock: Clock
):
    signed_in_with_cookie(store, alice)
    clock.now += timedelta(days=2)
    signed_in_with_cookie(store, alice)
    with services.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT COUNT(*) FROM sign_in_session").scalar_one() == 1
