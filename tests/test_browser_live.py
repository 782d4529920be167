"""A chat's reply outlives the page in a real browser: it keeps going across a switch to Models and back, and after
a reload the page finds it again, still growing; the time from the reload to the reply being on screen is printed
(for the release notes: what a user waits to see their reply again)."""

from __future__ import annotations

import re
import time

import pytest

from core.chat.conversations import Message
from core.services import Services
from tests.browser import CHROMIUM_MISSING, CHROMIUM_PRESENT, OPENAI_KEY, Server, new_page, settle, shoot, sign_in
from tests.fakes.providers import FakeProviders

pytestmark = pytest.mark.skipif(not CHROMIUM_PRESENT, reason=CHROMIUM_MISSING)

QUESTION = "Tell me a long story"


def last_word(text: str) -> int:
    """The number of the last `w<n>` word shown (-1: none): the highest, as the page may be typing the last one out
    (`w17` of `w176`)."""
    numbers = [int(number) for number in re.findall(r"\bw(\d+)\b", text)]
    return max(numbers, default=-1)


def saved_reply(services: Services, user_id: int) -> Message:
    """The last message of the user's latest chat, as its row stands."""
    return services.conversations.get(user_id, services.conversations.list(user_id)[0].id).messages[-1]


def shown_past(message, word: int, seconds: float = 10) -> int:
    """Wait until the message shows a word past `w<word>` (the page types a batch out over a moment); the last
    word it shows then."""
    deadline = time.monotonic() + seconds
    while (shown := last_word(message.inner_text())) <= word and time.monotonic() < deadline:
        message.page.wait_for_timeout(20)
    return shown


def test_a_reply_keeps_going_across_a_page_switch_and_a_reload(server: Server, fake: FakeProviders, browser) -> None:
    from playwright.sync_api import expect

    words = [f"w{number}" for number in range(300)]
    fake.reply, fake.chunks, fake.pace = " ".join(words), len(words), 0.04  # 12 s
    services = server.services()
    alice = services.users.get("alice")
    assert alice is not None
    services.credentials.save(alice.id, "openai", {"api_key": OPENAI_KEY})
    page = new_page(browser)
    page.goto(server.url + "/chat")
    sign_in(page)
    box = page.get_by_test_id("stChatInput").locator("textarea")
    expect(box).to_have_attribute("placeholder", "Message")
    settle(page)
    box.fill(QUESTION)
    box.press("Enter")
    reply = page.get_by_test_id("stChatMessage").filter(has_text="w20")
    expect(reply).to_have_count(1)
    expect(box).to_have_attribute("placeholder", "Waiting for the reply to finish…")
    expect(box).to_be_disabled()
    status = page.get_by_test_id("stStatusWidget")
    expect(status).to_be_visible()  # "Running…": the page's run watches the reply
    expect(status.get_by_role("button")).to_be_hidden()  # without Streamlit's Stop (the app's is under the reply)
    expect(reply.get_by_role("button", name="Stop")).to_be_visible()

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Models").click()
    expect(page.get_by_role("heading", name="Models").first).to_be_visible()
    left_at = last_word(saved_reply(services, alice.id).content)
    page.wait_for_timeout(1000)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Chat").click()
    back = page.get_by_test_id("stChatMessage").filter(has_text="w0 ")
    expect(back).to_have_count(1)
    shown_back = shown_past(back, left_at)
    assert shown_back > left_at, "the reply went on while Models was open"
    assert "interrupted" not in page.inner_text("body")

    before_reload = last_word(back.inner_text())
    assert re.search(r"[?&]chat=\d+", page.url), "the chat's address is in the URL"
    started = time.perf_counter()
    page.reload()  # a new session: the address brings the chat back, and the page attaches to its running reply
    again = page.get_by_test_id("stChatMessage").filter(has_text="w0 ")
    expect(again).to_have_count(1)
    first_text = time.perf_counter() - started
    seen = shown_past(again, before_reload)
    caught_up = time.perf_counter() - started
    print(
        f"\nreload → reply's text on screen {first_text:.2f} s → past what was shown before the reload "
        f"(w{before_reload}) {caught_up:.2f} s (at w{seen})"
    )
    assert seen > before_reload
    deadline = time.monotonic() + 10
    while last_word(again.inner_text()) == seen and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert last_word(again.inner_text()) > seen, "it keeps growing after the reload"
    shoot(page, "live-reply-after-reload")

    expect(page.get_by_test_id("stChatMessage").filter(has_text="w299")).to_have_count(1, timeout=30_000)
    expect(box).to_have_attribute("placeholder", "Message")
    saved = saved_reply(services, alice.id)
    assert (saved.content, saved.interrupted) == (" ".join(words), False)
    assert saved.completion_tokens is not None, "the reply's usage was recorded"
    assert [r.method for r in fake.requests].count("POST") == 1, "one reply, watched three times"
