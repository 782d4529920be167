"""The provider registry: each provider is one complete entry, and the README documents what an admin sees of it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.accounts.users import UserPublic
from core.chat.conversations import Conversation
from core.chat.service import ChatService
from core.models.catalog import build_catalog
from core.providers.client import NO_KEY
from core.providers.registry import PROVIDERS, ModelSpec, ProviderSpec, key_shapes, server_key_variables
from core.security.redaction import redact, use_key_shapes
from core.services import Services
from tests.fakes.providers import FakeProviders

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
# A key of each provider's shape, as the provider issues them (sentinels, not real keys).
SAMPLE_KEYS = {
    "openai": "sk-proj-sentinelsentinel0001",
    "anthropic": "sk-ant-api03-sentinelsentinel0002",
    "gemini": "AIzaSyA-sentinelsentinelsentinel03",
    "xai": "xai-sentinelsentinelsentinel0004",
    "huggingface": "hf_sentinelsentinelsentinel0005",
}


@pytest.mark.parametrize("spec", PROVIDERS, ids=lambda spec: spec.id)
def test_each_provider_is_a_complete_entry(spec: ProviderSpec) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9_]*", spec.id) and spec.label
    assert spec.create_url.startswith("https://") and spec.create_label and spec.steps
    assert spec.server_key_variables or spec.runs_here, "the variables its SDK would read a key from, removed at start"
    if spec.needs_credential:
        assert [field for field in spec.fields if field.secret] == [spec.mask_field]
        assert len({field.name for field in spec.fields}) == len(spec.fields)
    if spec.chat_capable:
        assert spec.default_models or spec.deployments or spec.runs_here, "models to show before any listing"
        assert spec.listing is not None or spec.deployments or spec.runs_here
        endpoint_from_user = any(field.is_endpoint for field in spec.fields)
        called_here = spec.runs_here and not spec.api_base and not spec.base_url_variable
        assert endpoint_from_user or called_here or (spec.api_base.startswith("https://") and spec.base_url_variable)
        assert not (endpoint_from_user and spec.base_url_variable), "users set the endpoint, or the admin: not both"
    if spec.key_shape:
        assert re.fullmatch(spec.key_shape, SAMPLE_KEYS[spec.id])


@pytest.mark.parametrize("spec", PROVIDERS, ids=lambda spec: spec.id)
def test_each_provider_is_documented_in_the_readme(spec: ProviderSpec) -> None:
    assert spec.label in README
    for model in spec.default_models:
        assert f"`{model.id}`" in README, f"{spec.label}'s default model {model.id} in the README's table"
    if spec.base_url_variable:
        assert f"`{spec.base_url_variable}`" in README, "in the Settings table"
    for variable in spec.server_key_variables:
        assert f"`{variable}`" in README, "named where the README says server keys are removed"


def test_every_key_shape_is_masked_in_logs() -> None:
    use_key_shapes(key_shapes())
    for provider, key in SAMPLE_KEYS.items():
        assert key not in redact(f"calling {provider} with {key}"), provider
    assert len(server_key_variables()) == len(set(server_key_variables()))


def team_server(fake: FakeProviders) -> ProviderSpec:
    """An OpenAI-compatible server the admin runs for everyone: no credential of the user's."""
    return ProviderSpec(
        id="team",
        label="Team server",
        create_url="https://example.org/team-server",
        create_label="Ask your admin",
        steps=("Nothing to do: the server needs no key.",),
        fields=(),
        default_models=(ModelSpec("gpt-4o-mini", "Team GPT-4o mini"),),
        litellm_prefix="openai",
        api_base=fake.base("openai"),
        listing="openai",
    )


def test_a_provider_that_needs_no_credential_is_listed_and_answers_without_one(
    services: Services, fake: FakeProviders, alice: UserPublic
) -> None:
    team = team_server(fake)
    fake.keys["openai"].add(NO_KEY)
    [section] = build_catalog({}, providers=(team,))
    assert section.ready and [m.ref for m in section.models] == ["team/gpt-4o-mini"]

    chat = ChatService(services.conversations, services.credentials, services.settings, providers=(*PROVIDERS, team))
    turn = chat.send(alice.id, Conversation(), "Hello team", "team/gpt-4o-mini")
    assert "".join(turn.batches()) == fake.reply_text("openai", "gpt-4o-mini")
    turn.finish()
    assert turn.reply.error is None
    assert services.credentials.list(alice.id) == {}, "no credential was needed, looked up or recorded"
    [request] = [r for r in fake.requests if r.method == "POST"]
    assert request.key == NO_KEY and request.model == "gpt-4o-mini"
