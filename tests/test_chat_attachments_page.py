"""Attachments on the Chat page in Streamlit's AppTest: files from the message box reach the provider (the loopback
fakes, through the real litellm client) and show under the message; a refused file keeps the typed text."""

from __future__ import annotations

from types import SimpleNamespace

from core.accounts.users import UserPublic
from core.chat.attachments import attachments_of
from core.services import Services
from tests.fakes.files import png
from tests.fakes.providers import FakeProviders
from tests.helpers import chat_page, chat_posts, pick, saved, shown_messages, with_keys
from ui.chat.attachments import prompt_from

NOTES = b"# Plan\nShip on *Friday*.\n"


def captions(at: object, role: str = "user") -> list[str]:
    return [c.value for message in at.chat_message if message.name == role for c in message.caption]  # type: ignore[attr-defined]


def test_a_file_from_the_message_box_goes_with_the_message(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai")
    at = chat_page()
    box = at.chat_input(key="chat_input")
    box.upload("plan_[v2].md", NOTES, "text/markdown").upload("red.png", png(), "image/png").set_value("Summarise")
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    sent = chat_posts(fake, "openai")[-1].body["messages"][-1]["content"]
    assert "Ship on *Friday*." in sent[0]["text"] and sent[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert shown_messages(at)[0] == ("user", "Summarise"), "the file's text is context, not the message"
    assert captions(at) == [r":material/attach_file: plan\_\[v2\].md · 25 B"], "the name is plain text, not Markdown"
    user_message = next(m for m in at.chat_message if m.name == "user")
    assert user_message.get("image"), "the image shows as a thumbnail"
    [message, _] = saved(services, alice).messages
    assert [a.name for a in attachments_of(message)] == ["plan_[v2].md", "red.png"]


def test_an_image_for_a_model_without_images_is_refused_and_the_text_kept(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai", "xai")
    at = pick(chat_page(), "xai/grok-2")
    at.chat_input(key="chat_input").upload("red.png", png(), "image/png").set_value("What is this?")
    at.run()
    assert next(e.value for e in at.error).startswith("xai/grok-2 does not accept images; pick a model that does")
    assert not chat_posts(fake) and not services.conversations.list(alice.id)
    assert at.chat_input(key="chat_input").proto.value == "What is this?", "the typed text is back in the box"
    assert captions(at) == [":material/attach_file: Not sent: red.png"]


def test_the_message_box_value_becomes_a_prompt() -> None:
    file = SimpleNamespace(name="a.txt", getvalue=lambda: b"hi")
    assert prompt_from(None) is None and prompt_from("") is None
    assert prompt_from("Hello").text == "Hello"
    prompt = prompt_from(SimpleNamespace(text="", files=[file]))
    assert prompt is not None and (prompt.text, [(f.name, f.data) for f in prompt.files]) == ("", [("a.txt", b"hi")])
    assert prompt_from(SimpleNamespace(text="", files=[])) is None
