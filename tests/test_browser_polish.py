"""What only a browser shows of the Chat polish: the theme follows the operating system and the menu's choice is
kept on every page; the keyboard (Enter sends, Shift+Enter a new line, Esc stops a reply, Ctrl+Shift+O a new chat);
a reply's headings at reply size and its unsafe links as text. Debian's headless Chromium, the real server."""

from __future__ import annotations

import math
import re

import pytest

from tests.browser import (
    CHROMIUM_MISSING,
    CHROMIUM_PRESENT,
    SIGNED_IN,
    Server,
    open_chat,
    settle,
    shoot,
    sign_in,
)
from tests.fakes.providers import FakeProviders

pytestmark = pytest.mark.skipif(not CHROMIUM_PRESENT, reason=CHROMIUM_MISSING)

BACKGROUND = "getComputedStyle(document.querySelector('.stApp')).backgroundColor"


def brightness(page) -> float:
    """The app's background, 0 (black) to 1 (white)."""
    red, green, blue = (int(part) for part in re.findall(r"\d+", page.evaluate(BACKGROUND))[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def open_signed_in(browser, server: Server, address: str, **context):
    from playwright.sync_api import expect

    page = browser.new_context(viewport={"width": 1280, "height": 900}, **context).new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{server.url}/{address}")
    sign_in(page)
    expect(page.get_by_text(SIGNED_IN)).to_be_visible()
    settle(page)
    return page


def reopen(page, url: str) -> None:
    """A reload at another address (the sign-in cookie signs the tab in again)."""
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.get_by_text(SIGNED_IN)).to_be_visible()
    settle(page)


def test_the_theme_follows_the_system_and_the_menus_choice_is_kept_on_every_page(shared_server: Server, browser):
    from playwright.sync_api import expect

    light = open_signed_in(browser, shared_server, "profile", color_scheme="light")
    assert brightness(light) > 0.9
    dark = open_signed_in(browser, shared_server, "profile", color_scheme="dark")
    assert brightness(dark) < 0.2, "a dark system gets the dark theme"
    expect(dark.get_by_text("Theme: ⋮ menu, top right → System, Light or Dark.")).to_be_visible()
    shoot(dark, "theme-dark")

    dark.get_by_test_id("stMainMenu").click()
    dark.get_by_test_id("stMainMenuPopover").get_by_text("Light").click()
    expect(dark.locator(".stApp")).to_have_css("background-color", "rgb(255, 255, 255)")
    for address in ("chat", "models", "profile", ""):  # reloads, at every page of the app
        reopen(dark, f"{shared_server.url}/{address}")
        assert brightness(dark) > 0.9, f"the choice is kept at /{address}"

    dark.get_by_test_id("stMainMenu").click()
    dark.get_by_test_id("stMainMenuPopover").get_by_text("System").click()
    expect(dark.locator(".stApp")).not_to_have_css("background-color", "rgb(255, 255, 255)")
    reopen(dark, f"{shared_server.url}/chat")
    assert brightness(dark) < 0.2, "back to following the system"


def chat_ready(browser, server: Server):
    return open_chat(server, browser)


def test_enter_sends_shift_enter_breaks_the_line_and_esc_stops_a_reply(
    shared_server: Server, fake: FakeProviders, browser
) -> None:
    from playwright.sync_api import expect

    words = [f"w{number}" for number in range(200)]
    fake.reply, fake.chunks, fake.pace = " ".join(words), len(words), 0.1  # 20 s unless stopped
    page, services, alice = chat_ready(browser, shared_server)
    earlier = {chat.id for chat in services.conversations.list(alice.id)}  # the module's other tests share the server
    box = page.get_by_placeholder("Message", exact=True)
    box.fill("First line")
    box.press("Shift+Enter")
    box.press_sequentially("second line")
    assert box.input_value() == "First line\nsecond line", "Shift+Enter is a new line, not a send"
    assert not [r for r in fake.requests if r.method == "POST"]
    box.press("Enter")
    reply = page.get_by_test_id("stChatMessage").filter(has_text="w5")
    expect(reply).to_have_count(1)
    page.keyboard.press("Escape")  # with the cursor still in the message box
    expect(page.get_by_text("Stopped. What arrived is kept.")).to_be_visible()
    settle(page)
    shoot(page, "esc-stopped")
    [summary] = [chat for chat in services.conversations.list(alice.id) if chat.id not in earlier]
    question, saved = services.conversations.get(alice.id, summary.id).messages
    assert question.content == "First line\nsecond line"
    assert saved.interrupted and 0 < len(saved.content.split()) < len(words)


def reply_font_sizes(reply) -> tuple[float, float]:
    """The font sizes of a reply's heading and its first paragraph, read in one go from elements on the page.

    A fragment rerun can swap the reply's elements between two reads, and a replaced element has no computed style
    (NaN), so both are read together and read again until the page holds still."""
    both = "e => [e.querySelector('h1'), e.querySelector('p')].map(x => parseFloat(getComputedStyle(x).fontSize))"
    for _ in range(50):
        sizes = reply.evaluate(both)
        if all(isinstance(s, (int, float)) and math.isfinite(s) for s in sizes):
            return float(sizes[0]), float(sizes[1])
        reply.page.wait_for_timeout(100)
    raise AssertionError(f"the reply's font sizes never settled: {sizes}")


def test_ctrl_shift_o_starts_a_new_chat_and_replies_render_safely(
    shared_server: Server, fake: FakeProviders, browser
) -> None:
    from playwright.sync_api import expect

    fake.reply = "# A heading\n\nSee [the docs](https://example.com) or [this](javascript:alert(1)).\n"
    page, services, alice = chat_ready(browser, shared_server)
    earlier = {chat.id for chat in services.conversations.list(alice.id)}  # the module's other tests share the server
    expect(page.get_by_role("button", name="New chat")).to_be_visible()
    page.get_by_placeholder("Message", exact=True).fill("Format something")
    page.get_by_placeholder("Message", exact=True).press("Enter")
    messages = page.get_by_test_id("stChatMessage")
    expect(messages.filter(has_text="A heading")).to_have_count(1)
    settle(page)
    shoot(page, "reply-markdown")
    heading_size, body = reply_font_sizes(messages.filter(has_text="the docs"))
    assert heading_size <= 1.4 * body, "a reply's heading is at reply size"
    size = "e => parseFloat(getComputedStyle(e).fontSize)"
    title = page.locator("[data-testid='stMainBlockContainer'] h1").first  # the page's own title stays large
    assert float(title.evaluate(size)) > 2 * body
    links = messages.locator("p a[href]")  # (a heading has its own anchor link)
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == ["https://example.com"]
    expect(messages.filter(has_text="[this]")).to_have_count(1)  # the unsafe link is shown as text

    page.get_by_placeholder("Message", exact=True).click()
    page.keyboard.press("Control+Shift+O")  # from the message box, too
    expect(messages).to_have_count(0)
    settle(page)
    made = [chat for chat in services.conversations.list(alice.id) if chat.id not in earlier]
    assert [chat.title for chat in made] == ["Format something"], "the chat is kept; a new one is open, not saved yet"
