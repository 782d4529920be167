"""Chat's model picker in AppTest, against providers that serve today's model lists: find a model by its ID, type
one that is none of the user's, be told when a model was not offered to the key."""

from __future__ import annotations

import pytest
from streamlit.proto.SelectWidgetFilterMode_pb2 import SelectWidgetFilterMode
from streamlit.testing.v1 import AppTest

from core.accounts.users import UserPublic
from core.services import Services
from tests.fakes.providers import FakeProviders
from tests.helpers import (
    chat_page,
    chat_posts,
    model_ids,
    models_page,
    open_page,
    page_text,
    pick,
    saved,
    send,
    with_keys,
)

TODAY = {
    "anthropic": ["claude-3-5-haiku-20241022", "claude-sonnet-4-5-20250929"],
    "xai": ["grok-3", "grok-4"],
    "gemini": ["gemini-2.5-flash", "gemini-1.5-pro"],
}


@pytest.fixture
def today(services: Services, fake: FakeProviders, alice: UserPublic) -> AppTest:
    """Alice's Chat page with keys for OpenAI, Anthropic, xAI, Gemini and Azure (her own deployment team-gpt4o),
    the providers listing what they list today."""
    fake.models.update({provider: list(models) for provider, models in TODAY.items()})
    fake.models["openai"] += ["ft:gpt-4o-mini:acme::x1"]  # an admin's fine-tune, whose ID holds gpt-4o-mini
    fake.models["azure"] = ["team-gpt4o"]
    fake.lists_deployments = False
    with_keys(services, fake, alice, "openai", "anthropic", "xai", "gemini", "azure")
    services.deployment_store.add(alice.id, "azure", "team-gpt4o")
    return chat_page()


def matches(at: AppTest, typed: str) -> list[str]:
    """The options the picker lists while `typed` is in its box: its filter keeps those containing it, any case."""
    picker = at.selectbox(key="chat_model")
    assert picker.proto.filter_mode == SelectWidgetFilterMode.FILTER_MODE_CONTAINS
    return [option for option in picker.options if typed.casefold() in option.casefold()]


def test_each_option_carries_its_id_and_provider_grouped_with_those_not_offered_last(today: AppTest) -> None:
    options = today.selectbox(key="chat_model").options
    assert options[:3] == [
        "GPT-4o mini — gpt-4o-mini · OpenAI",
        "GPT-4o — gpt-4o · OpenAI",
        "ft:gpt-4o-mini:acme::x1 · OpenAI",
    ]
    offered = [option.split(" · ")[1] for option in options if not option.endswith("not offered to your key")]
    assert list(dict.fromkeys(offered)) == ["OpenAI", "Anthropic", "Google AI (Gemini)", "xAI", "Azure OpenAI"]
    assert offered == sorted(offered, key=list(dict.fromkeys(offered)).index), "each provider's models together"
    assert options[-4:] == [
        "Claude 3.5 Sonnet — claude-3-5-sonnet · Anthropic · not offered to your key",
        "Gemini 1.5 Flash — gemini-1.5-flash · Google AI (Gemini) · not offered to your key",
        "Grok 2 — grok-2 · xAI · not offered to your key",
        "Grok 2 Mini — grok-2-mini · xAI · not offered to your key",
    ]
    haiku = [option for option in options if "claude-3-5-haiku" in option]
    assert haiku == ["Claude 3.5 Haiku — claude-3-5-haiku-20241022 · Anthropic"], "the default, once, by its listed ID"


@pytest.mark.parametrize(
    ("typed", "first", "ref", "provider", "model"),
    [
        ("gpt-4o-mini", "GPT-4o mini — gpt-4o-mini · OpenAI", "openai/gpt-4o-mini", "openai", "gpt-4o-mini"),
        (
            "claude-3-5-haiku",
            "Claude 3.5 Haiku — claude-3-5-haiku-20241022 · Anthropic",
            "anthropic/claude-3-5-haiku-20241022",
            "anthropic",
            "claude-3-5-haiku-20241022",
        ),
        ("azure/team-gpt4o", "azure/team-gpt4o · Azure OpenAI", "azure/team-gpt4o", "azure", "team-gpt4o"),
        ("GROK-4", "grok-4 · xAI", "xai/grok-4", "xai", "grok-4"),
    ],
)
def test_typing_an_id_finds_its_model_first(
    today: AppTest, fake: FakeProviders, typed: str, first: str, ref: str, provider: str, model: str
) -> None:
    assert matches(today, typed)[0] == first
    pick(today, ref)
    assert today.selectbox(key="chat_model").value == ref
    send(today, "Found you?")
    assert (chat_posts(fake)[-1].provider, chat_posts(fake)[-1].model) == (provider, model)


def test_claude_3_5_sonnet_is_found_and_picking_it_says_why_it_will_probably_fail(
    today: AppTest, services: Services, alice: UserPublic
) -> None:
    assert matches(today, "claude-3-5-sonnet") == [
        "Claude 3.5 Sonnet — claude-3-5-sonnet · Anthropic · not offered to your key"
    ]
    pick(today, "anthropic/claude-3-5-sonnet")
    note = (
        "Anthropic did not list claude-3-5-sonnet for your key at the last refresh; it will probably fail. "
        "Pick another model, or Refresh on Models if that has changed."
    )
    assert [c.value for c in today.caption if "did not list" in c.value] == [f":material/warning: {note}"]
    send(today, "Still there?")
    assert saved(services, alice).messages[-1].error_kind == "not_found"
    assert any("claude-3-5-sonnet" in e.value for e in today.error), "the provider's answer, explained"
    assert note in page_text(today), "the reason stays under the picker"


@pytest.mark.parametrize(
    ("typed", "ref"),
    [
        ("gpt-4o-mini", "openai/gpt-4o-mini"),
        ("claude-3-5-sonnet", "anthropic/claude-3-5-sonnet"),
        ("anthropic/claude-3-5-haiku", "anthropic/claude-3-5-haiku-20241022"),
        ("team-gpt4o", "azure/team-gpt4o"),
        ("Gemini 2.5 Flash", "gemini/gemini-2.5-flash"),
    ],
)
def test_a_typed_id_that_names_a_model_selects_that_model(today: AppTest, typed: str, ref: str) -> None:
    pick(today, typed)
    assert today.selectbox(key="chat_model").value == ref
    assert typed not in today.selectbox(key="chat_model").options, "no second entry for it"


def test_a_typed_id_that_is_none_of_the_models_is_used_as_typed_and_remembered(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    fake.lists_deployments = False
    fake.models["azure"] = ["team-gpt4o"]  # deployed at the resource, never added on Profile
    with_keys(services, fake, alice, "openai", "azure")
    at = pick(chat_page(), "azure/team-gpt4o")
    assert at.selectbox(key="chat_model").options[-1] == "azure/team-gpt4o"
    assert "`azure/team-gpt4o` is not among your models: it is sent to Azure OpenAI as typed." in page_text(at)
    send(at, "Hi team")
    assert (chat_posts(fake)[-1].provider, chat_posts(fake)[-1].model) == ("azure", "team-gpt4o")
    assert saved(services, alice).messages[-1].model == "azure/team-gpt4o"

    open_page(at, "models")
    open_page(at, "chat")
    assert at.selectbox(key="chat_model").value == "azure/team-gpt4o", "remembered across page visits"
    pick(at, "openai/gpt-4o")
    open_page(at, "profile")
    open_page(at, "chat")
    assert at.selectbox(key="chat_model").value == "openai/gpt-4o"
    assert "azure/team-gpt4o" in at.selectbox(key="chat_model").options, "the typed ID stays in the list"


@pytest.mark.parametrize(
    ("typed", "told"),
    [
        ("mistral/large", "Unknown provider 'mistral': use one of openai, anthropic, gemini, xai, azure, local."),
        ("openai/gpt 4", "'gpt 4' is not a valid model ID."),
        ("gpt-9", "'gpt-9' is not one of the listed models."),
    ],
)
def test_a_typed_id_that_cannot_be_routed_is_explained_at_once_and_not_sent(
    services: Services, fake: FakeProviders, alice: UserPublic, typed: str, told: str
) -> None:
    with_keys(services, fake, alice, "openai")
    at = pick(chat_page(), typed)
    [error] = [e.value for e in at.error]
    assert error.startswith(told) and "provider/model" in error
    send(at, "Anyone?")
    assert chat_posts(fake) == []


def test_models_chat_button_opens_chat_with_the_default_by_its_listed_id(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    fake.models["anthropic"] = list(TODAY["anthropic"])
    with_keys(services, fake, alice, "anthropic")
    at = models_page()
    assert model_ids(at, "anthropic") == [
        "claude-3-5-haiku-20241022",
        "claude-sonnet-4-5-20250929",
        "claude-3-5-sonnet",
    ]
    at.session_state["models_table:anthropic"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    at.button(key="models_chat:anthropic").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="chat_model").value == "anthropic/claude-3-5-haiku-20241022"
    send(open_page(at, "chat"), "Haiku?")  # AppTest's own page stays Models after a switch_page
    assert chat_posts(fake)[-1].model == "claude-3-5-haiku-20241022"


def test_a_choice_remembered_before_a_refresh_follows_the_default_to_its_listed_id(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    with_keys(services, fake, alice, "openai", "anthropic")
    at = pick(chat_page(), "anthropic/claude-3-5-haiku")  # listed as claude-3-5-haiku-latest
    assert at.selectbox(key="chat_model").options[0].endswith("· OpenAI"), "the choice is not the first option"
    fake.models["anthropic"] = list(TODAY["anthropic"])
    open_page(at, "models").button(key="models_refresh").click().run()
    open_page(at, "chat")
    assert at.selectbox(key="chat_model").value == "anthropic/claude-3-5-haiku-20241022"


def test_compare_finds_models_the_same_way(today: AppTest, fake: FakeProviders) -> None:
    today.segmented_control(key="chat_mode").set_value("Compare").run()
    box = today.multiselect(key="compare_models")
    assert box.proto.filter_mode == SelectWidgetFilterMode.FILTER_MODE_CONTAINS
    assert box.options[0] == "GPT-4o mini — gpt-4o-mini · OpenAI"
    assert box.options[-1] == "Grok 2 Mini — grok-2-mini · xAI · not offered to your key"
    box.set_value(["gpt-4o-mini", "anthropic/claude-3-5-sonnet"]).run()  # one typed, one picked
    assert today.multiselect(key="compare_models").value == ["openai/gpt-4o-mini", "anthropic/claude-3-5-sonnet"]
    assert any("Anthropic did not list claude-3-5-sonnet" in c.value for c in today.caption)
