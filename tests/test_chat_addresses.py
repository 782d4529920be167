"""Chat's address in AppTest: `?chat=<id>` opens the user's own chat and follows every chat opened, `?model=<ref>`
(Models' "Chat with") a new chat with that model; the chat list's groups and search; the chat's menu."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import update
from streamlit.testing.v1 import AppTest

from core.accounts.users import UserPublic
from core.db.engine import session
from core.db.tables import ChatConversation
from core.services import Services
from tests.fakes.providers import FakeProviders
from tests.helpers import chat_list, chat_page, open_page, page_text, saved, send, shown_messages, signed_in, with_keys

NOT_FOUND = "That chat was not found. It may have been deleted, or the link is not yours. A new chat is open."


def at_address(user: str, **params: str) -> AppTest:
    """Chat opened at an address, as a bookmark or a new tab opens it (a new session, signed in)."""
    at = signed_in(user)
    at.query_params.update(params)
    return open_page(at, "chat")


def two_chats(services: Services, fake: FakeProviders, alice: UserPublic) -> tuple[int, int]:
    with_keys(services, fake, alice, "openai")
    at = send(chat_page(), "First question")
    first = saved(services, alice).id
    at.button(key="new_chat").click().run()
    send(at, "Second question")
    return first, saved(services, alice).id


def test_a_chats_address_opens_it_in_a_new_session(services: Services, fake: FakeProviders, alice: UserPublic) -> None:
    first, _ = two_chats(services, fake, alice)
    at = at_address("alice", chat=str(first))
    assert shown_messages(at) == [("user", "First question"), ("assistant", fake.reply_text("openai", "gpt-4o-mini"))]
    assert at.query_params == {"chat": str(first)} and not at.toast
    assert [b.proto.type for b in at.sidebar.button if b.key == f"chat_open:{first}"] == ["primary"], "highlighted"


@pytest.mark.parametrize("value", ["other user's", "999999", "0", "-1", "abc", "1e3", "9" * 40, ""])
def test_an_address_naming_no_chat_of_the_users_opens_a_new_chat_with_a_notice(
    services: Services, fake: FakeProviders, alice: UserPublic, bob: UserPublic, value: str
) -> None:
    with_keys(services, fake, alice, "openai")
    send(chat_page("alice"), "Alice's secret plan")
    alices = saved(services, alice).id
    at = at_address("bob", chat=str(alices) if value == "other user's" else value)
    assert shown_messages(at) == [] and chat_list(at) == []
    assert "secret plan" not in page_text(at)
    assert [t.value for t in at.toast] == [NOT_FOUND]
    assert at.query_params == {}, "the address no longer names it"
    assert services.conversations.get(alice.id, alices).title == "Alice's secret plan", "nothing of Alice's changed"


def test_the_address_follows_the_chat_opened(services: Services, fake: FakeProviders, alice: UserPublic) -> None:
    with_keys(services, fake, alice, "openai")
    at = chat_page()
    assert at.query_params == {}
    send(at, "First question")
    first = saved(services, alice).id
    assert at.query_params == {"chat": str(first)}, "set in the run that saved the chat's first message"
    at.button(key="new_chat").click().run()
    assert at.query_params == {}
    send(at, "Second question")
    second = saved(services, alice).id
    assert at.query_params == {"chat": str(second)}
    at.sidebar.button(key=f"chat_open:{first}").click().run()
    assert at.query_params == {"chat": str(first)} and shown_messages(at)[0] == ("user", "First question")


def test_an_address_changed_by_the_browser_wins_over_the_session(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    """Back and forward, or an address typed: the run opens what the address names."""
    first, second = two_chats(services, fake, alice)
    at = at_address("alice", chat=str(second))
    at.query_params["chat"] = str(first)
    at.run()
    assert shown_messages(at)[0] == ("user", "First question")
    del at.query_params["chat"]  # Chat's entry in the page list: the address names no chat
    at.run()
    assert shown_messages(at)[0] == ("user", "First question"), "the chat open stays open"
    assert at.query_params == {"chat": str(first)}, "and its address is written again"


def test_chat_with_from_models_opens_a_new_chat_with_the_model(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai", "anthropic")
    at = send(chat_page(), "An open chat")
    at = open_page(at, "models")
    at.session_state["models_table:anthropic"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    at.button(key="models_chat:anthropic").click().run()
    assert not at.exception, at.exception
    model = at.selectbox(key="chat_model").value
    assert model.startswith("anthropic/") and shown_messages(at) == [], "a new chat, that model picked"
    assert at.query_params == {"model": model}, "a reload or bookmark opens the same"
    send(open_page(at, "chat"), "Hello Claude")  # AppTest's own page stays Models after a switch_page
    assert saved(services, alice).messages[-1].model == model
    assert at.query_params == {"chat": str(saved(services, alice).id)}


def test_the_chat_list_is_grouped_by_day_with_short_titles(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai")
    long = "Which of these twelve restaurants near the station is open late tonight?"
    at = send(chat_page(), long)
    old = saved(services, alice).id
    with session(services.engine) as db:
        db.exec(update(ChatConversation).values(updated_at=datetime.now(UTC) - timedelta(days=30)))
        db.commit()
    at.button(key="new_chat").click().run()
    send(at, "Today's question")
    captions = [c.value for c in at.sidebar.caption]
    assert captions.index("Today") < captions.index("Older")
    assert chat_list(at) == ["Today's question", "Which of these twelve restaurants near…"]
    assert at.sidebar.button(key=f"chat_open:{old}").help == services.conversations.get(alice.id, old).title


def test_search_finds_chats_by_title_and_message_text(
    services: Services, fake: FakeProviders, alice: UserPublic, bob: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai")
    with_keys(services, fake, bob, "openai")
    send(chat_page("bob"), "Bob talks about lisbon")
    at = send(chat_page(), "Plan a trip")
    at.button(key="new_chat").click().run()
    send(at, "Something else entirely")
    at.sidebar.text_input(key="chat_search").input("trip").run()
    assert chat_list(at) == ["Plan a trip"]
    at.sidebar.text_input(key="chat_search").input(fake.reply_text("openai", "gpt-4o-mini")[:12]).run()
    assert chat_list(at) == ["Something else entirely", "Plan a trip"], "replies are searched too"
    at.sidebar.text_input(key="chat_search").input("lisbon").run()
    assert chat_list(at) == [] and "No chat matches that." in [c.value for c in at.sidebar.caption]
    at.sidebar.text_input(key="chat_search").input("").run()
    assert len(chat_list(at)) == 2


def test_rename_in_the_menu_and_the_title_shown_above_the_chat(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai")
    at = send(chat_page(), "Plan a trip")
    conversation_id = saved(services, alice).id
    assert not [e for e in at.expander if "rename" in e.label], "no menu expander above the messages"
    assert [s.value for s in at.subheader if s.value == "Plan a trip"], "the chat's title, its menu beside it"
    at.text_input(key=f"chat_title:{conversation_id}").input("Trip *plans*").run()
    at.button(key="chat_rename").click().run()
    assert services.conversations.get(alice.id, conversation_id).title == "Trip *plans*"
    assert "Trip \\*plans\\*" in [s.value for s in at.subheader], "shown as typed, not as Markdown"
