"""A long chat in the Chat page (AppTest): its last page drawn, "Show older messages" drawing the page before it
above, the newest message always there, and a chat opened anew (or by its address) on its last page again."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.accounts.users import UserPublic
from core.chat.conversations import Message
from core.chat.paging import PAGE_SIZE
from core.services import Services
from tests.helpers import chat_page, open_page, page_text, shown_messages, signed_in

SIZE = 2 * PAGE_SIZE + PAGE_SIZE // 2  # two full pages and a shorter first one


def seeded(services: Services, user: UserPublic) -> int:
    """A saved chat of `SIZE` messages "message 0", "message 1", …, questions and replies taking turns."""
    messages = [
        Message("user" if n % 2 == 0 else "assistant", f"message {n}", model=None if n % 2 == 0 else "openai/gpt-4o")
        for n in range(SIZE)
    ]
    chat = services.conversations.create(user.id, first=messages)
    assert chat.id is not None
    return chat.id


def shown(at: AppTest) -> list[str]:
    return [text for _, text in shown_messages(at)]


def older_button(at: AppTest) -> str | None:
    found = [button.label for button in at.button if button.key == "chat_older"]
    return found[0] if found else None


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def test_a_long_chat_shows_its_last_page_and_the_older_ones_on_demand(services: Services, alice: UserPublic) -> None:
    chat_id = seeded(services, alice)
    at = click(chat_page(), f"chat_open:{chat_id}")
    assert shown(at) == [f"message {n}" for n in range(SIZE - PAGE_SIZE, SIZE)]
    assert older_button(at) == f"Show older messages ({SIZE - PAGE_SIZE} more)"
    assert f"This chat: {SIZE // 2} replies" in page_text(at), "the totals are the whole chat's"

    click(at, "chat_older")
    assert shown(at) == [f"message {n}" for n in range(SIZE - 2 * PAGE_SIZE, SIZE)], "the page before, above"
    assert older_button(at) == f"Show older messages ({SIZE - 2 * PAGE_SIZE} more)"
    at.run()  # a later run keeps what is shown
    assert len(shown(at)) == 2 * PAGE_SIZE

    click(at, "chat_older")
    assert shown(at) == [f"message {n}" for n in range(SIZE)] and older_button(at) is None

    click(at, "new_chat")
    click(at, f"chat_open:{chat_id}")
    assert len(shown(at)) == PAGE_SIZE and shown(at)[-1] == f"message {SIZE - 1}", "opened anew: its last page"


def test_the_address_lands_on_the_latest_messages(services: Services, alice: UserPublic) -> None:
    chat_id = seeded(services, alice)
    at = signed_in()
    at.query_params["chat"] = str(chat_id)
    open_page(at, "chat")
    assert shown(at)[-1] == f"message {SIZE - 1}" and len(shown(at)) == PAGE_SIZE
    assert older_button(at) == f"Show older messages ({SIZE - PAGE_SIZE} more)"


def test_a_short_chat_has_no_older_button(services: Services, alice: UserPublic) -> None:
    chat = services.conversations.create(alice.id, first=[Message("user", "hello"), Message("assistant", "hi")])
    at = click(chat_page(), f"chat_open:{chat.id}")
    assert shown(at) == ["hello", "hi"] and older_button(at) is None
