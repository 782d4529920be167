"""The Models page in AppTest: live listings per user, markers, fallbacks, Refresh, search, Chat, Azure deployments,
the team's servers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.accounts.users import UserPublic
from core.services import Services
from tests.fakes.loopback import free_port
from tests.fakes.providers import DEFAULT_KEYS, SERVER_KEY, FakeProviders
from tests.helpers import (
    SERVER_KEY_ENV,
    card_input,
    model_ids,
    model_tables,
    models_page,
    open_page,
    page_text,
    register,
    save_openai_key,
    signed_in,
    table,
    team_server,
    tree_text,
)
from ui.format import when

SECOND_KEY = "sk-test-openai-second-key"


def save(services: Services, fake: FakeProviders, user: UserPublic, provider: str, key: str | None = None) -> None:
    values = {"api_key": key or DEFAULT_KEYS[provider]}
    if provider == "azure":
        values |= {"endpoint": fake.url, "api_version": "2024-10-21"}
    services.credentials.save(user.id, provider, values)


def source_of(at: AppTest, provider: str) -> dict[str, str]:
    return dict(zip(model_ids(at, provider), table(at, provider)["Source"], strict=True))


def listings(fake: FakeProviders, provider: str) -> list:
    return [r for r in fake.requests if r.provider == provider and r.method == "GET"]


def test_listed_models_join_the_defaults_and_new_ones_are_marked(
    services: Services, fake: FakeProviders, alice: UserPublic
):
    fake.models["openai"] += ["gpt-4.1"]
    save(services, fake, alice, "openai")
    at = models_page()
    assert source_of(at, "openai") == {"gpt-4o-mini": "default", "gpt-4o": "default", "gpt-4.1": "listed"}
    assert "text-embedding-3-small" not in source_of(at, "openai")
    fake.models["openai"] += ["o3-mini"]
    at.button(key="models_refresh").click().run()
    assert source_of(at, "openai")["o3-mini"] == "new"
    assert source_of(at, "openai")["gpt-4.1"] == "listed"
    assert "New since the previous refresh: `o3-mini`" in page_text(at)


def test_models_the_provider_no_longer_lists_drop_off(services: Services, fake: FakeProviders, alice: UserPublic):
    fake.models["xai"] += ["grok-3"]
    save(services, fake, alice, "xai")
    at = models_page()
    assert "grok-3" in source_of(at, "xai")
    fake.models["xai"].remove("grok-3")
    at.button(key="models_refresh").click().run()
    assert "grok-3" not in source_of(at, "xai")
    assert "No longer listed by xAI: `grok-3`" in page_text(at)


def test_the_time_of_the_last_listing_is_shown(services: Services, fake: FakeProviders, alice: UserPublic):
    save(services, fake, alice, "gemini")
    at = models_page()
    refreshed = services.listings.get(alice.id)["gemini"].refreshed_at
    assert f"Listed by Google AI (Gemini) {when(refreshed)}" in page_text(at)


def test_a_failed_listing_falls_back_to_the_defaults_with_the_reason(
    services: Services, fake: FakeProviders, alice: UserPublic
):
    fake.models["anthropic"] += ["claude-sonnet-4-5"]
    fake.fail("anthropic", "forbidden")
    save(services, fake, alice, "anthropic")
    at = models_page()
    assert list(table(at, "anthropic")["Model"]) == [
        "Claude 3.5 Sonnet — claude-3-5-sonnet",
        "Claude 3.5 Haiku — claude-3-5-haiku",
    ]
    [warning] = [w.value for w in at.warning]
    assert warning.startswith("Could not list the models your Anthropic key can use")
    assert "Anthropic accepted the key but refused access (HTTP 403)" in warning
    at.button(key="models_refresh").click().run()
    assert not at.warning
    assert "claude-sonnet-4-5" in source_of(at, "anthropic")


def test_reruns_use_the_cache_and_refresh_asks_every_provider_again(
    services: Services, fake: FakeProviders, alice: UserPublic
):
    for provider in ("openai", "anthropic", "gemini", "xai"):
        save(services, fake, alice, provider)
    at = models_page()
    assert len(fake.requests) == 4
    at.run()
    open_page(at, "profile")
    open_page(at, "models")
    assert len(fake.requests) == 4, "no provider is asked again until Refresh or a credential change"
    at.button(key="models_refresh").click().run()
    assert sorted(r.provider for r in fake.requests[4:]) == ["anthropic", "gemini", "openai", "xai"]


def test_a_changed_key_is_listed_again(services: Services, fake: FakeProviders, alice: UserPublic):
    fake.keys["openai"].add(SECOND_KEY)
    at = save_openai_key(signed_in())
    open_page(at, "models")
    fake.models["openai"] += ["gpt-4.1"]
    at.run()
    assert "gpt-4.1" not in source_of(at, "openai"), "cached until the key changes"
    open_page(at, "profile")
    at.button(key="replace:openai").click().run()
    card_input(at, "openai", "api_key").input(SECOND_KEY)
    at.button(key="save:openai").click().run()
    open_page(at, "models")
    assert listings(fake, "openai")[-1].key == SECOND_KEY
    assert source_of(at, "openai")["gpt-4.1"] == "new", "compared with what the previous key listed"


def test_search_filters_a_long_list(services: Services, fake: FakeProviders, alice: UserPublic):
    fake.models["openai"] += [f"gpt-test-{n}" for n in range(20)] + ["o3-mini"]
    save(services, fake, alice, "openai")
    at = models_page()
    assert len(table(at, "openai")) == len(fake.models["openai"]) - 1  # all but the embedding model
    at.text_input(key="models_search:openai").input("MINI").run()
    assert model_ids(at, "openai") == ["gpt-4o-mini", "o3-mini"]
    assert f"2 of {len(fake.models['openai']) - 1} models" in page_text(at)


def test_a_short_list_has_no_search_box(services: Services, fake: FakeProviders, alice: UserPublic):
    save(services, fake, alice, "xai")
    at = models_page()
    assert len(table(at, "xai")) == len(fake.models["xai"])
    assert not [t for t in at.text_input if t.key == "models_search:xai"]


def test_chat_opens_with_the_selected_model(services: Services, fake: FakeProviders, alice: UserPublic):
    fake.models["gemini"] += ["gemini-2.5-flash"]
    save(services, fake, alice, "gemini")
    at = models_page()
    assert at.button(key="models_chat:gemini").disabled, "nothing selected yet"
    row = model_ids(at, "gemini").index("gemini-2.5-flash")
    at.session_state["models_table:gemini"] = {"selection": {"rows": [row], "columns": []}}
    at.run()
    assert at.button(key="models_chat:gemini").label == "Chat with Gemini 2.5 Flash"
    at.button(key="models_chat:gemini").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="chat_model").value == "gemini/gemini-2.5-flash"


def test_a_filter_change_clears_the_selection(services: Services, fake: FakeProviders, alice: UserPublic):
    fake.models["openai"] += [f"gpt-test-{n}" for n in range(20)]
    save(services, fake, alice, "openai")
    at = models_page()
    at.session_state["models_table:openai"] = {"selection": {"rows": [1], "columns": []}}
    at.run()
    assert not at.button(key="models_chat:openai").disabled
    at.text_input(key="models_search:openai").input("test-1").run()
    assert at.button(key="models_chat:openai").disabled, "row 1 of the new list is another model"


def test_registry_models_show_only_to_users_with_that_key(
    services: Services, fake: FakeProviders, alice: UserPublic, bob: UserPublic
):
    path = services.settings.models_registry
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[openai]\nmodels = ["team-finetune"]\n[xai]\nmodels = ["grok-team"]\n')
    save(services, fake, alice, "openai")
    save(services, fake, bob, "xai")
    alice_page = models_page("alice")
    assert source_of(alice_page, "openai")["team-finetune"] == "registry · not offered to your key", "not listed"
    assert "grok-team" not in page_text(alice_page) and "models_table:xai" not in model_tables(alice_page)
    bob_page = models_page("bob")
    assert source_of(bob_page, "xai")["grok-team"] == "registry · not offered to your key"
    assert model_tables(bob_page) == ["models_table:xai"]


def deployments_card() -> None:
    """The Azure card's deployment list, as Profile draws it for the signed-in user alice."""
    from core.providers.registry import get_provider
    from ui.profile import deployments
    from ui.state import get_services

    deployments.render(get_services().users.get("alice"), get_provider("azure"))


@pytest.fixture
def card(services: Services, fake: FakeProviders, alice: UserPublic) -> AppTest:
    save(services, fake, alice, "azure")
    return AppTest.from_function(deployments_card, default_timeout=60).run()


def add_deployment(card: AppTest, name: str) -> AppTest:
    card.text_input(key="deployment_name:azure").input(name)
    card.button(key="add_deployment:azure").click().run()
    assert not card.exception, card.exception
    return card


def test_an_azure_deployment_that_answers_is_added(card: AppTest, services: Services, fake: FakeProviders, alice):
    deployment = fake.models["azure"][0]
    add_deployment(card, deployment)
    assert [s.value for s in card.success] == [
        f"{deployment} answered. It is listed on **Models** as `azure/{deployment}`."
    ]
    assert f"azure/{deployment}" in page_text(card)
    assert card.text_input(key="deployment_name:azure").value == ""
    assert [d.name for d in services.deployments.list(alice.id, "azure")] == [deployment]


def test_an_azure_deployment_that_does_not_exist_is_explained_and_not_added(
    card: AppTest, services: Services, alice: UserPublic
):
    add_deployment(card, "not-deployed-here")
    assert [e.value for e in card.error] == [
        "There is no deployment named not-deployed-here at your Azure endpoint. "
        "Check the deployment name in the Azure portal."
    ]
    assert card.text_input(key="deployment_name:azure").value == "not-deployed-here", "kept to be fixed"
    assert services.deployments.list(alice.id, "azure") == ()


def test_a_malformed_deployment_name_is_refused_without_a_call(card: AppTest, fake: FakeProviders):
    fake.requests.clear()
    add_deployment(card, "no spaces allowed")
    [error] = [e.value for e in card.error]
    assert error.startswith("Deployment names are 2–64 characters")
    assert fake.requests == []


def test_an_azure_deployment_is_removed(card: AppTest, services: Services, fake: FakeProviders, alice: UserPublic):
    fake.models["azure"] += ["second-one"]
    add_deployment(card, fake.models["azure"][0])
    add_deployment(card, "second-one")
    card.button(key=f"remove_deployment:azure:{fake.models['azure'][0]}").click().run()
    assert [d.name for d in services.deployments.list(alice.id, "azure")] == ["second-one"]
    assert f"azure/{fake.models['azure'][0]}" not in [m.value for m in card.markdown]


def test_deployments_appear_on_models_for_their_user_only(
    services: Services, fake: FakeProviders, alice: UserPublic, bob: UserPublic
):
    fake.lists_deployments = False
    fake.keys["azure"].add("bob-azure-key-000000")
    save(services, fake, alice, "azure")
    save(services, fake, bob, "azure", "bob-azure-key-000000")
    services.deployment_store.add(alice.id, "azure", "alice-deployment")
    alice_page = models_page("alice")
    assert source_of(alice_page, "azure") == {"azure/alice-deployment": "your deployment"}
    assert "does not list its deployments" in page_text(alice_page)
    assert not alice_page.warning
    bob_page = models_page("bob")
    assert not [d for d in bob_page.dataframe if d.key == "models_table:azure"]
    assert "No deployments yet" in page_text(bob_page) and "alice-deployment" not in page_text(bob_page)


def test_two_users_never_see_each_others_listings(
    services: Services, fake: FakeProviders, alice: UserPublic, bob: UserPublic
):
    fake.keys["openai"].add(SECOND_KEY)
    fake.models["openai"] += ["listed-when-alice-looked"]
    save(services, fake, alice, "openai")
    alice_page = models_page("alice")
    fake.models["openai"] = ["gpt-4o", "listed-when-bob-looked"]
    save(services, fake, bob, "openai", SECOND_KEY)
    bob_page = models_page("bob")
    assert "listed-when-bob-looked" in source_of(bob_page, "openai")
    assert "listed-when-alice-looked" not in source_of(bob_page, "openai")
    alice_page.run()
    assert "listed-when-bob-looked" not in source_of(alice_page, "openai")
    assert {r.key for r in listings(fake, "openai")} == {DEFAULT_KEYS["openai"], SECOND_KEY}


def test_models_page_keeps_working_with_a_broken_registry(
    services: Services, fake: FakeProviders, alice: UserPublic, tmp_path: Path
):
    path = services.settings.models_registry
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[openai\nthis is not toml")
    save(services, fake, alice, "openai")
    at = models_page()
    assert list(table(at, "openai")["Model"]) == ["GPT-4o mini — gpt-4o-mini", "GPT-4o — gpt-4o"]


def test_defaults_todays_provider_does_not_list_are_flagged_and_last_and_dated_ones_shown_once(
    services: Services, fake: FakeProviders, alice: UserPublic
):
    fake.models["anthropic"] = ["claude-3-5-haiku-20241022", "claude-sonnet-4-5-20250929"]
    fake.models["xai"] = ["grok-3", "grok-4"]
    save(services, fake, alice, "anthropic")
    save(services, fake, alice, "xai")
    at = models_page()
    assert model_ids(at, "anthropic") == [
        "claude-3-5-haiku-20241022",
        "claude-sonnet-4-5-20250929",
        "claude-3-5-sonnet",
    ]
    names = list(table(at, "anthropic")["Model"])
    assert (names[0], names[-1]) == (
        "Claude 3.5 Haiku — claude-3-5-haiku-20241022",
        "Claude 3.5 Sonnet — claude-3-5-sonnet",
    )
    assert list(table(at, "anthropic")["Source"]) == ["default", "listed", "default · not offered to your key"]
    assert list(table(at, "xai")["Source"])[-2:] == ["default · not offered to your key"] * 2
    shown = page_text(at)
    assert (
        "Anthropic did not list `claude-3-5-sonnet` for your key at the last refresh: they are kept at the end of "
        "the list, but will probably fail in Chat."
    ) in shown
    assert "xAI did not list `grok-2`, `grok-2-mini` for your key" in shown


def test_while_no_listing_succeeded_the_defaults_are_shown_as_before(
    services: Services, fake: FakeProviders, alice: UserPublic
):
    fake.fail("xai", "server_error", times=None)
    save(services, fake, alice, "xai")
    at = models_page()
    assert source_of(at, "xai") == {"grok-2": "default", "grok-2-mini": "default"}
    assert "did not list" not in page_text(at)


def test_unknown_context_windows_and_prices_show_a_dash_and_sort_as_numbers(
    services: Services, fake: FakeProviders, alice: UserPublic
):
    fake.models["openai"] += ["company-finetune"]  # litellm knows nothing about it
    save(services, fake, alice, "openai")
    at = models_page()
    element = at.dataframe(key="models_table:openai")
    assert element.proto.placeholder == "—", "what the browser draws in a missing cell (its default: 'None')"
    frame = element.value
    unknown = frame[frame["Model"] == "company-finetune"].iloc[0]
    assert all(pd.isna(unknown[column]) for column in ("Context", "Input $/1M", "Output $/1M"))
    known = frame[frame["Model"] == "GPT-4o — gpt-4o"].iloc[0]
    assert known["Context"] > 0 and known["Input $/1M"] > 0
    assert all(pd.api.types.is_numeric_dtype(frame[c]) for c in ("Context", "Input $/1M", "Output $/1M"))


def test_each_model_is_named_once_with_its_id(services: Services, fake: FakeProviders, alice: UserPublic):
    fake.models["openai"] += ["gpt-4.1"]
    fake.models["gemini"] += ["gemini-2.5-flash"]
    save(services, fake, alice, "openai")
    save(services, fake, alice, "gemini")
    at = models_page()
    assert list(table(at, "openai").columns) == ["Model", "Source", "Context", "Input $/1M", "Output $/1M"]
    assert list(table(at, "openai")["Model"]) == ["GPT-4o mini — gpt-4o-mini", "GPT-4o — gpt-4o", "gpt-4.1"]
    assert "Gemini 2.5 Flash — gemini-2.5-flash" in list(table(at, "gemini")["Model"])


def test_the_models_new_since_the_previous_refresh_are_named(
    services: Services, fake: FakeProviders, alice: UserPublic
):
    save(services, fake, alice, "openai")
    at = models_page()
    assert "New since" not in page_text(at), "a first listing has nothing to compare with"
    fake.models["openai"] += ["o3-mini", "gpt-4.1"]
    at.button(key="models_refresh").click().run()
    assert "New since the previous refresh: `o3-mini`, `gpt-4.1`" in page_text(at)
    fake.models["openai"] += [f"gpt-test-{n}" for n in range(12)]
    at.button(key="models_refresh").click().run()
    named = ", ".join(f"`gpt-test-{n}`" for n in range(10))
    assert f"New since the previous refresh: {named} and 2 more (marked *new*)" in page_text(at)


# The team's servers (the admin's registry): shown to everyone, with their status


def test_the_teams_servers_show_with_their_status_to_a_user_without_keys(
    services: Services, fake: FakeProviders, alice: UserPublic, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(SERVER_KEY_ENV, SERVER_KEY)
    down = f"http://127.0.0.1:{free_port()}/v1"
    register(
        services,
        team_server("gpu-box", fake.base("server"), label="GPU box (vLLM)"),
        team_server("spare", down, '["tiny-model"]', key_env=None, label="Spare box"),
    )
    at = models_page()
    text = page_text(at)
    assert "Your team's servers" in text and "Your team's servers, below, need none." in text
    assert model_ids(at, "server/gpu-box") == ["meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen2.5-7B-Instruct"]
    assert "Up: it listed 2 models" in text
    assert model_ids(at, "server/spare") == ["tiny-model"], "a server that is down shows its configured models"
    assert "Could not reach Spare box, your team's server: it may be down. Ask your admin." in text
    assert "credential saved" not in text.split("Your team's servers", 1)[1], "no key is asked for a server"
    assert SERVER_KEY not in tree_text(at) and SERVER_KEY_ENV not in tree_text(at)

    at.session_state["models_table:server/gpu-box"] = {"selection": {"rows": [1], "columns": []}}
    at.run()
    at.button(key="models_chat:server/gpu-box").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="chat_model").value == "server/gpu-box/Qwen/Qwen2.5-7B-Instruct"


def test_no_team_servers_no_group(services: Services, fake: FakeProviders, alice: UserPublic):
    save(services, fake, alice, "openai")
    assert "Your team's servers" not in page_text(models_page())
