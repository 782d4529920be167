"""The catalog: live listings from each provider's fake merged with the guide's defaults and the admin's registry."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from core.accounts.users import UserPublic
from core.config import load_settings
from core.db.tables import utcnow
from core.models.catalog import available_models, find_model, search_models
from core.models.choice import ModelSource, ProviderSection
from core.models.listings import MAX_AGE, RETRY_FAILED_AFTER
from core.models.model_info import NOT_CHAT_MODES, PER_MILLION, has_price, model_info
from core.models.registry_file import load_registry
from core.models.target import resolve_model
from core.providers.client import call_arguments, litellm
from core.providers.listing import DiscoveredModel, is_chat_model
from core.providers.registry import get_provider
from core.services import Services, open_services
from tests.fakes.providers import DEFAULT_KEYS, FakeProviders

ROOT = Path(__file__).resolve().parent.parent
LISTED_PROVIDERS = ("openai", "anthropic", "gemini", "xai")


def save(services: Services, fake: FakeProviders, user: UserPublic, provider: str, key: str | None = None) -> None:
    values = {"api_key": key or DEFAULT_KEYS[provider]}
    if provider == "azure":
        values |= {"endpoint": fake.url, "api_version": "2024-10-21"}
    services.credentials.save(user.id, provider, values)


def section(sections: list[ProviderSection], provider: str) -> ProviderSection:
    return next(s for s in sections if s.spec.id == provider)


def ids(sections: list[ProviderSection], provider: str) -> list[str]:
    return [model.model_id for model in section(sections, provider).models]


def listing_requests(fake: FakeProviders, provider: str) -> list:
    return [r for r in fake.requests if r.provider == provider and r.method == "GET"]


def expected_ids(fake: FakeProviders, provider: str) -> list[str]:
    """The guide's defaults, then what the fake lists that can chat, in the fake's order."""
    spec = get_provider(provider)
    defaults = [m.id for m in spec.default_models]
    wire = {m.api_id for m in spec.default_models} | set(defaults)
    return defaults + [m for m in fake.models[provider] if is_chat_model(m) and m not in wire]


@pytest.mark.parametrize("provider", LISTED_PROVIDERS)
def test_what_the_key_can_use_joins_the_defaults(services: Services, fake: FakeProviders, alice: UserPublic, provider):
    fake.models[provider] += [f"{provider}-extra-chat-1", f"{provider}-extra-chat-2", "text-embedding-004"]
    save(services, fake, alice, provider)
    sections = services.catalog.load(alice.id)
    assert ids(sections, provider) == expected_ids(fake, provider)
    sources = {m.model_id: m.source for m in section(sections, provider).models}
    assert {sources[m.id] for m in get_provider(provider).default_models} == {ModelSource.DEFAULT}
    assert sources[f"{provider}-extra-chat-1"] is ModelSource.LISTED
    assert "text-embedding-004" not in sources
    assert [r.key for r in listing_requests(fake, provider)] == [DEFAULT_KEYS[provider]]


def test_defaults_stay_when_the_provider_stops_listing_them(services: Services, fake: FakeProviders, alice):
    fake.models["openai"] = ["gpt-4.1"]
    save(services, fake, alice, "openai")
    models = section(services.catalog.load(alice.id), "openai").models
    assert [(m.model_id, m.offered) for m in models] == [("gpt-4.1", True), ("gpt-4o-mini", False), ("gpt-4o", False)]


def test_anthropic_latest_ids_are_the_guides_defaults_not_new_models(services: Services, fake: FakeProviders, alice):
    fake.models["anthropic"] += ["claude-sonnet-4-5"]
    save(services, fake, alice, "anthropic")
    models = section(services.catalog.load(alice.id), "anthropic").models
    assert [(m.model_id, m.source) for m in models] == [
        ("claude-3-5-sonnet", ModelSource.DEFAULT),
        ("claude-3-5-haiku", ModelSource.DEFAULT),
        ("claude-sonnet-4-5", ModelSource.LISTED),
    ]
    assert resolve_model(models[0].ref).litellm_model == "anthropic/claude-3-5-sonnet-latest"


def test_new_models_are_marked_until_the_next_refresh(services: Services, fake: FakeProviders, alice: UserPublic):
    save(services, fake, alice, "openai")
    first = section(services.catalog.load(alice.id), "openai")
    assert first.new_count == 0, "a first listing has nothing to compare with"
    fake.models["openai"] += ["gpt-4.1"]
    second = section(services.catalog.load(alice.id, refresh=True), "openai")
    assert [m.model_id for m in second.models if m.new] == ["gpt-4.1"]
    assert section(services.catalog.load(alice.id), "openai").new_count == 1, "kept until the next refresh"
    third = section(services.catalog.load(alice.id, refresh=True), "openai")
    assert third.new_count == 0 and "gpt-4.1" in [m.model_id for m in third.models]


def test_models_no_longer_listed_drop_off_and_are_named(services: Services, fake: FakeProviders, alice: UserPublic):
    fake.models["xai"] += ["grok-3", "grok-3-mini"]
    save(services, fake, alice, "xai")
    services.catalog.load(alice.id)
    fake.models["xai"].remove("grok-3")
    xai = section(services.catalog.load(alice.id, refresh=True), "xai")
    assert "grok-3" not in [m.model_id for m in xai.models]
    assert xai.dropped == ("grok-3",)


def test_gemini_models_that_cannot_generate_content_are_left_out(services: Services, fake: FakeProviders, alice):
    fake.models["gemini"] += ["gemini-2.5-flash", "learnlm-semantic-retriever"]
    fake.methods["learnlm-semantic-retriever"] = ("embedContent", "countTextTokens")
    save(services, fake, alice, "gemini")
    assert ids(services.catalog.load(alice.id), "gemini") == ["gemini-1.5-flash", "gemini-1.5-pro", "gemini-2.5-flash"]


def test_models_litellm_knows_as_not_chat_are_left_out(services: Services, fake: FakeProviders, alice: UserPublic):
    not_chat = [
        name.removeprefix("gemini/")
        for name, entry in litellm().model_cost.items()
        if isinstance(entry, dict)
        and entry.get("litellm_provider") == "gemini"
        and entry.get("mode") in NOT_CHAT_MODES
        and is_chat_model(name)
    ]
    if not not_chat:
        pytest.skip("litellm's model map has no Gemini model only its mode marks as not chat")
    fake.models["gemini"] += not_chat[:1]
    save(services, fake, alice, "gemini")
    assert not_chat[0] not in ids(services.catalog.load(alice.id), "gemini")


@pytest.mark.parametrize(("provider", "cursor"), [("anthropic", "after_id"), ("gemini", "pageToken")])
def test_long_listings_are_read_page_by_page(services: Services, fake: FakeProviders, alice, provider, cursor):
    fake.models[provider] += [f"{provider}-paged-{n}" for n in range(7)]
    fake.page_size = 3
    save(services, fake, alice, provider)
    assert ids(services.catalog.load(alice.id), provider) == expected_ids(fake, provider)
    pages = listing_requests(fake, provider)
    assert len(pages) == 3 and cursor not in pages[0].query and all(cursor in page.query for page in pages[1:])


def test_a_failed_listing_falls_back_to_the_defaults_with_the_reason(
    services: Services, fake: FakeProviders, alice: UserPublic
):
    fake.models["openai"] += ["gpt-4.1"]
    save(services, fake, alice, "openai")
    services.catalog.load(alice.id)
    fake.fail("openai", "server_error")
    openai = section(services.catalog.load(alice.id, refresh=True), "openai")
    assert openai.listing_failed and not openai.listing.ok
    assert openai.listing.error == "OpenAI is having problems (HTTP 500). Try again in a moment."
    assert [(m.model_id, m.offered) for m in openai.models] == [("gpt-4o-mini", True), ("gpt-4o", True)]
    fake.models["openai"] += ["o3-mini"]
    recovered = section(services.catalog.load(alice.id, refresh=True), "openai")
    assert not recovered.listing_failed
    assert [m.model_id for m in recovered.models if m.new] == ["o3-mini"], "compared with the last good listing"


def test_a_rejected_key_is_explained_without_the_key(services: Services, fake: FakeProviders, alice: UserPublic):
    save(services, fake, alice, "gemini", "AIza-revoked-gemini-key-0000")
    gemini = section(services.catalog.load(alice.id), "gemini")
    assert gemini.listing_failed
    assert gemini.listing.error == (
        "Google AI (Gemini) rejected the saved key. Update it in Profile → Provider Keys → Google AI (Gemini)."
    )
    assert "revoked-gemini" not in repr(gemini)


def test_listings_are_cached_in_the_database_across_restarts(services: Services, fake: FakeProviders, alice):
    for provider in LISTED_PROVIDERS:
        save(services, fake, alice, provider)
    first = services.catalog.load(alice.id)
    assert len(fake.requests) == len(LISTED_PROVIDERS)
    fake.requests.clear()
    assert services.catalog.load(alice.id) == first
    assert open_services(load_settings()).catalog.load(alice.id) == first, "a restarted app reads the cache"
    assert fake.requests == []


def test_a_changed_credential_is_listed_again_and_a_deleted_one_forgotten(
    services: Services, fake: FakeProviders, alice: UserPublic
):
    fake.keys["openai"].add("sk-alice-second-key-0002")
    save(services, fake, alice, "openai")
    services.catalog.load(alice.id)
    save(services, fake, alice, "openai", "sk-alice-second-key-0002")
    services.catalog.load(alice.id)
    assert [r.key for r in listing_requests(fake, "openai")] == [DEFAULT_KEYS["openai"], "sk-alice-second-key-0002"]
    services.credentials.delete(alice.id, "openai")
    assert services.listings.get(alice.id) == {}


def test_listings_age_out_and_failures_are_retried_later(services: Services, fake: FakeProviders, alice: UserPublic):
    save(services, fake, alice, "openai")
    fake.fail("xai", "rate_limit")
    save(services, fake, alice, "xai")
    saved = services.credentials.list(alice.id)

    def asked(after: timedelta) -> set[str]:
        fake.requests.clear()
        services.catalog.listings.current(alice.id, saved, now=utcnow() + after)
        return {r.provider for r in fake.requests}

    assert asked(timedelta(0)) == {"openai", "xai"}
    assert asked(timedelta(seconds=1)) == set(), "a fresh listing and a fresh failure are both kept"
    assert asked(RETRY_FAILED_AFTER + timedelta(seconds=1)) == {"xai"}
    assert asked(MAX_AGE - timedelta(minutes=1)) == set(), "a good listing is kept for a day"
    assert asked(MAX_AGE + timedelta(seconds=1)) == {"openai", "xai"}


def test_users_never_see_each_others_listings(
    services: Services, fake: FakeProviders, alice: UserPublic, bob: UserPublic
):
    fake.keys["openai"].add("sk-bob-own-key-0000002")
    fake.models["openai"] += ["alice-only-model"]
    save(services, fake, alice, "openai")
    services.catalog.load(alice.id)
    assert ids(services.catalog.load(bob.id), "openai") == [], "no key, no models"
    fake.models["openai"] = ["gpt-4o", "bob-only-model"]
    save(services, fake, bob, "openai", "sk-bob-own-key-0000002")
    assert "alice-only-model" not in ids(services.catalog.load(bob.id), "openai")
    assert "bob-only-model" not in ids(services.catalog.load(alice.id), "openai")
    assert services.listings.record(bob.id, "anthropic", utcnow(), models=[]) is None, "bob has no anthropic key"
    services.credentials.delete(bob.id, "openai")
    assert services.listings.get(bob.id) == {}
    assert "alice-only-model" in [m.id for m in services.listings.get(alice.id)["openai"].models]


def test_concurrent_first_listings_of_one_credential_all_succeed(services: Services, fake: FakeProviders, alice):
    save(services, fake, alice, "openai")
    version = services.credentials.list(alice.id)["openai"].updated_at
    models = [DiscoveredModel(f"model-{n}") for n in range(3)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: services.listings.record(alice.id, "openai", version, models), range(8)))
    assert all(result is not None and result.ok for result in results)
    assert [m.id for m in services.listings.get(alice.id)["openai"].models] == ["model-0", "model-1", "model-2"]


@pytest.mark.parametrize("provider", LISTED_PROVIDERS)
def test_listed_models_are_routed_to_the_provider(services: Services, fake: FakeProviders, alice, provider):
    model_id = f"{provider}-listed-chat-model"
    fake.models[provider] += [model_id]
    save(services, fake, alice, provider)
    choice = next(m for m in section(services.catalog.load(alice.id), provider).models if m.model_id == model_id)
    target = resolve_model(choice.ref)
    assert target.litellm_model == f"{get_provider(provider).litellm_prefix}/{model_id}"
    arguments = call_arguments(target.spec, services.credentials.secrets(alice.id, provider), services.settings)
    litellm().completion(model=target.litellm_model, messages=[{"role": "user", "content": "hi"}], **arguments)
    assert fake.requests[-1].model == model_id and fake.requests[-1].key == DEFAULT_KEYS[provider]


def test_context_window_and_prices_come_from_litellm_and_the_provider(services: Services, fake: FakeProviders, alice):
    save(services, fake, alice, "openai")
    save(services, fake, alice, "gemini")
    sections = services.catalog.load(alice.id)
    gpt4o = next(m for m in section(sections, "openai").models if m.model_id == "gpt-4o")
    known = litellm().model_cost["gpt-4o"]
    assert gpt4o.context_window == known["max_input_tokens"]
    assert gpt4o.input_price == pytest.approx(known["input_cost_per_token"] * PER_MILLION)
    assert gpt4o.output_price == pytest.approx(known["output_cost_per_token"] * PER_MILLION)
    flash = next(m for m in section(sections, "gemini").models if m.model_id == "gemini-1.5-flash")
    listed = httpx.get(fake.base("gemini") + "/models", headers={"x-goog-api-key": DEFAULT_KEYS["gemini"]}).json()
    window = next(m["inputTokenLimit"] for m in listed["models"] if m["name"] == "models/gemini-1.5-flash")
    assert flash.context_window == window, "Gemini's own inputTokenLimit"


def test_search_matches_every_word_in_name_or_id(services: Services, fake: FakeProviders, alice: UserPublic):
    fake.models["openai"] += ["gpt-4.1", "gpt-4.1-mini", "o3-mini"]
    save(services, fake, alice, "openai")
    models = section(services.catalog.load(alice.id), "openai").models
    assert [m.model_id for m in search_models(models, " MINI  4 ")] == ["gpt-4o-mini", "gpt-4.1-mini"]
    assert search_models(models, "") == models
    assert search_models(models, "nothing-like-this") == ()


# Against today's providers: defaults they no longer serve, and dated versions of the defaults


def test_todays_listings_mark_the_defaults_they_do_not_serve_and_sort_them_last(
    services: Services, fake: FakeProviders, alice: UserPublic
):
    fake.models["anthropic"] = ["claude-3-5-haiku-20241022", "claude-sonnet-4-5-20250929"]
    fake.models["xai"] = ["grok-3", "grok-4"]
    fake.models["gemini"] = ["gemini-2.5-flash", "gemini-1.5-pro"]
    for provider in ("anthropic", "xai", "gemini"):
        save(services, fake, alice, provider)
    sections = services.catalog.load(alice.id)

    def rows(provider: str) -> list[tuple[str, str, bool]]:
        return [(m.model_id, m.shown_id, m.offered) for m in section(sections, provider).models]

    assert rows("anthropic") == [
        ("claude-3-5-haiku", "claude-3-5-haiku-20241022", True),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929", True),
        ("claude-3-5-sonnet", "claude-3-5-sonnet", False),
    ]
    assert rows("xai") == [
        ("grok-3", "grok-3", True),
        ("grok-4", "grok-4", True),
        ("grok-2", "grok-2", False),
        ("grok-2-mini", "grok-2-mini", False),
    ]
    assert rows("gemini") == [
        ("gemini-1.5-pro", "gemini-1.5-pro", True),
        ("gemini-2.5-flash", "gemini-2.5-flash", True),
        ("gemini-1.5-flash", "gemini-1.5-flash", False),
    ]
    assert {m.source for m in section(sections, "xai").not_offered} == {ModelSource.DEFAULT}
    sonnet = section(sections, "anthropic").models[-1]
    assert sonnet.not_offered_note() == (
        "Anthropic did not list claude-3-5-sonnet for your key at the last refresh; it will probably fail. "
        "Pick another model, or Refresh on Models if that has changed."
    )
    assert sonnet.option_label == "Claude 3.5 Sonnet — claude-3-5-sonnet · Anthropic · not offered to your key"


def test_until_a_listing_succeeds_the_defaults_are_shown_as_offered(services: Services, fake: FakeProviders, alice):
    fake.fail("xai", "server_error", times=None)
    save(services, fake, alice, "xai")
    xai = section(services.catalog.load(alice.id), "xai")
    assert xai.listing_failed
    assert [(m.model_id, m.offered) for m in xai.models] == [("grok-2", True), ("grok-2-mini", True)]


def test_a_default_resolves_to_its_listed_dated_version_and_chat_calls_that(
    services: Services, fake: FakeProviders, alice: UserPublic
):
    fake.models["anthropic"] = ["claude-3-5-haiku-20241022", "claude-sonnet-4-5-20250929"]
    save(services, fake, alice, "anthropic")
    models = section(services.catalog.load(alice.id), "anthropic").models
    haiku = models[0]
    assert (haiku.label, haiku.source, haiku.ref) == (
        "Claude 3.5 Haiku",
        ModelSource.DEFAULT,
        "anthropic/claude-3-5-haiku-20241022",
    )
    assert [m.shown_id for m in models].count("claude-3-5-haiku-20241022") == 1, "one row, not two"
    target = resolve_model(haiku.ref)
    assert target.litellm_model == "anthropic/claude-3-5-haiku-20241022"
    arguments = call_arguments(target.spec, services.credentials.secrets(alice.id, "anthropic"), services.settings)
    litellm().completion(model=target.litellm_model, messages=[{"role": "user", "content": "hi"}], **arguments)
    assert fake.requests[-1].model == "claude-3-5-haiku-20241022"
    assert resolve_model("anthropic/claude-3-5-haiku").litellm_model == "anthropic/claude-3-5-haiku-latest", (
        "a typed ID still resolves as before"
    )


@pytest.mark.parametrize(
    ("provider", "listed", "default", "called"),
    [
        ("anthropic", ["claude-3-5-sonnet-20240620", "claude-3-5-sonnet-20241022"], "claude-3-5-sonnet", "20241022"),
        ("openai", ["gpt-4o-2024-05-13", "gpt-4o-2024-11-20", "gpt-4o-2024-08-06"], "gpt-4o", "2024-11-20"),
        ("gemini", ["gemini-1.5-flash-001", "gemini-1.5-flash-002", "gemini-1.5-flash-8b"], "gemini-1.5-flash", "002"),
        ("gemini", ["gemini-1.5-flash-002", "gemini-1.5-flash-latest"], "gemini-1.5-flash", "latest"),
        ("xai", ["grok-2-1212", "grok-2-vision-1212"], "grok-2", "1212"),
    ],
)
def test_of_several_versions_the_newest_is_called_and_the_others_stay_listed(
    services: Services, fake: FakeProviders, alice: UserPublic, provider, listed, default, called
):
    fake.models[provider] = listed
    save(services, fake, alice, provider)
    models = section(services.catalog.load(alice.id), provider).models
    chosen = next(m for m in models if m.model_id == default)
    assert chosen.offered and chosen.shown_id == f"{default}-{called}"
    others = [m.shown_id for m in models if m.source is ModelSource.LISTED]
    assert sorted(others) == sorted(i for i in listed if i != chosen.shown_id and is_chat_model(i))


def test_the_guides_own_id_wins_over_its_dated_versions(services: Services, fake: FakeProviders, alice: UserPublic):
    fake.models["openai"] = ["gpt-4o", "gpt-4o-2024-08-06", "gpt-4o-mini"]
    save(services, fake, alice, "openai")
    models = section(services.catalog.load(alice.id), "openai").models
    assert [(m.shown_id, m.ref) for m in models] == [
        ("gpt-4o-mini", "openai/gpt-4o-mini"),
        ("gpt-4o", "openai/gpt-4o"),
        ("gpt-4o-2024-08-06", "openai/gpt-4o-2024-08-06"),
    ]


def test_registry_entries_are_judged_by_the_listing_and_deployments_never(
    services: Services, fake: FakeProviders, alice: UserPublic
):
    write_registry(
        services.settings.models_registry,
        '[openai]\nmodels = ["o1", "company-finetune"]\n[azure]\nmodels = ["company-gpt-4o"]\n',
    )
    fake.models["openai"] += ["o1-2024-12-17"]
    fake.models["azure"] = ["listed-deployment"]
    save(services, fake, alice, "openai")
    save(services, fake, alice, "azure")
    services.deployment_store.add(alice.id, "azure", "team-gpt4o")
    sections = services.catalog.load(alice.id)
    openai = [(m.shown_id, m.source, m.offered) for m in section(sections, "openai").models]
    assert ("o1-2024-12-17", ModelSource.REGISTRY, True) in openai, "the registry's o1, called by its listed version"
    assert openai[-1] == ("company-finetune", ModelSource.REGISTRY, False)
    azure = [(m.shown_id, m.source, m.offered) for m in section(sections, "azure").models]
    assert azure == [
        ("azure/team-gpt4o", ModelSource.DEPLOYMENT, True),
        ("azure/listed-deployment", ModelSource.LISTED, True),
        ("azure/company-gpt-4o", ModelSource.REGISTRY, False),
    ]


def test_a_model_is_found_by_what_a_user_types(services: Services, fake: FakeProviders, alice: UserPublic):
    fake.models["anthropic"] = ["claude-3-5-haiku-20241022"]
    fake.models["openai"] += ["ft:gpt-4o-mini:acme::abc123"]
    fake.lists_deployments = False
    for provider in ("openai", "anthropic", "azure"):
        save(services, fake, alice, provider)
    services.deployment_store.add(alice.id, "azure", "team-gpt4o")
    models = available_models(services.catalog.load(alice.id))
    found = {text: (m.ref if (m := find_model(models, text)) else None) for text in TYPED}
    assert found == TYPED
    labels = [m.option_label for m in models]
    assert labels[:2] == ["GPT-4o mini — gpt-4o-mini · OpenAI", "GPT-4o — gpt-4o · OpenAI"]
    assert "azure/team-gpt4o · Azure OpenAI" in labels
    assert labels[-1] == "Claude 3.5 Sonnet — claude-3-5-sonnet · Anthropic · not offered to your key"
    providers = [m.provider for m in models if m.offered]
    assert providers == sorted(providers, key=["openai", "anthropic", "azure"].index), "grouped by provider"


TYPED = {
    "gpt-4o-mini": "openai/gpt-4o-mini",
    "  GPT-4o-MINI ": "openai/gpt-4o-mini",
    "openai/gpt-4o-mini": "openai/gpt-4o-mini",
    "claude-3-5-sonnet": "anthropic/claude-3-5-sonnet",
    "claude-3-5-haiku": "anthropic/claude-3-5-haiku-20241022",
    "anthropic/claude-3-5-haiku": "anthropic/claude-3-5-haiku-20241022",
    "Claude 3.5 Haiku": "anthropic/claude-3-5-haiku-20241022",
    "azure/team-gpt4o": "azure/team-gpt4o",
    "team-gpt4o": "azure/team-gpt4o",
    "openai/gpt-9": None,
    "": None,
}


def test_a_price_litellm_makes_up_for_a_model_it_does_not_know_is_unknown():
    unmapped = "anthropic/claude-sonnet-4-20250514"  # litellm infers its features, and prices it at $0
    assert litellm().cost_per_token(model=unmapped, prompt_tokens=10, completion_tokens=10) == (0, 0)
    assert not has_price(unmapped)
    assert model_info("anthropic", "claude-sonnet-4-20250514").input_price is None
    assert has_price("openai/gpt-4o-mini") and has_price("anthropic/claude-sonnet-4-5-20250929")
    assert not has_price("azure/team-gpt4o") and not has_price("xai/grok-2")


# The admin's registry (models.toml)


def write_registry(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_registry_models_show_for_users_with_that_providers_key(
    services: Services, fake: FakeProviders, alice: UserPublic, bob: UserPublic
):
    write_registry(
        services.settings.models_registry,
        '[openai]\nmodels = ["gpt-4o", "company-finetune", { id = "gpt-4o-mini", label = "ignored" }]\n'
        '[anthropic]\nmodels = [{ id = "claude-team", label = "Claude (team)" }]\n',
    )
    fake.models["openai"] += ["company-finetune"]
    save(services, fake, alice, "openai")
    save(services, fake, bob, "anthropic")
    alice_openai = section(services.catalog.load(alice.id), "openai").models
    assert [(m.model_id, m.source) for m in alice_openai] == [
        ("gpt-4o-mini", ModelSource.DEFAULT),
        ("gpt-4o", ModelSource.DEFAULT),
        ("company-finetune", ModelSource.REGISTRY),
    ]
    bob_sections = services.catalog.load(bob.id)
    assert ids(bob_sections, "openai") == []
    claude_team = section(bob_sections, "anthropic").models[-1]
    assert (claude_team.model_id, claude_team.label, claude_team.source) == (
        "claude-team",
        "Claude (team)",
        ModelSource.REGISTRY,
    )
    assert resolve_model(claude_team.ref).litellm_model == "anthropic/claude-team"


@pytest.mark.parametrize(
    ("text", "kept", "warning"),
    [
        ("[openai\nmodels = 1", {}, "not valid TOML"),
        ('[mistral]\nmodels = ["x"]\n[xai]\nmodels = ["grok-3"]', {"xai": ["grok-3"]}, "ignored [mistral]"),
        ('[huggingface]\nmodels = ["meta-llama/x"]', {}, "not a chat provider"),
        ("[openai]\nmodels = 'gpt-4.1'", {}, "expected a list"),
        ("openai = ['gpt-4.1']", {}, "expected a list"),
        ('[openai]\nmodels = ["gpt 4.1", "gpt-4.1", "gpt-4.1"]', {"openai": ["gpt-4.1"]}, "not a valid OpenAI"),
        ('[openai]\nmodels = ["gpt-4.1", "gpt-4.1"]', {"openai": ["gpt-4.1"]}, "listed twice"),
        ('[openai]\nmodels = [42, "o3"]', {"openai": ["o3"]}, "model ID string or a table"),
        ('[openai]\nmodels = [{ id = "o3", size = 1 }]', {"openai": ["o3"]}, "unknown key(s) size"),
        ('[openai]\nmodels = ["o3"]\nextra = true', {"openai": ["o3"]}, "unknown key(s) extra"),
        ('[azure]\nmodels = ["a", "team:gpt"]', {"azure": []}, "not a valid Azure OpenAI"),
        ('[openai]\nmodels = [{ id = "o3", label = "two\\nlines" }]', {"openai": ["o3"]}, "not a short single-line"),
        (b"\xff\xfe[openai]", {}, "not valid TOML"),
    ],
)
def test_a_bad_registry_is_logged_and_skipped_never_fatal(
    services: Services, caplog: pytest.LogCaptureFixture, text: str | bytes, kept: dict, warning: str
):
    path = services.settings.models_registry
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with caplog.at_level(logging.WARNING, logger="core.models.registry_file"):
        registry = load_registry(services.settings)
    assert {provider: [m.id for m in models] for provider, models in registry.items()} == kept
    assert any(warning in record.getMessage() and str(path) in record.getMessage() for record in caplog.records)


def test_a_registry_entry_survives_a_mislabelled_neighbour(services: Services, fake: FakeProviders, alice):
    write_registry(services.settings.models_registry, '[openai]\nmodels = [{ id = "o3", label = 7 }, "o4-mini"]')
    save(services, fake, alice, "openai")
    models = section(services.catalog.load(alice.id), "openai").models
    assert [(m.model_id, m.label) for m in models[2:]] == [("o3", "o3"), ("o4-mini", "o4-mini")]


def test_the_registry_is_read_again_when_it_changes(services: Services):
    path = write_registry(services.settings.models_registry, '[xai]\nmodels = ["grok-3"]\n')
    assert [m.id for m in load_registry(services.settings)["xai"]] == ["grok-3"]
    write_registry(path, '[xai]\nmodels = ["grok-3", "grok-3-mini"]\n')
    assert [m.id for m in load_registry(services.settings)["xai"]] == ["grok-3", "grok-3-mini"]


def test_app_models_file_names_the_registry(env: Path, tmp_path: Path, monkeypatch, caplog: pytest.LogCaptureFixture):
    custom = write_registry(tmp_path / "elsewhere" / "team-models.toml", '[gemini]\nmodels = ["gemini-2.5-pro"]\n')
    monkeypatch.setenv("APP_MODELS_FILE", str(custom))
    settings = load_settings()
    assert settings.models_registry == custom
    assert [m.id for m in load_registry(settings)["gemini"]] == ["gemini-2.5-pro"]
    custom.unlink()
    with caplog.at_level(logging.WARNING, logger="core.models.registry_file"):
        assert load_registry(settings) == {}
    assert any("does not exist" in record.getMessage() for record in caplog.records)


def test_no_registry_file_is_fine_and_silent(services: Services, caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.WARNING, logger="core.models.registry_file"):
        assert load_registry(services.settings) == {}
    assert not caplog.records


def test_the_shipped_example_registry_is_valid(caplog: pytest.LogCaptureFixture):
    import tomllib

    from core.models.registry_file import parse_registry, parse_servers

    example = ROOT / "models.toml.example"
    data = tomllib.loads(example.read_text())
    with caplog.at_level(logging.WARNING, logger="core.models.registry_file"):
        registry = parse_registry(data, str(example))
        servers = parse_servers(data["servers"], str(example))
    assert [r.getMessage() for r in caplog.records] == [
        f"{example} [servers.gpu-box]: GPU_BOX_KEY is not set in the server's environment; "
        "the server is called without a key"
    ]
    assert registry and all(registry.values())
    assert [(s.spec.id, s.spec.listing_adds, len(s.models)) for s in servers] == [
        ("server/gpu-box", False, 1),
        ("server/ollama", True, 0),
    ]
