"""The Chat page's versions, edits and failed replies in Streamlit's AppTest, against the loopback provider fakes
through the real litellm client (the copy button is tested in a browser: tests/test_browser_versions.py)."""

from __future__ import annotations

import base64

from streamlit.testing.v1 import AppTest

from core.accounts.users import UserPublic
from core.services import Services
from tests.fakes.providers import FakeProviders
from tests.helpers import chat_page, chat_posts, page_text, saved, send, shown_messages, with_keys


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def edit_boxes(at: AppTest) -> list[str]:
    return [box.key for box in at.text_area if (box.key or "").startswith("chat_edit_text:")]


def captions(at: AppTest) -> list[str]:
    return [caption.value for caption in at.caption]


def test_regenerate_keeps_the_old_reply_and_flipping_back_shows_it(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai")
    fake.reply = "The first answer."
    at = send(chat_page(), "Hi")
    first = saved(services, alice).messages[-1]
    fake.reply = "The second answer."
    click(at, "chat_regenerate")
    assert shown_messages(at) == [("user", "Hi"), ("assistant", "The second answer.")]
    assert "2 / 2" in captions(at), "the streamed reply says it is the second version"
    [copy] = [element.proto.body for element in at.get("html") if "clipboard" in element.proto.body]
    assert base64.b64encode(b"The second answer.").decode() in copy and "The second answer." not in copy
    second = saved(services, alice).messages[-1]
    assert at.button(key=f"chat_version_on:{second.id}").disabled

    click(at, f"chat_version_back:{second.id}")
    assert shown_messages(at) == [("user", "Hi"), ("assistant", "The first answer.")]
    assert "1 / 2" in captions(at) and "This chat: 1 reply" in page_text(at)
    assert saved(services, alice).messages[-1].id == first.id, "the version shown is kept"
    fake.reply = "Fine."
    send(at, "And then?")
    sent = [(m["role"], m["content"]) for m in chat_posts(fake, "openai")[-1].body["messages"]]
    assert sent == [("user", "Hi"), ("assistant", "The first answer."), ("user", "And then?")]

    at.run()  # a later run: the flip is kept
    click(at, f"chat_version_on:{first.id}")
    assert shown_messages(at) == [("user", "Hi"), ("assistant", "The second answer.")], "its own continuation"


def test_an_edited_message_gets_a_new_reply_and_the_old_branch_is_kept(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai")
    fake.reply = "Apple."
    at = send(chat_page(), "Name a fruit")
    fake.reply = "Pear."
    send(at, "Another one")
    question = saved(services, alice).messages[0]
    click(at, f"chat_edit:{question.id}")
    assert at.text_area(key=f"chat_edit_text:{question.id}").value == "Name a fruit"
    at.text_area(key=f"chat_edit_text:{question.id}").input("Name a vegetable")
    fake.reply = "Carrot."
    click(at, f"chat_edit_save:{question.id}")
    assert shown_messages(at) == [("user", "Name a vegetable"), ("assistant", "Carrot.")]
    sent = [(m["role"], m["content"]) for m in chat_posts(fake, "openai")[-1].body["messages"]]
    assert sent == [("user", "Name a vegetable")], "the conversation goes on from the edit"
    assert edit_boxes(at) == [], "the edit box is closed"
    assert "2 / 2" in captions(at), "the edited message is the second version of its turn"

    at.run()
    edited = saved(services, alice).messages[0]
    click(at, f"chat_version_back:{edited.id}")
    assert [text for _, text in shown_messages(at)] == ["Name a fruit", "Apple.", "Another one", "Pear."]


def test_a_refused_edit_is_explained_at_its_box_and_changes_nothing(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai")
    at = send(chat_page(), "Hi")
    before = saved(services, alice)
    question = before.messages[0]
    posts = len(chat_posts(fake, "openai"))
    click(at, f"chat_edit:{question.id}")
    at.text_area(key=f"chat_edit_text:{question.id}").input("   ")
    click(at, f"chat_edit_save:{question.id}")
    assert [error.value for error in at.error] == ["The message is empty."]
    assert at.text_area(key=f"chat_edit_text:{question.id}").value == "   ", "the box stays open as typed"
    assert saved(services, alice) == before and len(chat_posts(fake, "openai")) == posts
    click(at, f"chat_edit_cancel:{question.id}")
    assert edit_boxes(at) == [] and shown_messages(at)[0] == ("user", "Hi")


def test_a_failed_reply_stays_visible_but_is_not_counted_or_sent_back(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai")
    at = send(chat_page(), "Hi")
    fake.fail("openai", "forbidden")
    send(at, "Still there?")
    assert at.error, "the failure is shown where it happened"
    assert "This chat: 1 reply · " in page_text(at)
    at.run()
    assert at.error and "This chat: 1 reply · " in page_text(at), "also when the chat is drawn again"
    send(at, "Hello?")
    sent = [(m["role"], m["content"]) for m in chat_posts(fake, "openai")[-1].body["messages"]]
    answer = fake.reply_text("openai", "gpt-4o-mini")
    assert [content for _, content in sent] == ["Hi", answer, "Still there?", "Hello?"], "the failed reply left out"
