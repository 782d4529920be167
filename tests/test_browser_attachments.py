"""Attachments in a real browser: files picked in the Chat page's message box (its file input, as a person's file
dialog fills it) go with the message to the provider and show under it, the image as a thumbnail."""

from __future__ import annotations

import pytest

from tests.browser import (
    CHROMIUM_MISSING,
    CHROMIUM_PRESENT,
    OPENAI_KEY,
    SIGNED_IN,
    Server,
    new_page,
    settle,
    shoot,
    sign_in,
)
from tests.fakes.files import png
from tests.fakes.providers import FakeProviders
from tests.helpers import chat_posts, save_key

pytestmark = pytest.mark.skipif(not CHROMIUM_PRESENT, reason=CHROMIUM_MISSING)


def test_files_picked_in_the_message_box_go_with_the_message(server: Server, fake: FakeProviders, browser) -> None:
    from playwright.sync_api import expect

    services = server.services()
    alice = services.users.get("alice")
    assert alice is not None
    save_key(services, fake, alice, "openai", OPENAI_KEY)
    page = new_page(browser)
    page.goto(server.url + "/chat")
    sign_in(page)
    expect(page.get_by_text(SIGNED_IN)).to_be_visible()
    settle(page)

    files = [
        {"name": "plan.md", "mimeType": "text/markdown", "buffer": b"# Plan\nShip on *Friday*.\n"},
        {"name": "red.png", "mimeType": "image/png", "buffer": png(8, 8)},
    ]
    page.get_by_test_id("stChatInput").locator("input[type='file']").set_input_files(files)
    expect(page.get_by_test_id("stChatInput").get_by_text("plan.md")).to_be_visible()  # staged in the box
    page.get_by_placeholder("Message", exact=True).fill("Summarise the plan")
    page.get_by_placeholder("Message", exact=True).press("Enter")

    mine = page.get_by_test_id("stChatMessage").filter(has_text="Summarise the plan")
    expect(mine.get_by_text("plan.md · 25 B")).to_be_visible()
    expect(mine.get_by_test_id("stImage")).to_have_count(1)  # the thumbnail
    reply = fake.reply_text("openai", "gpt-4o-mini")
    expect(page.get_by_test_id("stChatMessage").filter(has_text=reply)).to_have_count(1)
    settle(page)
    shoot(page, "chat-attachments")
    content = chat_posts(fake, "openai")[-1].body["messages"][-1]["content"]
    assert "Ship on *Friday*." in content[0]["text"]
    assert content[1]["image_url"]["url"].startswith("data:image/png;base64,")
