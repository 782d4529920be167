"""A long chat a page at a time (core/chat/paging.py): the last messages shown, the page before a given one, how
many come before, the versions and totals of a page, each user's own only; what the model is sent stays whole."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from core.accounts.users import UserPublic
from core.chat.conversations import Conversation, ConversationNotFound, Message
from core.chat.paging import PAGE_SIZE, above
from core.chat.turn import Turn
from core.services import Services
from tests.fakes.providers import FakeProviders
from tests.helpers import chat_posts, with_keys

pytestmark = pytest.mark.both_backends

MODEL = "openai/gpt-4o"


def long_chat(services: Services, user: UserPublic, size: int = 120) -> int:
    """A saved chat of `size` messages "m0", "m1", …, replies priced or not, the third failed (no text)."""
    messages = [
        Message("user", f"m{n}")
        if n % 2 == 0
        else Message("assistant", f"m{n}", model=MODEL, prompt_tokens=n, completion_tokens=1, cost=0.25 * (n % 3))
        for n in range(size)
    ]
    if size > 5:  # failed before any text arrived
        messages[5] = Message("assistant", "", model=MODEL, error="It failed.", prompt_tokens=1000)
    chat = services.conversations.create(user.id, first=messages)
    assert chat.id is not None
    return chat.id


def contents(conversation: Conversation) -> list[str]:
    return [m.content for m in conversation.messages]


def done(turn: Turn) -> Message:
    list(turn.batches())
    return turn.finish()


LIMIT = 50  # pages of 50: 120 messages are two full pages and a shorter first one


def test_a_chat_opens_on_its_last_page_and_pages_back_to_its_first_message(
    services: Services, alice: UserPublic
) -> None:
    chat_id = long_chat(services, alice)
    store = services.conversations
    last = store.page(alice.id, chat_id, limit=LIMIT)
    assert contents(last) == [f"m{n}" for n in range(120 - LIMIT, 120)]
    assert len(last.messages) == LIMIT
    assert last.earlier == 120 - LIMIT
    before = store.page(alice.id, chat_id, before=last.messages[0].id, limit=LIMIT)
    assert contents(before) == [f"m{n}" for n in range(120 - 2 * LIMIT, 120 - LIMIT)]
    assert before.earlier == 120 - 2 * LIMIT
    first = store.page(alice.id, chat_id, before=before.messages[0].id, limit=LIMIT)
    assert contents(first) == [f"m{n}" if n != 5 else "" for n in range(120 - 2 * LIMIT)] and first.earlier == 0
    nothing = store.page(alice.id, chat_id, before=first.messages[0].id, limit=LIMIT)
    assert nothing.messages == [], "nothing before the first"
    shown = above(first, above(before, last))
    assert shown.messages == store.get(alice.id, chat_id).messages and shown.earlier == 0


def test_a_short_chat_is_one_page(services: Services, alice: UserPublic) -> None:
    chat_id = long_chat(services, alice, size=10)
    page = services.conversations.page(alice.id, chat_id)
    assert page.messages == services.conversations.get(alice.id, chat_id).messages and page.earlier == 0
    empty = services.conversations.create(alice.id)
    assert services.conversations.page(alice.id, empty.id).messages == []  # type: ignore[arg-type]


def test_a_pages_totals_count_the_whole_chat(services: Services, alice: UserPublic) -> None:
    chat_id = long_chat(services, alice)
    whole = services.conversations.get(alice.id, chat_id)
    page = services.conversations.page(alice.id, chat_id)
    assert page.earlier_usage is not None and page.usage() == whole.usage()
    assert whole.usage().replies == 59, "the failed reply is not counted, before the page as on it"
    assert page.usage() != Conversation(messages=page.messages).usage()


def test_the_last_page_is_read_in_one_query_limited_in_sql(services: Services, alice: UserPublic) -> None:
    chat_id = long_chat(services, alice, size=1_000)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(services.engine, "before_cursor_execute", seen)
    try:
        page = services.conversations.page(alice.id, chat_id)
    finally:
        event.remove(services.engine, "before_cursor_execute", seen)
    assert len(page.messages) == PAGE_SIZE and page.earlier == 1_000 - PAGE_SIZE
    reading = [s for s in statements if "chat_message.content" in s]
    assert len(reading) == 1 and "LIMIT" in reading[0].upper(), reading


def test_another_users_chat_gives_nothing(services: Services, alice: UserPublic, bob: UserPublic) -> None:
    chat_id = long_chat(services, alice)
    with pytest.raises(ConversationNotFound):
        services.conversations.page(bob.id, chat_id)
    mine = long_chat(services, bob, size=4)
    alices = services.conversations.page(alice.id, chat_id).messages[0].id
    assert services.conversations.page(bob.id, mine, before=alices).messages == [], "her message is not in his chat"


def test_a_page_shows_the_versions_shown_with_their_labels(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai")
    chat = Conversation()
    for n in range(3):
        fake.reply = f"re: q{n}"
        done(services.chat.send(alice.id, chat, f"q{n}", MODEL))
    fake.reply = "again"
    chat = services.conversations.page(alice.id, chat.id, limit=2)  # type: ignore[arg-type]
    again = done(services.chat.regenerate(alice.id, chat, MODEL))
    whole = services.conversations.get(alice.id, chat.id)  # type: ignore[arg-type]
    question = whole.messages[2]
    fake.reply = "edited answer"
    done(services.chat.edit(alice.id, whole, question.id, "q1, edited", MODEL))  # type: ignore[arg-type]

    whole = services.conversations.get(alice.id, chat.id)  # type: ignore[arg-type]
    assert contents(whole) == ["q0", "re: q0", "q1, edited", "edited answer"]
    for limit in (1, 2, 3, 4):
        page = services.conversations.page(alice.id, chat.id, limit=limit)  # type: ignore[arg-type]
        assert page.messages == whole.messages[-limit:] and page.earlier == 4 - limit
        assert page.versions == {m.id: whole.versions[m.id] for m in page.messages if m.id in whole.versions}
    assert whole.versions[whole.messages[2].id].label == "2 / 2"  # type: ignore[index]
    services.chat.show_version(alice.id, whole, question.id)  # type: ignore[arg-type]
    page = services.conversations.page(alice.id, chat.id, limit=3)  # type: ignore[arg-type]
    assert contents(page) == ["re: q1", "q2", "again"], "the old version, with its own continuation"
    assert page.messages[-1].id == again.id and page.versions[again.id].label == "2 / 2"
    assert page.messages == services.conversations.get(alice.id, chat.id).messages[-3:]  # type: ignore[arg-type]


def test_sending_from_a_page_sends_the_whole_chat(services: Services, fake: FakeProviders, alice: UserPublic) -> None:
    with_keys(services, fake, alice, "openai")
    chat_id = long_chat(services, alice)
    page = services.conversations.page(alice.id, chat_id)
    fake.reply = "fine"
    done(services.chat.send(alice.id, page, "And now?", MODEL))
    sent = [m["content"] for m in chat_posts(fake, "openai")[-1].body["messages"]]
    assert sent == [f"m{n}" for n in range(120) if n != 5] + ["And now?"], "the failed reply left out, nothing else"
    assert contents(page)[-1] == "And now?", "the page goes on with the turn"
    fake.reply = "regenerated"
    done(services.chat.regenerate(alice.id, services.conversations.page(alice.id, chat_id), MODEL))
    sent = [m["content"] for m in chat_posts(fake, "openai")[-1].body["messages"]]
    assert sent[0] == "m0" and sent[-1] == "And now?" and len(sent) == 120
