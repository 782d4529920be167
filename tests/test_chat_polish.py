"""Chat polish in Streamlit's AppTest: Compare keeps a refused prompt and continues with one reply as a chat; new
chats start from the user's defaults; replies' links are checked on the page."""

from __future__ import annotations

from core.accounts.users import UserPublic
from core.chat.conversations import DEFAULT_SETTINGS, GenerationSettings
from core.services import Services
from tests.fakes.providers import FakeProviders
from tests.helpers import (
    chat_page,
    chat_posts,
    open_page,
    saved,
    send,
    shown_messages,
    signed_in,
    system_prompts_and_limits,
    with_keys,
)

COMPARED = ["openai/gpt-4o-mini", "anthropic/claude-3-5-sonnet"]


def compare_mode(services: Services, fake: FakeProviders, alice: UserPublic):
    with_keys(services, fake, alice, "openai", "anthropic")
    at = chat_page()
    at.segmented_control(key="chat_mode").set_value("Compare").run()
    return at


def test_compare_keeps_the_typed_prompt_when_it_refuses(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    at = compare_mode(services, fake, alice)
    at.multiselect(key="compare_models").set_value(["openai/gpt-4o"]).run()
    send(at, "A long prompt I do not want to type again", key="compare_input")
    assert [e.value for e in at.error] == ["Pick 2 or 3 different models to compare."]
    box = at.chat_input(key="compare_input").proto
    assert (box.value, box.set_value) == ("A long prompt I do not want to type again", True)  # back in the box
    assert chat_posts(fake) == []

    at.multiselect(key="compare_models").set_value(COMPARED).run()
    assert not at.error, "the refusal is shown once"
    send(at, "A long prompt I do not want to type again", key="compare_input")
    assert len(chat_posts(fake)) == 2


def test_continue_with_this_one_saves_the_exchange_as_a_chat(
    services: Services, fake: FakeProviders, alice: UserPublic, bob: UserPublic
) -> None:
    at = compare_mode(services, fake, alice)
    at.multiselect(key="compare_models").set_value(COMPARED).run()
    send(at, "Which is best?", key="compare_input")
    assert services.conversations.list(alice.id) == []
    at.button(key="compare_continue:1").click().run()
    assert not at.exception

    chat = saved(services, alice)
    anthropic = fake.reply_text("anthropic", "claude-3-5-sonnet-latest")
    assert [(m.role, m.content) for m in chat.messages] == [("user", "Which is best?"), ("assistant", anthropic)]
    reply = chat.messages[1]
    assert reply.model == "anthropic/claude-3-5-sonnet"
    assert reply.prompt_tokens and reply.completion_tokens, "the usage is kept"
    assert at.segmented_control(key="chat_mode").value == "Chat"
    assert shown_messages(at) == [("user", "Which is best?"), ("assistant", anthropic)]
    assert [t.value for t in at.toast] == ["Saved as a chat: continue it below."]
    assert services.conversations.list(bob.id) == []

    send(at, "Tell me more")  # the chat goes on with its history, and with that model
    assert chat_posts(fake)[-1].provider == "anthropic"
    assert [m.content for m in saved(services, alice).messages][:3] == ["Which is best?", anthropic, "Tell me more"]


def test_new_chat_defaults_on_profile_are_checked_saved_and_used(
    services: Services, fake: FakeProviders, alice: UserPublic, bob: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai")
    at = open_page(signed_in(), "profile")
    assert at.number_input(key="chat_max_tokens:defaults").value is None  # the model's limit, not a made-up 4,096
    at.text_area(key="chat_system:defaults").input("x" * 20_001)
    at.button(key="chat_defaults_save").click().run()
    assert [e.value for e in at.error] == ["The system prompt is too long (over 20,000 characters)."]
    assert services.chat_defaults.get(alice.id) == DEFAULT_SETTINGS

    at.text_area(key="chat_system:defaults").input("Answer like a pirate.")
    at.number_input(key="chat_temperature:defaults").set_value(0.4)
    at.number_input(key="chat_max_tokens:defaults").set_value(777)
    at.button(key="chat_defaults_save").click().run()
    assert not at.error
    assert [s.value for s in at.success] == ["Saved: new chats start with these settings."]
    assert services.chat_defaults.get(alice.id) == GenerationSettings("Answer like a pirate.", 0.4, 777)
    assert services.chat_defaults.get(bob.id) == DEFAULT_SETTINGS

    open_page(at, "chat")
    assert at.text_area(key="chat_system:new").value == "Answer like a pirate."
    send(at, "Ahoy?")
    system, temperature, limit = system_prompts_and_limits(chat_posts(fake, "openai")[-1])
    assert (system, temperature, limit) == (["Answer like a pirate."], 0.4, 777)
    assert saved(services, alice).settings == GenerationSettings("Answer like a pirate.", 0.4, 777)

    # A chat's own settings override the defaults, for that chat only.
    chat = saved(services, alice)
    at.number_input(key=f"chat_max_tokens:{chat.id}").set_value(99)
    at.button(key=f"chat_settings_apply:{chat.id}").click().run()
    send(at, "And now?")
    assert system_prompts_and_limits(chat_posts(fake, "openai")[-1])[2] == 99
    assert services.chat_defaults.get(alice.id).max_tokens == 777
    at.button(key="new_chat").click().run()
    assert at.number_input(key="chat_max_tokens:new").value == 777


def test_bob_never_starts_from_alices_defaults(
    services: Services, fake: FakeProviders, alice: UserPublic, bob: UserPublic
) -> None:
    services.chat_defaults.save(alice.id, "Alice's own.", 1.5, 10)
    with_keys(services, fake, bob, "openai")
    at = chat_page("bob")
    assert at.text_area(key="chat_system:new").value == ""
    assert at.number_input(key="chat_max_tokens:new").value is None
