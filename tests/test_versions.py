"""Versions of a chat's turns (core/chat/versions.py): a regenerated reply and an edited message keep the older
versions, one shown at a time, and only what is shown is sent back to the model and counted; a failed reply stays
on the page but is neither sent nor counted."""

from __future__ import annotations

import json

import pytest

from core.accounts.users import UserPublic
from core.chat.conversations import Conversation, ConversationNotFound, GenerationSettings, Message
from core.chat.export import describe_usage, to_json, to_markdown
from core.chat.turn import Turn
from core.chat.versions import Versions
from core.errors import InvalidInput
from core.services import Services
from tests.fakes.providers import FakeProviders
from tests.helpers import chat_posts, with_keys

pytestmark = pytest.mark.both_backends

MODEL = "openai/gpt-4o"


def done(turn: Turn) -> Message:
    list(turn.batches())
    return turn.finish()


def said(services: Services, fake: FakeProviders, user: UserPublic, *texts: str) -> Conversation:
    """A saved chat with one message per text, each answered "re: <text>"."""
    conversation = Conversation()
    for text in texts:
        fake.reply = f"re: {text}"
        done(services.chat.send(user.id, conversation, text, MODEL))
        conversation = services.conversations.get(user.id, conversation.id)  # type: ignore[arg-type]
    return conversation


def contents(conversation: Conversation) -> list[str]:
    return [m.content for m in conversation.messages]


def last_sent(fake: FakeProviders) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in chat_posts(fake, "openai")[-1].body["messages"]]


def test_regenerating_keeps_the_old_reply_as_an_earlier_version(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai")
    chat = said(services, fake, alice, "Hi")
    first = chat.messages[-1]
    fake.reply = "hello again"
    again = done(services.chat.regenerate(alice.id, chat, MODEL))

    chat = services.conversations.get(alice.id, chat.id)  # type: ignore[arg-type]
    assert contents(chat) == ["Hi", "hello again"]
    assert chat.versions == {again.id: Versions((first.id, again.id), 1)}  # type: ignore[arg-type]
    assert chat.versions[again.id].label == "2 / 2"  # type: ignore[index]
    assert chat.usage().replies == 1, "only the version shown counts"

    services.chat.show_version(alice.id, chat, first.id)  # type: ignore[arg-type]
    chat = services.conversations.get(alice.id, chat.id)  # type: ignore[arg-type]
    assert contents(chat) == ["Hi", "re: Hi"]
    assert chat.versions[first.id].label == "1 / 2"  # type: ignore[index]
    fake.reply = "ok"
    done(services.chat.send(alice.id, chat, "And then?", MODEL))
    assert last_sent(fake) == [("user", "Hi"), ("assistant", "re: Hi"), ("user", "And then?")], "the version shown"
    chat = services.conversations.get(alice.id, chat.id)  # type: ignore[arg-type]
    assert contents(chat) == ["Hi", "re: Hi", "And then?", "ok"]


def test_an_edit_goes_on_from_the_edited_message_and_the_old_branch_is_kept(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai")
    chat = said(services, fake, alice, "Name a fruit", "Another one")
    original = chat.messages[0]
    fake.reply = "Carrot"
    turn = services.chat.edit(alice.id, chat, original.id, "  Name a vegetable ", MODEL)  # type: ignore[arg-type]
    assert contents(chat) == [], "the page's conversation now ends before the edited message"
    done(turn)
    assert last_sent(fake) == [("user", "Name a vegetable")], "what followed the old message is not sent"

    chat = services.conversations.get(alice.id, chat.id)  # type: ignore[arg-type]
    assert contents(chat) == ["Name a vegetable", "Carrot"]
    edited = chat.messages[0]
    assert chat.versions[edited.id] == Versions((original.id, edited.id), 1)  # type: ignore[arg-type,index]
    assert chat.title == "Name a fruit", "an edit does not rename the chat"

    services.chat.show_version(alice.id, chat, original.id)  # type: ignore[arg-type]
    back = services.conversations.get(alice.id, chat.id)  # type: ignore[arg-type]
    assert contents(back) == ["Name a fruit", "re: Name a fruit", "Another one", "re: Another one"]
    assert back.versions[original.id].label == "1 / 2"  # type: ignore[index]


@pytest.mark.parametrize("text", ["", "   ", "x" * 100_001])
def test_a_refused_edit_changes_nothing(services: Services, fake: FakeProviders, alice: UserPublic, text: str) -> None:
    with_keys(services, fake, alice, "openai")
    chat = said(services, fake, alice, "Hi")
    posts = len(chat_posts(fake, "openai"))
    with pytest.raises(InvalidInput):
        services.chat.edit(alice.id, chat, chat.messages[0].id, text, MODEL)  # type: ignore[arg-type]
    assert contents(chat) == ["Hi", "re: Hi"]
    saved = services.conversations.get(alice.id, chat.id)  # type: ignore[arg-type]
    assert (contents(saved), saved.versions) == (["Hi", "re: Hi"], {})
    assert len(chat_posts(fake, "openai")) == posts, "nothing was sent"


def test_only_the_users_own_messages_shown_can_be_edited(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai")
    chat = said(services, fake, alice, "Hi")
    for message_id in (chat.messages[1].id, 10_000):  # a reply; a message that is not in the chat
        with pytest.raises(InvalidInput):
            services.chat.edit(alice.id, chat, message_id, "Hello", MODEL)  # type: ignore[arg-type]


def test_a_failed_reply_stays_in_the_chat_but_is_not_sent_or_counted(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai")
    chat = said(services, fake, alice, "Hi")
    fake.fail("openai", "forbidden")
    failed = done(services.chat.send(alice.id, chat, "Still there?", MODEL))
    assert failed.error
    chat = services.conversations.get(alice.id, chat.id)  # type: ignore[arg-type]
    assert [(m.content, bool(m.error)) for m in chat.messages][-2:] == [("Still there?", False), ("", True)]
    assert chat.usage() == Conversation(messages=chat.messages[:2]).usage(), "the failed reply is not counted"
    assert describe_usage(chat.usage()).startswith("This chat: 1 reply · ")

    fake.reply = "yes"
    done(services.chat.send(alice.id, chat, "Hello?", MODEL))
    assert last_sent(fake) == [
        ("user", "Hi"),
        ("assistant", "re: Hi"),
        ("user", "Still there?"),
        ("user", "Hello?"),
    ], "the failed reply is left out, the message it failed to answer is kept"


def test_for_provider_and_usage_skip_failed_replies() -> None:
    failed = Message("assistant", "half a repl", model=MODEL, error="OpenAI is down.", prompt_tokens=5, cost=1.0)
    ok = Message("assistant", "fine", model=MODEL, prompt_tokens=3, completion_tokens=2, cost=0.5)
    chat = Conversation(
        settings=GenerationSettings("Be brief."), messages=[Message("user", "a"), failed, Message("user", "b"), ok]
    )
    assert chat.for_provider() == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "a"},
        {"role": "user", "content": "b"},
        {"role": "assistant", "content": "fine"},
    ]
    usage = chat.usage()
    assert (usage.replies, usage.prompt_tokens, usage.completion_tokens, usage.cost) == (1, 3, 2, 0.5)


def test_exports_hold_the_versions_shown_and_say_where_there_are_others(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai")
    chat = said(services, fake, alice, "Hi")
    fake.reply = "second take"
    done(services.chat.regenerate(alice.id, chat, MODEL))
    chat = services.conversations.get(alice.id, chat.id)  # type: ignore[arg-type]
    markdown = to_markdown(chat)
    assert "second take" in markdown and "re: Hi" not in markdown
    assert "_Version 2 of 2; the others are not in this export._" in markdown
    messages = json.loads(to_json(chat))["messages"]
    assert [(m["content"], m.get("version")) for m in messages] == [("Hi", None), ("second take", "2 / 2")]


def test_another_user_cannot_show_a_version_of_a_chat_not_theirs(
    services: Services, fake: FakeProviders, alice: UserPublic, bob: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai")
    with_keys(services, fake, bob, "openai")
    alices = said(services, fake, alice, "Hi")
    done(services.chat.regenerate(alice.id, alices, MODEL))
    bobs = said(services, fake, bob, "Hey")
    old = services.conversations.get(alice.id, alices.id).versions  # type: ignore[arg-type]
    [versions] = old.values()
    with pytest.raises(ConversationNotFound):
        services.conversations.show_version(bob.id, alices.id, versions.ids[0])  # type: ignore[arg-type]
    with pytest.raises(ConversationNotFound):  # his own chat's id, her message
        services.conversations.show_version(bob.id, bobs.id, versions.ids[0])  # type: ignore[arg-type]
    assert services.conversations.get(alice.id, alices.id).versions == old  # type: ignore[arg-type]
