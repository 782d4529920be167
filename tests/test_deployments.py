"""Azure deployments: names checked for shape, tried with one token through litellm, kept per user and credential."""

from __future__ import annotations

import logging

import pytest

from core.accounts.users import UserPublic
from core.errors import InvalidInput, MissingCredential, ProviderError, ProviderErrorKind
from core.models.choice import ModelSource
from core.models.deployments import clean_deployment_name
from core.models.target import resolve_model
from core.services import Services
from tests.fakes.providers import DEFAULT_KEYS, FakeProviders

pytestmark = pytest.mark.both_backends

AZURE_KEY = DEFAULT_KEYS["azure"]


@pytest.fixture
def azure(services: Services, fake: FakeProviders, alice: UserPublic) -> Services:
    """Alice has an Azure credential pointing at the fake resource."""
    services.credentials.save(alice.id, "azure", {"endpoint": fake.url, "api_key": AZURE_KEY, "api_version": ""})
    return services


def add(services: Services, user: UserPublic, name: str):
    return services.deployments.add(user.id, "azure", name)


def names(services: Services, user: UserPublic) -> list[str]:
    return [d.name for d in services.deployments.list(user.id, "azure")]


def chat_calls(fake: FakeProviders) -> list:
    return [r for r in fake.requests if r.method == "POST"]


@pytest.mark.parametrize("name", ["my-gpt4o", "  my-gpt4o  ", "a.b_c-1", "ab", "x" * 64, "GPT-4o.2024_08"])
def test_valid_deployment_names(name: str):
    assert clean_deployment_name(name) == name.strip()


@pytest.mark.parametrize(
    "name",
    [
        *["", "   ", None, "a", "x" * 65, "has space", "slash/name", "semi;colon", "ünïcode", "tab\tname", "a:b"],
        *["..", "a..b", ".hidden", "trailing.", "-dash"],
    ],
)
def test_malformed_deployment_names_are_refused_at_the_field(azure: Services, fake: FakeProviders, alice, name):
    with pytest.raises(InvalidInput) as caught:
        add(azure, alice, name)
    assert caught.value.field == "deployment"
    assert names(azure, alice) == [] and fake.requests == [], "nothing kept, nobody called"


def test_a_deployment_that_answers_is_kept(azure: Services, fake: FakeProviders, alice: UserPublic):
    deployment = fake.models["azure"][0]
    added = add(azure, alice, deployment)
    assert added.deployment.name == deployment and added.note == ""
    assert names(azure, alice) == [deployment]
    [call] = chat_calls(fake)
    assert call.path == f"/openai/deployments/{deployment}/chat/completions"
    assert call.key == AZURE_KEY and call.body["max_tokens"] == 1 and call.query["api-version"]


def test_a_missing_deployment_is_named_and_not_kept(azure: Services, fake: FakeProviders, alice: UserPublic):
    with pytest.raises(ProviderError) as caught:
        add(azure, alice, "no-such-deployment")
    assert caught.value.kind is ProviderErrorKind.NOT_FOUND
    assert str(caught.value) == (
        "There is no deployment named no-such-deployment at your Azure endpoint. "
        "Check the deployment name in the Azure portal."
    )
    assert names(azure, alice) == []


def test_a_rejected_key_keeps_nothing_and_never_shows_the_key(
    azure: Services, fake: FakeProviders, alice: UserPublic, caplog: pytest.LogCaptureFixture
):
    fake.keys["azure"] = {"some-other-key-entirely"}
    with caplog.at_level(logging.DEBUG), pytest.raises(ProviderError) as caught:
        add(azure, alice, fake.models["azure"][0])
    assert caught.value.kind is ProviderErrorKind.REJECTED_KEY
    assert names(azure, alice) == []
    assert AZURE_KEY not in str(caught.value) and AZURE_KEY not in caplog.text


def test_a_rate_limited_deployment_exists_and_is_kept_with_a_note(azure: Services, fake: FakeProviders, alice):
    fake.fail("azure", "rate_limit")
    added = add(azure, alice, fake.models["azure"][0])
    assert "rate limiting" in added.note
    assert names(azure, alice) == [fake.models["azure"][0]]


def test_a_duplicate_is_refused_before_any_call(azure: Services, fake: FakeProviders, alice: UserPublic):
    add(azure, alice, fake.models["azure"][0])
    fake.requests.clear()
    with pytest.raises(InvalidInput, match="already in your list"):
        add(azure, alice, f" {fake.models['azure'][0]} ")
    assert fake.requests == []


def test_remove(azure: Services, fake: FakeProviders, alice: UserPublic):
    fake.models["azure"] += ["second-deployment"]
    add(azure, alice, fake.models["azure"][0])
    add(azure, alice, "second-deployment")
    assert azure.deployments.remove(alice.id, "azure", fake.models["azure"][0]) is True
    assert names(azure, alice) == ["second-deployment"]
    assert azure.deployments.remove(alice.id, "azure", "never-added") is False


def test_users_never_see_or_touch_each_others_deployments(
    azure: Services, fake: FakeProviders, alice: UserPublic, bob: UserPublic
):
    deployment = fake.models["azure"][0]
    add(azure, alice, deployment)
    assert names(azure, bob) == []
    assert azure.deployments.remove(bob.id, "azure", deployment) is False
    with pytest.raises(MissingCredential):
        add(azure, bob, deployment)
    with pytest.raises(MissingCredential):
        azure.deployment_store.add(bob.id, "azure", deployment)
    azure.credentials.save(bob.id, "azure", {"endpoint": fake.url, "api_key": AZURE_KEY, "api_version": ""})
    assert names(azure, bob) == []
    assert names(azure, alice) == [deployment]


def test_deleting_the_credential_deletes_its_deployments(azure: Services, fake: FakeProviders, alice: UserPublic):
    add(azure, alice, fake.models["azure"][0])
    azure.credentials.delete(alice.id, "azure")
    azure.credentials.save(alice.id, "azure", {"endpoint": fake.url, "api_key": AZURE_KEY, "api_version": ""})
    assert names(azure, alice) == []


def test_replacing_the_key_keeps_the_deployments(azure: Services, fake: FakeProviders, alice: UserPublic):
    add(azure, alice, fake.models["azure"][0])
    azure.credentials.save(alice.id, "azure", {"endpoint": fake.url, "api_key": AZURE_KEY, "api_version": ""})
    assert names(azure, alice) == [fake.models["azure"][0]]


def test_deployments_are_models_named_azure_slash_deployment(azure: Services, fake: FakeProviders, alice):
    fake.models["azure"] = ["listed-by-resource", "mine-and-listed", "only-mine"]
    add(azure, alice, "mine-and-listed")
    add(azure, alice, "only-mine")
    fake.models["azure"].remove("only-mine")  # e.g. listed under another resource name since
    models = next(s for s in azure.catalog.load(alice.id) if s.spec.id == "azure").models
    assert [(m.ref, m.source) for m in models] == [
        ("azure/mine-and-listed", ModelSource.DEPLOYMENT),
        ("azure/only-mine", ModelSource.DEPLOYMENT),
        ("azure/listed-by-resource", ModelSource.LISTED),
    ]
    assert resolve_model("azure/only-mine").litellm_model == "azure/only-mine"
    deployments_calls = [r for r in fake.requests if r.path == "/openai/deployments"]
    assert len(deployments_calls) == 1 and deployments_calls[0].key == AZURE_KEY


def test_a_resource_without_a_deployments_list_falls_back_quietly(azure: Services, fake: FakeProviders, alice):
    fake.lists_deployments = False
    add(azure, alice, fake.models["azure"][0])
    section = next(s for s in azure.catalog.load(alice.id) if s.spec.id == "azure")
    assert section.listing_not_offered and not section.listing_failed
    assert [m.ref for m in section.models] == [f"azure/{fake.models['azure'][0]}"]


def test_a_failing_deployments_list_is_a_visible_failure(azure: Services, fake: FakeProviders, alice):
    fake.fail("azure", "server_error")
    section = next(s for s in azure.catalog.load(alice.id) if s.spec.id == "azure")
    assert section.listing_failed
    assert section.listing.error == "Azure OpenAI is having problems (HTTP 500). Try again in a moment."
