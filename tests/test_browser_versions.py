"""What only a browser shows of a reply's actions: Copy puts the whole reply (its Markdown source) on the clipboard,
and a regenerated reply streams without the old one lingering on the page, then flips back to it."""

from __future__ import annotations

import pytest

from tests.browser import CHROMIUM_MISSING, CHROMIUM_PRESENT, Server, settle, shoot
from tests.browser import open_chat as browser_chat
from tests.fakes.providers import FakeProviders

pytestmark = pytest.mark.skipif(not CHROMIUM_PRESENT, reason=CHROMIUM_MISSING)

# Markdown with what must survive the trip as text: markup, a would-be script, quotes, non-ASCII, line breaks.
REPLY = '# Plan\n\n**Bold** and `code` </script><img src=x onerror="window.__pwned=1">\n\n- naïve "quotes" ✓\n- 100%'


def open_chat(server: Server, browser):
    page, _, _ = browser_chat(server, browser)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    return page


def ask(page, text: str) -> None:
    page.get_by_placeholder("Message", exact=True).fill(text)
    page.get_by_placeholder("Message", exact=True).press("Enter")


def test_copy_puts_the_whole_reply_on_the_clipboard(server: Server, fake: FakeProviders, browser) -> None:
    from playwright.sync_api import expect

    fake.reply = REPLY
    page = open_chat(server, browser)
    ask(page, "Make a plan")
    reply = page.get_by_test_id("stChatMessage").filter(has_text="naïve")
    expect(reply).to_have_count(1)
    settle(page)
    reply.get_by_role("button", name="Copy the reply").click()
    expect(reply.get_by_role("button", name="Copy the reply")).to_have_text("✓ Copied")
    assert page.evaluate("navigator.clipboard.readText()") == REPLY
    assert page.evaluate("window.__pwned") is None, "the reply was never read as HTML"
    expect(page.locator("img[src=x]")).to_have_count(0)
    shoot(page, "chat-copy")


def test_a_regenerated_reply_streams_alone_and_the_old_one_is_a_click_away(
    server: Server, fake: FakeProviders, browser
) -> None:
    from playwright.sync_api import expect

    fake.reply = "The first answer."
    page = open_chat(server, browser)
    ask(page, "Hi")
    messages = page.get_by_test_id("stChatMessage")
    expect(messages.filter(has_text="The first answer.")).to_have_count(1)
    settle(page)

    words = [f"v{number}" for number in range(80)]
    fake.reply, fake.chunks, fake.pace = " ".join(words), len(words), 0.05  # 4 s
    page.get_by_role("button", name="Regenerate").click()
    expect(messages.filter(has_text="v5 ")).to_have_count(1)
    expect(page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop")).to_be_visible()
    if messages.filter(has_text="The first answer.").count():
        shoot(page, "regenerate-lingers")
    assert messages.filter(has_text="The first answer.").count() == 0, "the old reply lingers while the new streams"
    expect(messages.filter(has_text="v79")).to_have_count(1)
    settle(page)
    expect(page.get_by_text("2 / 2", exact=True)).to_be_visible()
    assert messages.filter(has_text="The first answer.").count() == 0

    fake.pace = 0.0
    page.get_by_role("button", name="‹").click()
    settle(page)
    expect(messages.filter(has_text="The first answer.")).to_have_count(1)
    expect(messages.filter(has_text="v79")).to_have_count(0)
    expect(page.get_by_text("1 / 2", exact=True)).to_be_visible()
