"""Each user's New chat defaults (stored on SQLite and PostgreSQL), and how long a reply may be: the user's max
output tokens, else the model's own limit from litellm's real model map, else 4,096."""

from __future__ import annotations

import pytest

from core.accounts.users import UserPublic
from core.chat.conversations import DEFAULT_SETTINGS, Conversation, GenerationSettings
from core.chat.output_limit import DEFAULT_MAX_TOKENS, max_output_tokens
from core.errors import InvalidInput
from core.models.model_info import output_limit
from core.services import Services
from tests.fakes.providers import FakeProviders
from tests.helpers import chat_posts, save_key

pytestmark = pytest.mark.both_backends


def test_defaults_are_kept_per_user(services: Services, alice: UserPublic, bob: UserPublic) -> None:
    store = services.chat_defaults
    assert store.get(alice.id) == DEFAULT_SETTINGS
    saved = store.save(alice.id, "  Answer in French.  ", 0.3, 2048)
    assert saved == GenerationSettings("Answer in French.", 0.3, 2048)
    assert store.get(alice.id) == saved
    assert store.get(bob.id) == DEFAULT_SETTINGS, "bob never sees alice's defaults"
    store.save(bob.id, "Be brief.", None, None)
    store.save(alice.id, "", 1.0, None)  # saved again: one row, the new values
    assert store.get(alice.id) == GenerationSettings("", 1.0, None)
    assert store.get(bob.id) == GenerationSettings("Be brief.", None, None)


@pytest.mark.parametrize(
    ("system", "temperature", "max_tokens", "field"),
    [("x" * 20_001, None, None, "system"), ("", 2.5, None, "temperature"), ("", None, 0, "max_tokens")],
)
def test_bad_defaults_are_refused_as_a_chats_settings_are(
    services: Services, alice: UserPublic, system: str, temperature: float | None, max_tokens: int | None, field: str
) -> None:
    services.chat_defaults.save(alice.id, "Kept.", None, None)
    with pytest.raises(InvalidInput) as refused:
        services.chat_defaults.save(alice.id, system, temperature, max_tokens)
    assert refused.value.field == field
    assert services.chat_defaults.get(alice.id).system_prompt == "Kept."


def test_defaults_go_when_their_user_does(services: Services, alice: UserPublic) -> None:
    services.chat_defaults.save(alice.id, "Mine.", None, None)
    services.users.delete(alice.username)
    assert services.chat_defaults.get(alice.id) == DEFAULT_SETTINGS


def test_the_models_own_limit_comes_from_litellms_map() -> None:
    # Values of litellm's bundled map (the app reads it offline): a reasoning model writes far more than 4,096.
    assert output_limit("openai/o3") == 100_000
    assert output_limit("openai/gpt-4o") == 16_384
    assert output_limit("anthropic/claude-sonnet-4-5") == 64_000
    assert output_limit("azure/gpt-4o") == 16_384
    assert output_limit("openai/no-such-model") is None
    assert output_limit("anthropic/claude-3-5-sonnet-latest") is None  # gone from the map


@pytest.mark.parametrize(
    ("model", "chosen", "sent"),
    [
        ("openai/o3", None, 100_000),  # no max set: the model's own
        ("openai/o3", 500, 500),
        ("openai/gpt-4o", 65_536, 16_384),  # above the model's limit: lowered to it
        ("openai/no-such-model", None, DEFAULT_MAX_TOKENS),  # unknown: a bound all the same
        ("openai/no-such-model", 30_000, 30_000),
    ],
)
def test_max_output_tokens(model: str, chosen: int | None, sent: int) -> None:
    assert max_output_tokens(model, chosen) == sent


def test_a_chat_above_the_models_limit_is_sent_the_limit(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    save_key(services, fake, alice, "openai", "sk-alice-openai-limit")
    chat = Conversation(settings=GenerationSettings(max_tokens=60_000))
    turn = services.chat.send(alice.id, chat, "Hi", "openai/gpt-4o")
    list(turn.batches())
    turn.finish()
    assert chat_posts(fake, "openai")[-1].body["max_tokens"] == 16_384
