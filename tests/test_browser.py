"""The main flows in a real browser: Debian's headless Chromium, driven by Playwright, against the real server
(`streamlit run asgi.py`, as `make run` starts it), each test with a fresh server and data folder."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core.local.curated import SUGGESTED
from tests.browser import (
    CHROMIUM_MISSING,
    CHROMIUM_PRESENT,
    OPENAI_KEY,
    SIGNED_IN,
    Server,
    new_page,
    running_server,
    session_cookie,
    settle,
    shoot,
    sign_in,
    type_into,
    wait_for_cookie,
)
from tests.fakes.hub import FakeHub
from tests.fakes.providers import FakeProviders
from tests.fakes.tiny_models import GGUF_NAME, repo_files, tiny_model
from tests.helpers import PASSWORD
from ui.web import COOKIE_NAME, LEGACY_COOKIES

pytestmark = pytest.mark.skipif(not CHROMIUM_PRESENT, reason=CHROMIUM_MISSING)

# Recorded in the page: was the sign-in form ever on screen together with the signed-in page's sidebar?
WATCH_TRANSITION = """() => {
  window.__overlap = false;
  const check = () => {
    const form = [...document.querySelectorAll("input[autocomplete=username]")].some(i => i.offsetParent !== null);
    const signedIn = document.body.innerText.includes("Signed in as");
    if (form && signedIn) window.__overlap = true;
  };
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, attributes: true});
}"""


def test_sign_in_works_on_the_first_try_right_after_start(tmp_path: Path, fake: FakeProviders, browser) -> None:
    """Five fresh servers; each time the form is filled and submitted the moment it appears, once. (It was ten:
    each start costs about 9 s, and the suite must stay near 10 minutes on 2 cores.)"""
    from playwright.sync_api import expect

    for attempt in range(5):
        with running_server(tmp_path / f"start-{attempt}", fake, admin_cli=False) as started:
            page = new_page(browser)
            page.goto(started.url)
            page.evaluate(WATCH_TRANSITION)
            sign_in(page)
            expect(page.get_by_text(SIGNED_IN)).to_be_visible(timeout=20_000)
            settle(page)
            assert page.evaluate("window.__overlap") is False, "the form stayed above the signed-in page"
            expect(page.get_by_label("Password", exact=True)).to_have_count(0)
            expect(page.get_by_role("heading", name="Profile")).to_be_visible()  # no keys yet: Profile first
            assert page.outbound == []
            page.context.close()


def test_a_bookmarked_page_opens_after_sign_in(shared_server: Server, browser) -> None:
    from playwright.sync_api import expect

    page = new_page(browser)
    page.goto(f"{shared_server.url}/models")
    sign_in(page)
    expect(page.get_by_role("heading", name="Models", exact=True)).to_be_visible()
    assert page.url.endswith("/models")
    expect(page.get_by_text("Page not found")).to_have_count(0)


@pytest.fixture
def server_set_up_as_the_readme_says(tmp_path: Path, fake: FakeProviders) -> Iterator[Server]:
    """A fresh server whose user was made with the admin command (`python -m core.cli add-user`)."""
    fake.reset()
    with running_server(tmp_path, fake, admin_cli=True) as started:
        yield started


def test_sign_in_save_key_see_models_and_chat(
    server_set_up_as_the_readme_says: Server, fake: FakeProviders, browser
) -> None:
    from playwright.sync_api import expect

    server = server_set_up_as_the_readme_says
    page = new_page(browser)
    page.goto(server.url)
    expect(page.get_by_label("User name")).to_be_visible()
    shoot(page, "sign-in")
    sign_in(page)
    expect(page.get_by_text(SIGNED_IN)).to_be_visible()
    settle(page)

    page.get_by_text("OpenAI · not set", exact=True).click()
    settle(page)  # opening a card is a script run: a field typed into while it redraws can lose its value
    type_into(page.get_by_label("API key").first, OPENAI_KEY)
    page.get_by_role("button", name="Save", exact=True).first.click()
    expect(page.get_by_text("OpenAI · valid …alid")).to_be_visible()  # tested with the provider on save
    settle(page)
    assert OPENAI_KEY not in page.content()
    shoot(page, "profile")

    page.get_by_role("link", name="Models", exact=True).click()
    settle(page)
    expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible()
    shoot(page, "models")

    page.get_by_role("link", name="Chat", exact=True).click()
    settle(page)
    page.get_by_placeholder("Message", exact=True).fill("Hello from the browser")
    page.get_by_placeholder("Message", exact=True).press("Enter")
    reply = fake.reply_text("openai", "gpt-4o-mini")
    messages = page.get_by_test_id("stChatMessage")
    expect(messages.filter(has_text=reply)).to_have_count(1)
    expect(messages.filter(has_text="Hello from the browser")).to_have_count(1)
    settle(page)
    shoot(page, "chat")

    page.reload()  # a new browser session, signed in by its cookie
    expect(page.get_by_text(SIGNED_IN)).to_be_visible()
    settle(page)
    page.get_by_test_id("stSidebar").get_by_role("button", name="Hello from the browser").click()
    settle(page)
    expect(page.get_by_test_id("stChatMessage").filter(has_text=reply)).to_have_count(1)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("User name")).to_have_count(1)
    assert wait_for_cookie(page, present=False) is None, "sign-out clears the cookie"
    page.reload()
    settle(page)
    expect(page.get_by_label("User name")).to_have_count(1)
    expect(page.get_by_text(SIGNED_IN)).to_have_count(0)
    assert page.outbound == [], "nothing outside this machine was asked for"
    assert [(r.key, r.model) for r in fake.requests if r.method == "POST"] == [(OPENAI_KEY, "gpt-4o-mini")]


def test_a_reply_streaming_when_the_server_is_stopped_is_saved(tmp_path: Path, fake: FakeProviders, browser) -> None:
    """SIGTERM (a container stop, a rolling deploy) mid-reply: before the process exits, the reply is ended and
    saved with everything that had arrived, more than the last batch its row had caught up with.

    Streamlit stops a page's run as uvicorn closes its websocket (the run's own `finish()` may save it first); the
    lifespan's exit then ends and saves whatever still streams, and waits for a save under way, before the exit."""
    from playwright.sync_api import expect

    words = [f"w{number}" for number in range(400)]
    fake.reply, fake.chunks, fake.pace = " ".join(words), len(words), 0.03  # 12 s
    with running_server(tmp_path, fake, admin_cli=False) as started:
        services = started.services()
        alice = services.users.get("alice")
        assert alice is not None
        services.credentials.save(alice.id, "openai", {"api_key": OPENAI_KEY})
        page = new_page(browser)
        page.goto(started.url + "/chat")
        sign_in(page)
        expect(page.get_by_placeholder("Message", exact=True)).to_be_visible()
        settle(page)
        page.get_by_placeholder("Message", exact=True).fill("Tell me a long story")
        page.get_by_placeholder("Message", exact=True).press("Enter")
        reply = page.get_by_test_id("stChatMessage").filter(has_text="w60")
        expect(reply).to_have_count(1)
        shown = " ".join(re.findall(r"\bw\d+\b", reply.inner_text()))  # the reply's text on the page (a prefix)
        started.process.send_signal(signal.SIGTERM)
        started.process.wait(timeout=30)
        assert started.process.returncode == -signal.SIGTERM, started.log.read_text()  # stopped by the signal
    [summary] = services.conversations.list(alice.id)
    question, saved = services.conversations.get(alice.id, summary.id).messages
    assert (question.role, question.content) == ("user", "Tell me a long story")
    assert (saved.role, saved.interrupted, saved.error) == ("assistant", True, None)
    text = " ".join(words)
    assert text.startswith(shown) and text.startswith(saved.content)
    assert len(shown) <= len(saved.content) < len(text), (shown[-10:], saved.content[-10:])


def test_the_cookie_is_http_only_and_strict_and_the_app_cannot_be_framed(shared_server: Server, browser) -> None:
    server = shared_server
    from playwright.sync_api import expect

    page = new_page(browser)
    response = page.goto(server.url)
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"] == "frame-ancestors 'none'"
    sign_in(page)
    expect(page.get_by_text(SIGNED_IN)).to_be_visible()
    cookie = wait_for_cookie(page)
    assert cookie is not None and cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert COOKIE_NAME not in page.evaluate("document.cookie"), "scripts cannot read the session cookie"

    with framing_page(server.url) as attacker:  # a page on another port of the same host
        other = page.context.new_page()
        other.goto(attacker)
        other.wait_for_timeout(2000)
        framed = [frame for frame in other.frames if frame != other.main_frame]
        assert framed and all(SIGNED_IN not in safe_text(frame) for frame in framed), "the app refused to be framed"
        opened = other.evaluate(WEBSOCKET_FROM_ELSEWHERE.replace("APP", server.url.replace("http", "ws")))
        assert opened is False, "a websocket from another origin is refused"


WEBSOCKET_FROM_ELSEWHERE = """() => new Promise(resolve => {
  const socket = new WebSocket("APP/_stcore/stream", ["streamlit"]);
  socket.onopen = () => { socket.close(); resolve(true); };
  socket.onerror = () => resolve(false);
  setTimeout(() => resolve(false), 5000);
})"""


def safe_text(frame) -> str:
    try:
        return frame.inner_text("body", timeout=2000)
    except Exception:  # a blocked frame has no readable body
        return ""


@contextmanager
def framing_page(app_url: str) -> Iterator[str]:
    """A page on another port of 127.0.0.1 that frames the app."""
    body = f'<html><body><iframe src="{app_url}" width="800" height="600"></iframe></body></html>'.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def signed_in_cookie(server: Server, browser, password: str = PASSWORD) -> dict:
    from playwright.sync_api import expect

    page = new_page(browser)
    page.goto(server.url)
    sign_in(page, password)
    expect(page.get_by_text(SIGNED_IN)).to_be_visible()
    cookie = wait_for_cookie(page)
    assert cookie is not None
    page.context.close()
    return cookie


def opens_signed_out(server: Server, browser, *cookies: dict) -> bool:
    """A new browser holding `cookies` sees the sign-in form, no error, and loses every one of them."""
    from playwright.sync_api import expect

    page = new_page(browser, cookies=list(cookies))
    page.goto(server.url)
    expect(page.get_by_label("User name")).to_be_visible()
    settle(page)
    assert page.get_by_text(SIGNED_IN).count() == 0
    assert page.get_by_test_id("stException").count() == 0, "no traceback"
    assert session_cookie(page) is None, "the dead cookie is cleared"
    kept = {cookie["name"] for cookie in page.context.cookies()} & {cookie["name"] for cookie in cookies}
    assert not kept, f"{kept} cleared too"
    page.context.close()
    return True


def test_a_copied_cookie_stops_working(server: Server, browser) -> None:
    """A cookie copied while signed in is refused after a sign-out, a password reset and a re-created user."""
    from playwright.sync_api import expect

    cookie = signed_in_cookie(server, browser)
    page = new_page(browser, cookies=[cookie])
    page.goto(server.url)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("User name")).to_be_visible()
    page.context.close()
    assert opens_signed_out(server, browser, cookie), "after sign-out"

    cookie = signed_in_cookie(server, browser)
    server.services().accounts.reset_password("alice", "a new admin-set password")
    assert opens_signed_out(server, browser, cookie), "after the admin reset the password"

    cookie = signed_in_cookie(server, browser, password="a new admin-set password")
    services = server.services()
    services.users.delete("alice")
    services.users.add("alice", "Someone Else", "else@x.io", PASSWORD)
    assert opens_signed_out(server, browser, cookie), "after the name was given to someone else"


def jwt(payload: dict, key: bytes, algorithm: str) -> str:
    def part(data: dict | bytes) -> str:
        raw = data if isinstance(data, bytes) else json.dumps(data).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    head = part({"alg": algorithm, "typ": "JWT"}) + "." + part(payload)
    if algorithm == "none":
        return head + "."
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[algorithm]
    return head + "." + part(hmac.new(key, head.encode(), digest).digest())


EXPIRES = time.time() + 86_400
MALFORMED = {
    "garbage": "not-a-session",
    "old signed cookie": jwt({"username": "alice", "exp_date": EXPIRES}, b"k" * 48, "HS256"),
    "unknown user": jwt({"username": "nobody", "exp_date": EXPIRES}, b"k" * 48, "HS256"),
    "alg none": jwt({"username": "alice", "exp_date": EXPIRES}, b"", "none"),
    "HS512": jwt({"username": "alice", "exp_date": EXPIRES}, b"k" * 48, "HS512"),
}


def test_a_malformed_cookie_opens_the_sign_in_form_and_is_cleared(shared_server: Server, browser) -> None:
    host = shared_server.url.removeprefix("http://").split(":")[0]
    for kind, value in MALFORMED.items():
        # the session cookie and the one earlier versions set, together (one page load per kind of value)
        names = (COOKIE_NAME, *LEGACY_COOKIES)
        cookies = [{"name": name, "value": value, "domain": host, "path": "/"} for name in names]
        assert opens_signed_out(shared_server, browser, *cookies), kind


def test_a_typed_key_is_never_sent_again_after_save(shared_server: Server, browser) -> None:
    """A key typed beside a refused endpoint: after Save, no later message from the browser carries it."""
    from playwright.sync_api import expect

    sentinel = "azure-sentinel-key-typed-once-0042"
    sent: list[bytes] = []
    page = new_page(browser)
    page.on("websocket", lambda socket: socket.on("framesent", lambda payload: sent.append(_as_bytes(payload))))
    page.goto(f"{shared_server.url}/profile")
    sign_in(page)
    expect(page.get_by_text(SIGNED_IN)).to_be_visible()
    settle(page)
    page.get_by_text("Azure OpenAI · not set", exact=True).click()
    settle(page)
    type_into(page.get_by_label("Endpoint URL"), "https://not-azure.example.com")
    type_into(page.get_by_label("API key").last, sentinel)
    page.get_by_role("button", name="Save", exact=True).last.click()
    expect(page.get_by_text("Only Azure OpenAI endpoints")).to_be_visible()
    settle(page)
    assert any(sentinel.encode() in frame for frame in sent), "the Save itself sent it (the check can see it)"
    after_save = len(sent)
    page.get_by_text("OpenAI · not set", exact=True).click()
    page.get_by_role("button", name="Save", exact=True).first.click()  # another click, another script run
    expect(page.get_by_text("API key is empty").first).to_be_visible()
    settle(page)
    assert len(sent) > after_save
    assert not [frame for frame in sent[after_save:] if sentinel.encode() in frame]
    expect(page.get_by_label("API key").last).to_have_value("")


def test_an_api_token_is_shown_once_in_a_dialog(shared_server: Server, browser) -> None:
    """Profile → API tokens in the browser: the dialog shows the token with a copy button; once dismissed it is gone
    from the page and never sent again, and the list shows its last four characters only."""
    from playwright.sync_api import expect

    sent: list[bytes] = []
    page = new_page(browser)
    page.on("websocket", lambda socket: socket.on("framesent", lambda payload: sent.append(_as_bytes(payload))))
    page.goto(f"{shared_server.url}/profile")
    sign_in(page)
    expect(page.get_by_text(SIGNED_IN)).to_be_visible()
    settle(page)
    type_into(page.get_by_label("Name", exact=True), "browser test")
    page.get_by_role("button", name="Create token").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Copy it now: it is shown only this once.")).to_be_visible()
    token = dialog.locator("pre code").inner_text().strip()
    assert token.startswith("cdp_") and len(token) == 40
    dialog.locator("pre code").hover()
    expect(dialog.get_by_role("button", name="Copy to clipboard")).to_be_visible()
    shoot(page, "api-token-dialog")
    after_dialog = len(sent)
    dialog.get_by_role("button", name="I have copied it").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    settle(page)
    expect(page.get_by_text(f"…{token[-4:]}")).to_be_visible()
    shoot(page, "api-token-listed")
    assert token not in page.content()
    assert not [frame for frame in sent[after_dialog:] if token.encode() in frame], "the browser never sends it"
    assert shared_server.services().tokens.authenticate(token)


def _as_bytes(payload: str | bytes) -> bytes:
    return payload.encode() if isinstance(payload, str) else payload


def test_typed_passwords_do_not_stay_in_their_fields(shared_server: Server, browser) -> None:
    from playwright.sync_api import expect

    page = new_page(browser)
    page.goto(f"{shared_server.url}/profile")
    sign_in(page, "not the password")
    expect(page.get_by_text("Wrong user name or password.")).to_be_visible()
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    expect(page.get_by_label("User name")).to_have_value("alice")
    sign_in(page)
    expect(page.get_by_text(SIGNED_IN)).to_be_visible()
    page.get_by_text("Change password").first.click()
    typed = (("Current password", "not it"), ("New password", "new pass 1234"), ("Repeat the new password", "x"))
    for label, value in typed:
        type_into(page.get_by_label(label, exact=True), value)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("The current password is wrong.")).to_be_visible()
    for label, _ in typed:
        expect(page.get_by_label(label, exact=True)).to_have_value("")


def test_download_a_local_model_and_chat_with_it(
    tmp_path: Path, fake: FakeProviders, hub: FakeHub, browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user with no key at all: Models → Local models, Check, Download (progress on the page), Chat, a reply."""
    from playwright.sync_api import expect

    hub.reset()
    hub.add_repo(SUGGESTED[0].repo_id, repo_files(tiny_model("llama.cpp")))  # the first suggestion, as a tiny GGUF
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    with running_server(tmp_path, fake, admin_cli=False) as started:
        page = new_page(browser)
        page.goto(started.url + "/models")
        sign_in(page)
        expect(page.get_by_text("Local models", exact=True).first).to_be_visible()
        settle(page)
        page.get_by_role("button", name="Check").click()
        expect(page.get_by_text("You may download")).to_be_visible()
        expect(page.get_by_text(GGUF_NAME)).to_be_visible()
        settle(page)
        shoot(page, "local-plan")
        page.get_by_role("button", name="Download ", exact=False).filter(has_text="KB").click()
        chat = page.get_by_role("button", name="Chat", exact=True)
        expect(chat).to_be_visible(timeout=60_000)  # the finished download joins the list by itself
        settle(page)
        shoot(page, "local-models")
        chat.click()
        settle(page)
        page.get_by_text("Chat settings", exact=False).click()  # the tiny model never stops early: bound it
        type_into(page.get_by_role("spinbutton", name="Max output tokens"), "24")
        page.get_by_role("button", name="Apply to this chat").click()
        settle(page)
        page.get_by_placeholder("Message", exact=True).fill("Hello, tiny model")
        page.get_by_placeholder("Message", exact=True).press("Enter")
        messages = page.get_by_test_id("stChatMessage")
        expect(messages.filter(has_text="Hello, tiny model")).to_have_count(1)
        try:
            expect(messages.filter(has_text="$0")).to_have_count(1, timeout=90_000)  # the reply's details: free
        finally:
            shoot(page, "local-chat")
        settle(page)
        shoot(page, "local-chat")
        assert page.outbound == [], "nothing outside this machine was asked for"
        queued_behind_a_long_reply(browser, started, page)


def queued_behind_a_long_reply(browser, started: Server, page) -> None:
    """While one tab writes a long local reply, a second session's message waits its turn and says so; its Stop
    takes it out of the queue, and the first tab's Stop ends the long reply."""
    from playwright.sync_api import expect

    def stop(tab):  # the app's Stop under the reply (Streamlit's toolbar has one of its own)
        return tab.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop")

    page.get_by_text("Chat settings", exact=False).click()
    type_into(
        page.get_by_role("spinbutton", name="Max output tokens"), "65536"
    )  # the model's context is the bound: thousands
    page.get_by_role("button", name="Apply to this chat").click()
    settle(page)
    page.get_by_placeholder("Message", exact=True).fill("Tell me everything")
    page.get_by_placeholder("Message", exact=True).press("Enter")
    expect(stop(page)).to_be_visible()

    other = new_page(browser)  # another session (a second tab, a colleague): same model, same server
    other.goto(started.url + "/chat")
    sign_in(other)
    other.get_by_placeholder("Message", exact=True).fill("Hi")
    other.get_by_placeholder("Message", exact=True).press("Enter")
    waiting = other.get_by_text("Waiting for the model (1 ahead)", exact=False)
    expect(waiting).to_be_visible()
    shoot(other, "local-waiting")
    stop(other).click()
    expect(other.get_by_text("Stopped. What arrived is kept.")).to_be_visible()
    expect(waiting).to_have_count(0)
    expect(stop(page)).to_be_visible()  # the long reply goes on meanwhile
    stop(page).click()
    expect(page.get_by_text("Stopped. What arrived is kept.")).to_be_visible()
    expect(stop(page)).to_have_count(0)
