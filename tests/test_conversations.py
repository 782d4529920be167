"""Saved conversations: per-user isolation, titles, settings, cascade on user deletion, exports."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, func, select

from core.accounts.users import UserPublic
from core.chat.conversations import (
    MAX_TITLE_CHARS,
    MESSAGE_FIELDS,
    UNTITLED,
    Conversation,
    ConversationNotFound,
    ConversationStore,
    GenerationSettings,
    Message,
    clean_prompt,
    clean_settings,
    title_from,
)
from core.chat.export import EXPORT_NAMES, NOT_EXPORTED, describe_reply, export_name, format_cost, to_json, to_markdown
from core.db.tables import ChatConversation, ChatMessage
from core.errors import InvalidInput
from core.services import Services

pytestmark = pytest.mark.both_backends


def reply(text: str, model: str = "openai/gpt-4o", **usage: Any) -> Message:
    return Message("assistant", text, model=model, **usage)


def chat(store: ConversationStore, user: UserPublic, *texts: str) -> int:
    """A saved conversation with one user message and one reply per text."""
    conversation = store.create(user.id)
    for text in texts:
        store.add_message(user.id, conversation.id, Message("user", text))
        store.add_message(user.id, conversation.id, reply(f"answer to {text}"))
    return conversation.id


def test_a_conversation_keeps_its_messages_in_order(services: Services, alice: UserPublic) -> None:
    store = services.conversations
    conversation_id = chat(store, alice, "first", "second")
    saved = store.get(alice.id, conversation_id)
    assert [(m.role, m.content) for m in saved.messages] == [
        ("user", "first"),
        ("assistant", "answer to first"),
        ("user", "second"),
        ("assistant", "answer to second"),
    ]
    assert saved.messages[1].model == "openai/gpt-4o"
    assert saved.title == "first", "named after its first message"


def test_a_conversation_is_created_with_its_first_message_in_one_go(services: Services, alice: UserPublic) -> None:
    store = services.conversations
    settings = GenerationSettings("Be brief.", 0.2, 300)
    created = store.create(alice.id, settings, first=[Message("user", "Plan a trip to Lisbon")])
    [first] = created.messages
    assert first.id is not None and first.created_at is not None
    saved = store.get(alice.id, created.id)
    assert saved.title == created.title == "Plan a trip to Lisbon"
    assert saved.settings == settings
    assert [(m.id, m.role, m.content) for m in saved.messages] == [(first.id, "user", "Plan a trip to Lisbon")]


def test_the_list_is_newest_first_by_last_activity(services: Services, alice: UserPublic) -> None:
    store = services.conversations
    older = chat(store, alice, "older")
    newer = chat(store, alice, "newer")
    assert [c.id for c in store.list(alice.id)] == [newer, older]
    store.add_message(alice.id, older, Message("user", "back to this one"))
    assert [c.title for c in store.list(alice.id)] == ["older", "newer"]


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Explain quicksort", "Explain quicksort"),
        ("\n\n  Two   spaces\nsecond line", "Two spaces"),
        ("x" * 100, "x" * 59 + "…"),
        ("   ", UNTITLED),
    ],
)
def test_title_from_the_first_message(text: str, title: str) -> None:
    assert title_from(text) == title


def test_rename_is_cleaned_and_refuses_empty_or_odd_titles(services: Services, alice: UserPublic) -> None:
    store = services.conversations
    conversation_id = chat(store, alice, "hi")
    assert store.rename(alice.id, conversation_id, "  Trip   plans ") == "Trip plans"
    assert store.rename(alice.id, conversation_id, "a\x00b\u202e") == "ab", "invisible characters are removed"
    assert store.rename(alice.id, conversation_id, "  Trip   plans ") == "Trip plans"
    for bad in ("", "   ", "\x00\u202e", "t" * (MAX_TITLE_CHARS + 1)):
        with pytest.raises(InvalidInput):
            store.rename(alice.id, conversation_id, bad)
    assert store.get(alice.id, conversation_id).title == "Trip plans"


def test_settings_are_kept_per_conversation(services: Services, alice: UserPublic) -> None:
    store = services.conversations
    first = store.create(alice.id, GenerationSettings("Be terse.", 0.2, 300))
    second = store.create(alice.id)
    store.update_settings(alice.id, second.id, GenerationSettings("Be verbose.", None, 2000))
    assert store.get(alice.id, first.id).settings == GenerationSettings("Be terse.", 0.2, 300)
    assert store.get(alice.id, second.id).settings == GenerationSettings("Be verbose.", None, 2000)


@pytest.mark.parametrize(
    ("system", "temperature", "max_tokens", "field"),
    [
        ("x" * 20_001, None, 100, "system"),
        ("", -0.1, 100, "temperature"),
        ("", 2.5, 100, "temperature"),
        ("", None, 0, "max_tokens"),
        ("", None, 1_000_000, "max_tokens"),
    ],
)
def test_bad_settings_are_refused_at_their_field(
    system: str, temperature: float | None, max_tokens: int, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        clean_settings(system, temperature, max_tokens)
    assert refused.value.field == field


def test_good_settings_are_trimmed() -> None:
    assert clean_settings("  Line one\nLine two  ", 0.7, None) == GenerationSettings("Line one\nLine two", 0.7, None)


def test_a_replacement_deletes_only_a_message_of_its_own_conversation(services: Services, alice: UserPublic) -> None:
    store = services.conversations
    mine, other = chat(store, alice, "a"), chat(store, alice, "b")
    store.add_message(alice.id, mine, reply("new"), replaces=store.get(alice.id, other).messages[-1].id)
    assert [m.content for m in store.get(alice.id, other).messages] == ["b", "answer to b"]
    assert [m.content for m in store.get(alice.id, mine).messages] == ["a", "answer to a", "new"]
    store.add_message(alice.id, mine, reply("newer"), replaces=store.get(alice.id, mine).messages[-1].id)
    assert [m.content for m in store.get(alice.id, mine).messages] == ["a", "answer to a", "newer"]


# Everything Bob might try on Alice's conversation (given its id and its last message's); each must fail as if it
# did not exist.
ATTEMPTS: dict[str, Callable[[ConversationStore, int, int, int], Any]] = {
    "read": lambda store, user_id, cid, mid: store.get(user_id, cid),
    "rename": lambda store, user_id, cid, mid: store.rename(user_id, cid, "mine now"),
    "change settings": lambda store, user_id, cid, mid: store.update_settings(user_id, cid, GenerationSettings("x")),
    "write a message": lambda store, user_id, cid, mid: store.add_message(user_id, cid, Message("user", "injected")),
    "replace a reply": lambda store, user_id, cid, mid: store.add_message(user_id, cid, reply("forged"), replaces=mid),
    "show a version": lambda store, user_id, cid, mid: store.show_version(user_id, cid, mid),
}


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=str)
def test_another_user_can_never_touch_a_conversation(
    services: Services, alice: UserPublic, bob: UserPublic, attempt: str
) -> None:
    store = services.conversations
    alices = chat(store, alice, "private question")
    before = store.get(alice.id, alices)
    with pytest.raises(ConversationNotFound):
        ATTEMPTS[attempt](store, bob.id, alices, before.messages[-1].id)
    assert store.get(alice.id, alices) == before
    assert store.list(bob.id) == []


def test_another_user_cannot_delete_or_list_a_conversation(
    services: Services, alice: UserPublic, bob: UserPublic
) -> None:
    store = services.conversations
    alices = chat(store, alice, "private question")
    assert store.delete(bob.id, alices) is False
    assert [c.id for c in store.list(alice.id)] == [alices]
    assert store.delete(alice.id, alices) is True
    with pytest.raises(ConversationNotFound):
        store.get(alice.id, alices)


@pytest.mark.parametrize("conversation_id", [0, -1, 999_999])
def test_unknown_conversation_ids_are_not_found(services: Services, alice: UserPublic, conversation_id: int) -> None:
    with pytest.raises(ConversationNotFound):
        services.conversations.get(alice.id, conversation_id)


def count(services: Services, table: type) -> int:
    with Session(services.engine) as db:
        return db.exec(select(func.count()).select_from(table)).one()


def test_deleting_a_user_deletes_their_chats_and_only_theirs(
    services: Services, alice: UserPublic, bob: UserPublic
) -> None:
    store = services.conversations
    chat(store, alice, "one", "two")
    bobs = chat(store, bob, "bob's")
    services.users.delete("alice")
    assert count(services, ChatConversation) == 1 and count(services, ChatMessage) == 2
    assert [c.id for c in store.list(bob.id)] == [bobs]


def test_deleting_a_conversation_deletes_its_messages(services: Services, alice: UserPublic) -> None:
    conversation_id = chat(services.conversations, alice, "one")
    services.conversations.delete(alice.id, conversation_id)
    assert count(services, ChatMessage) == 0


def test_json_export_holds_every_message_with_its_model_usage_and_cost(services: Services, alice: UserPublic) -> None:
    store = services.conversations
    conversation = store.create(alice.id, GenerationSettings("Be kind.", 0.5, 512))
    store.add_message(alice.id, conversation.id, Message("user", "Hi *there*"))
    store.add_message(
        alice.id, conversation.id, reply("Hello", prompt_tokens=3, completion_tokens=2, cost=0.00012, interrupted=True)
    )
    saved = store.get(alice.id, conversation.id)
    document = json.loads(to_json(saved))
    assert document["title"] == "Hi *there*"
    assert document["settings"] == {"system_prompt": "Be kind.", "temperature": 0.5, "max_tokens": 512}
    assert [(m["role"], m["content"], m["model"]) for m in document["messages"]] == [
        ("user", "Hi *there*", None),
        ("assistant", "Hello", "openai/gpt-4o"),
    ]
    last = document["messages"][1]
    assert (last["prompt_tokens"], last["completion_tokens"], last["cost_usd"], last["interrupted"]) == (
        3,
        2,
        0.00012,
        True,
    )


def test_markdown_export_reads_as_a_transcript(services: Services, alice: UserPublic) -> None:
    store = services.conversations
    conversation = store.create(alice.id, GenerationSettings("Be kind."))
    store.add_message(alice.id, conversation.id, Message("user", "Question?"))
    store.add_message(alice.id, conversation.id, reply("Answer.", cost=None))
    store.add_message(alice.id, conversation.id, Message("user", "Another?"))
    store.add_message(
        alice.id, conversation.id, Message("assistant", "", model="xai/grok-2", error="xAI rejected the saved key.")
    )
    text = to_markdown(store.get(alice.id, conversation.id))
    assert text.startswith("# Question?\n")
    for part in ("Be kind.", "## You", "Question?", "## Assistant (openai/gpt-4o)", "Answer.", "cost unknown"):
        assert part in text
    assert "> **Error:** xAI rejected the saved key." in text
    assert text.index("Question?\n\n## Assistant") < text.index("Another?")


@pytest.mark.parametrize(
    ("title", "name"),
    [("Trip to Köln / 2025!", "chat-trip-to-k-ln-2025.md"), ("", "chat-new-chat.md"), ("???", "chat-conversation.md")],
)
def test_export_file_names_are_safe(title: str, name: str) -> None:
    from core.chat.conversations import Conversation

    assert export_name(Conversation(title=title), "md") == name


def test_cost_wording() -> None:
    assert format_cost(None) == "unknown"
    assert format_cost(0.000123) == "$0.000123"
    assert format_cost(1.5) == "$1.5000"
    assert "tokens unknown · cost unknown" in describe_reply(reply("x"))
    assert describe_reply(reply("x", prompt_tokens=1, completion_tokens=2, cost=0.5, interrupted=True)).endswith(
        "1 in / 2 out tokens · cost $0.5000 · interrupted"
    )


# NUL, a bell, C1 controls, right-to-left override and isolate characters: the same cleaning everywhere.
UNSAFE = "a\x00b\x07c\x85d\u202ee\u2066f\u2069"


@pytest.mark.parametrize(
    "where",
    ["message", "title from the message", "rename", "system prompt"],
)
def test_invisible_control_characters_are_cleaned_the_same_way_everywhere(
    services: Services, alice: UserPublic, where: str
) -> None:
    store = services.conversations
    created = store.create(alice.id, first=[Message("user", clean_prompt(f"Hi {UNSAFE}\n\tsecond line"))])
    cleaned = {
        "message": lambda: store.get(alice.id, created.id).messages[0].content,
        "title from the message": lambda: store.get(alice.id, created.id).title,
        "rename": lambda: store.rename(alice.id, created.id, UNSAFE),
        "system prompt": lambda: clean_settings(UNSAFE, None, None).system_prompt,
    }[where]()
    assert "abcdef" in cleaned and not (set(cleaned) & set("\x00\x07\x85\u202e\u2066\u2069"))
    if where == "message":
        assert cleaned.endswith("\n\tsecond line"), "line breaks and tabs are kept"


def test_a_messages_fields_are_named_once() -> None:
    """The table, the view's Message and the JSON export agree on a message's fields, so a new one reaches all."""
    versions = {"parent_id", "active"}  # where a message sits among its turn's versions (core/chat/versions.py)
    assert set(ChatMessage.model_fields) == {*MESSAGE_FIELDS, "conversation_id", *versions}
    message = Message(role="assistant", content="hi", model="openai/gpt-4o", cost=0.5, prompt_tokens=3)
    exported = json.loads(to_json(Conversation(id=1, title="t", messages=[message])))["messages"][0]
    assert set(exported) == {EXPORT_NAMES.get(name, name) for name in MESSAGE_FIELDS} - NOT_EXPORTED
    assert (exported["cost_usd"], exported["prompt_tokens"], exported["model"]) == (0.5, 3, "openai/gpt-4o")
