"""Key tests on save and on request, against the loopback fakes of every provider and the fake Hub."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from core.accounts.users import UserPublic
from core.config import load_settings
from core.credentials.key_test import KeyRejected, KeyTestResult, check_key
from core.credentials.store import WORKED_AGAIN
from core.errors import InvalidInput, ProviderError, ProviderErrorKind
from core.providers.listing import is_chat_model, list_models
from core.providers.registry import get_provider
from core.services import Services
from tests.fakes.hub import FakeHub
from tests.fakes.providers import DEFAULT_KEYS, DEFAULT_MODELS, FakeProviders

CHAT_PROVIDERS = ("openai", "anthropic", "gemini", "xai", "azure")


def values_for(fake: FakeProviders, provider: str, key: str | None = None) -> dict[str, str]:
    values = {"api_key": key or DEFAULT_KEYS[provider]}
    if provider == "azure":
        values |= {"endpoint": fake.url, "api_version": "2024-10-21"}
    return values


def chat_model_count(provider: str) -> int:
    return sum(1 for model in DEFAULT_MODELS[provider] if is_chat_model(model))


@pytest.mark.parametrize("provider", CHAT_PROVIDERS)
def test_a_working_key_is_valid_and_says_what_it_unlocked(services: Services, fake: FakeProviders, provider: str):
    outcome = check_key(get_provider(provider), values_for(fake, provider), services.settings)
    assert outcome.result is KeyTestResult.VALID
    assert f"{chat_model_count(provider)} chat model" in outcome.detail
    listing = [r for r in fake.requests if r.provider == provider]
    assert len(listing) == 1 and listing[0].method == "GET" and listing[0].key == DEFAULT_KEYS[provider]


def test_embedding_models_are_not_counted_as_chat_models(services: Services, fake: FakeProviders):
    spec = get_provider("openai")
    everything = [model.id for model in list_models(spec, values_for(fake, "openai"), services.settings)]
    assert "text-embedding-3-small" in everything
    assert "2 chat models" in check_key(spec, values_for(fake, "openai"), services.settings).detail


@pytest.mark.parametrize("provider", CHAT_PROVIDERS)
@pytest.mark.parametrize(
    ("failure", "result"),
    [
        (None, KeyTestResult.REJECTED),
        ("forbidden", KeyTestResult.NO_ACCESS),
        ("rate_limit", KeyTestResult.NO_ACCESS),
        ("server_error", KeyTestResult.UNREACHABLE),
    ],
)
def test_each_refusal_is_named(
    services: Services, fake: FakeProviders, provider: str, failure: str | None, result: KeyTestResult
):
    key = None if failure else "wrong-key-for-test-0000"
    if failure:
        fake.fail(provider, failure)
    outcome = check_key(get_provider(provider), values_for(fake, provider, key), services.settings)
    assert outcome.result is result
    assert "wrong-key" not in outcome.detail and DEFAULT_KEYS[provider] not in outcome.detail


def test_a_hanging_provider_times_out_as_unverified(env, monkeypatch: pytest.MonkeyPatch, fake: FakeProviders):
    monkeypatch.setenv("APP_REQUEST_TIMEOUT", "0.5")
    settings = load_settings()
    fake.fail("openai", "hang")
    outcome = check_key(get_provider("openai"), values_for(fake, "openai"), settings)
    assert outcome.result is KeyTestResult.UNREACHABLE
    assert "did not answer in time" in outcome.detail


def test_a_closed_port_is_unreachable(services: Services, fake: FakeProviders):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    settings = replace(services.settings, api_bases=(("OPENAI_API_BASE", closed),))
    outcome = check_key(get_provider("openai"), values_for(fake, "openai"), settings)
    assert outcome.result is KeyTestResult.UNREACHABLE
    assert "Could not reach OpenAI" in outcome.detail


def test_listing_returns_what_the_provider_lists_in_order(services: Services, fake: FakeProviders):
    fake.models["anthropic"] = [f"claude-test-{n}" for n in range(3)]
    models = list_models(get_provider("anthropic"), values_for(fake, "anthropic"), services.settings)
    assert [model.id for model in models] == fake.models["anthropic"]


def test_listing_refusal_raises_a_safe_provider_error(services: Services, fake: FakeProviders):
    with pytest.raises(ProviderError) as caught:
        list_models(get_provider("xai"), values_for(fake, "xai", "xai-bad-key-0000"), services.settings)
    assert caught.value.kind is ProviderErrorKind.REJECTED_KEY
    assert "xai-bad-key" not in str(caught.value)


def test_save_tested_stores_a_valid_key_with_its_result(services: Services, fake: FakeProviders, alice: UserPublic):
    saved, outcome = services.key_tests.save(alice.id, "gemini", values_for(fake, "gemini"))
    assert outcome.result is KeyTestResult.VALID
    status = services.credentials.list(alice.id)["gemini"].status
    assert status is not None and status.test_result == "valid" and status.tested_at is not None
    assert status.test_detail == outcome.detail
    assert saved.masked == "…alid"


def test_a_rejected_key_is_not_saved_and_the_old_one_stays(services: Services, fake: FakeProviders, alice: UserPublic):
    services.key_tests.save(alice.id, "openai", values_for(fake, "openai"))
    with pytest.raises(KeyRejected) as caught:
        services.key_tests.save(alice.id, "openai", values_for(fake, "openai", "sk-revoked-9999"))
    assert caught.value.field == "api_key"
    assert "Nothing was saved" in str(caught.value)
    assert services.credentials.secrets(alice.id, "openai")["api_key"] == DEFAULT_KEYS["openai"]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"api_key": ""}, "api_key"),
        ({"api_key": "   "}, "api_key"),
        ({"api_key": "sk-\x07bell"}, "api_key"),
        ({"api_key": "sk-" + "x" * 5000}, "api_key"),
        ({"api_key": "azure-test-azure-valid", "endpoint": "https://evil.example.com"}, "endpoint"),
    ],
)
def test_a_malformed_replacement_changes_nothing_and_calls_nobody(
    services: Services, fake: FakeProviders, alice: UserPublic, raw: dict[str, str], field: str
):
    provider = "azure" if "endpoint" in raw else "openai"
    services.key_tests.save(alice.id, provider, values_for(fake, provider))
    before = services.credentials.secrets(alice.id, provider)
    fake.requests.clear()
    with pytest.raises(InvalidInput) as caught:
        services.key_tests.save(alice.id, provider, raw)
    assert caught.value.field == field
    assert services.credentials.secrets(alice.id, provider) == before
    assert fake.requests == []


def test_an_unreachable_provider_saves_the_key_as_unverified(
    services: Services, fake: FakeProviders, alice: UserPublic
):
    fake.fail("anthropic", "server_error")
    _, outcome = services.key_tests.save(alice.id, "anthropic", values_for(fake, "anthropic"))
    assert outcome.result is KeyTestResult.UNREACHABLE
    assert services.credentials.list(alice.id)["anthropic"].status.test_result == "unreachable"
    again = services.key_tests.retest(alice.id, "anthropic")
    assert again.result is KeyTestResult.VALID
    assert services.credentials.list(alice.id)["anthropic"].status.test_result == "valid"


def test_replacing_a_key_forgets_what_was_learned_about_the_old_one(
    services: Services, fake: FakeProviders, alice: UserPublic
):
    services.key_tests.save(alice.id, "xai", values_for(fake, "xai"))
    services.credentials.record_use(alice.id, "xai", "xAI rejected the saved key.")
    assert services.credentials.list(alice.id)["xai"].status.error == "xAI rejected the saved key."
    services.credentials.save(alice.id, "xai", values_for(fake, "xai"))
    assert services.credentials.list(alice.id)["xai"].status is None


def test_record_use_keeps_the_last_error_until_a_chat_works(services: Services, fake: FakeProviders, alice):
    services.credentials.save(alice.id, "openai", values_for(fake, "openai"))
    services.credentials.record_use(alice.id, "openai", "OpenAI is rate limiting your key.", kind="rate_limited")
    failed = services.credentials.list(alice.id)["openai"].status
    assert failed.error == "OpenAI is rate limiting your key." and failed.error_at == failed.used_at
    assert failed.test_result is None and not failed.rejected_at_chat, "only a refused key changes the verdict"
    services.credentials.record_use(alice.id, "openai")
    worked = services.credentials.list(alice.id)["openai"].status
    assert worked.error is None and worked.error_at is None
    assert worked.used_at >= failed.used_at


REFUSED = "OpenAI rejected the saved key. Update it in Profile → Provider Keys → OpenAI."


def test_a_key_refused_for_a_chat_is_rejected_at_chat_until_a_chat_works(
    services: Services, fake: FakeProviders, alice: UserPublic
):
    services.key_tests.save(alice.id, "openai", values_for(fake, "openai"))
    tested = services.credentials.list(alice.id)["openai"].status
    services.credentials.record_use(alice.id, "openai", REFUSED, kind="rejected_key")
    refused = services.credentials.list(alice.id)["openai"].status
    assert refused.rejected_at_chat and refused.test_result == KeyTestResult.REJECTED_AT_CHAT
    assert refused.test_detail == REFUSED and refused.error == REFUSED
    assert refused.tested_at == refused.error_at >= tested.tested_at

    services.credentials.record_use(alice.id, "openai", "OpenAI is rate limiting your key.", kind="rate_limited")
    assert services.credentials.list(alice.id)["openai"].status.rejected_at_chat, "another error says nothing new"

    services.credentials.record_use(alice.id, "openai")
    worked = services.credentials.list(alice.id)["openai"].status
    assert not worked.rejected_at_chat and worked.test_result == KeyTestResult.VALID
    assert worked.test_detail == WORKED_AGAIN and worked.tested_at == worked.used_at
    assert worked.error is None and worked.error_at is None


def test_a_chat_that_works_leaves_a_tested_verdict_alone(services: Services, fake: FakeProviders, alice: UserPublic):
    fake.fail("openai", "server_error")
    services.key_tests.save(alice.id, "openai", values_for(fake, "openai"))
    before = services.credentials.list(alice.id)["openai"].status
    services.credentials.record_use(alice.id, "openai")
    after = services.credentials.list(alice.id)["openai"].status
    assert (after.test_result, after.test_detail, after.tested_at) == (
        "unreachable",
        before.test_detail,
        before.tested_at,
    )


def test_test_again_after_a_refused_chat_gives_the_new_verdict(
    services: Services, fake: FakeProviders, alice: UserPublic
):
    services.credentials.save(alice.id, "xai", values_for(fake, "xai"))
    services.credentials.record_use(alice.id, "xai", "xAI rejected the saved key.", kind="rejected_key")
    assert services.credentials.list(alice.id)["xai"].status.rejected_at_chat, "also without an earlier test"
    assert services.key_tests.retest(alice.id, "xai").result is KeyTestResult.VALID
    status = services.credentials.list(alice.id)["xai"].status
    assert status.test_result == "valid" and not status.rejected_at_chat
    assert status.error == "xAI rejected the saved key.", (
        "the last chat still failed; the next one that works clears it"
    )


def test_record_for_another_users_provider_touches_nothing(
    services: Services, fake: FakeProviders, alice: UserPublic, bob: UserPublic
):
    services.credentials.save(alice.id, "openai", values_for(fake, "openai"))
    services.credentials.record_use(bob.id, "openai", "boom")
    services.credentials.record_test(bob.id, "openai", "rejected", "boom")
    assert services.credentials.list(alice.id)["openai"].status is None
    assert services.credentials.list(bob.id) == {}


@pytest.mark.parametrize(
    ("token", "result", "detail"),
    [
        ("hf_test_reader_token", KeyTestResult.VALID, "Account reader; token can read models."),
        ("hf_test_wrong_token_0000", KeyTestResult.REJECTED, "Hugging Face rejected this token"),
    ],
)
def test_a_hugging_face_token_is_checked_with_whoami(
    services: Services, hub: FakeHub, token: str, result: KeyTestResult, detail: str
):
    outcome = check_key(get_provider("huggingface"), {"token": token}, services.settings)
    assert outcome.result is result
    assert outcome.detail.startswith(detail)
    assert token not in outcome.detail
