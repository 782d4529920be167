"""Chat's address in a real browser: a chat opened is in the address bar, so a reload, back and forward, and a
bookmark opened before signing in all land on that chat."""

from __future__ import annotations

import pytest

from core.chat.conversations import Message
from tests.browser import CHROMIUM_MISSING, CHROMIUM_PRESENT, SIGNED_IN, Server, new_page, settle, shoot, sign_in

pytestmark = pytest.mark.skipif(not CHROMIUM_PRESENT, reason=CHROMIUM_MISSING)


@pytest.fixture(scope="module")
def chats(shared_server: Server) -> dict[str, int]:
    """Two saved chats of alice's, by their first message, written straight into the server's database."""
    services = shared_server.services()
    alice = services.users.get("alice")
    assert alice is not None
    made = {}
    for text in ("Plans for the weekend", "Notes on the garden"):
        conversation = services.conversations.create(alice.id, first=[Message("user", text)])
        services.conversations.add_message(alice.id, conversation.id, Message("assistant", f"Reply about {text}"))
        made[text] = conversation.id
    return made


def shows(page, text: str) -> None:
    """The chat whose first message is `text` is the one on the page."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stChatMessage").filter(has_text=f"Reply about {text}")).to_have_count(1)


def open_from_the_list(page, text: str) -> None:
    page.get_by_test_id("stSidebar").get_by_role("button", name=text).click()
    settle(page)
    shows(page, text)


def signed_in_on_chat(browser, server: Server):
    from playwright.sync_api import expect

    page = new_page(browser)
    page.goto(f"{server.url}/chat")
    sign_in(page)
    expect(page.get_by_text(SIGNED_IN)).to_be_visible()
    settle(page)
    return page


def test_a_chat_opened_is_still_open_after_a_reload(shared_server: Server, chats: dict[str, int], browser) -> None:
    page = signed_in_on_chat(browser, shared_server)
    open_from_the_list(page, "Notes on the garden")
    assert page.url.endswith(f"?chat={chats['Notes on the garden']}")
    page.reload()
    settle(page)
    shows(page, "Notes on the garden")
    assert page.url.endswith(f"?chat={chats['Notes on the garden']}")
    shoot(page, "chat-address-after-reload")
    page.context.close()


def test_back_and_forward_go_between_chats(shared_server: Server, chats: dict[str, int], browser) -> None:
    page = signed_in_on_chat(browser, shared_server)
    open_from_the_list(page, "Plans for the weekend")
    open_from_the_list(page, "Notes on the garden")
    page.go_back()
    settle(page)
    shows(page, "Plans for the weekend")
    assert page.url.endswith(f"?chat={chats['Plans for the weekend']}")
    page.go_forward()
    settle(page)
    shows(page, "Notes on the garden")
    assert page.url.endswith(f"?chat={chats['Notes on the garden']}")
    page.context.close()


def test_a_bookmarked_chat_opens_after_sign_in(shared_server: Server, chats: dict[str, int], browser) -> None:
    from playwright.sync_api import expect

    page = new_page(browser)
    page.goto(f"{shared_server.url}/chat?chat={chats['Plans for the weekend']}")
    sign_in(page)
    expect(page.get_by_text(SIGNED_IN)).to_be_visible()
    settle(page)
    shows(page, "Plans for the weekend")
    assert page.url.endswith(f"?chat={chats['Plans for the weekend']}")
    assert page.outbound == []
    page.context.close()
