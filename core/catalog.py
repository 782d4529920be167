"""Which models a user can chat with, derived from the credentials they saved, and how to name them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from core.credentials import CredentialPublic
from core.errors import UnknownModel
from core.providers import PROVIDERS, ProviderSpec, chat_providers, get_provider

FREE_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")
MODEL_ID_HINT = "Type a model ID as provider/model, e.g. openai/gpt-4o or azure/<deployment-name>."


@dataclass(frozen=True)
class ModelChoice:
    """A model a user can pick: `ref` (`provider/model-id`) is what Chat is given."""

    provider: str
    provider_label: str
    model_id: str
    label: str

    @property
    def ref(self) -> str:
        return f"{self.provider}/{self.model_id}"


@dataclass(frozen=True)
class ProviderSection:
    """One provider on the Models page: its saved credential (if any) and the models it unlocks."""

    spec: ProviderSpec
    credential: CredentialPublic | None
    models: tuple[ModelChoice, ...]

    @property
    def ready(self) -> bool:
        return self.credential is not None and self.credential.readable


@dataclass(frozen=True)
class ModelTarget:
    """A resolved model reference: the provider to call and the ID litellm is given."""

    spec: ProviderSpec
    model_id: str

    @property
    def litellm_model(self) -> str:
        known = self.spec.model(self.model_id)
        return f"{self.spec.litellm_prefix}/{known.api_id if known else self.model_id}"

    @property
    def ref(self) -> str:
        return f"{self.spec.id}/{self.model_id}"


def _default_choices(spec: ProviderSpec) -> tuple[ModelChoice, ...]:
    return tuple(ModelChoice(spec.id, spec.label, model.id, model.label) for model in spec.default_models)


def build_catalog(credentials: Mapping[str, CredentialPublic]) -> list[ProviderSection]:
    """Every provider, in the guide's order; models only where a readable credential is saved."""
    sections = []
    for spec in PROVIDERS:
        credential = credentials.get(spec.id)
        ready = credential is not None and credential.readable
        sections.append(ProviderSection(spec, credential, _default_choices(spec) if ready else ()))
    return sections


def available_models(sections: list[ProviderSection]) -> list[ModelChoice]:
    return [model for section in sections for model in section.models]


def resolve_model(text: str) -> ModelTarget:
    """Turn `provider/model` (or a default model's bare ID) into a target; UnknownModel otherwise."""
    ref = (text or "").strip()
    if not ref:
        raise UnknownModel(f"No model chosen. {MODEL_ID_HINT}")
    provider_id, _, model_id = ref.partition("/")
    if model_id:
        try:
            spec = get_provider(provider_id.lower())
        except KeyError:
            spec = None
        if spec is None or not spec.chat_capable:
            names = ", ".join(s.id for s in chat_providers())
            raise UnknownModel(f"Unknown provider {provider_id!r}: use one of {names}. {MODEL_ID_HINT}")
        if not FREE_MODEL_ID.match(model_id):
            raise UnknownModel(f"{model_id!r} is not a valid model ID. {MODEL_ID_HINT}")
        return ModelTarget(spec, model_id)
    owners = [spec for spec in chat_providers() if spec.model(ref)]
    if len(owners) == 1:
        return ModelTarget(owners[0], ref)
    raise UnknownModel(f"{ref!r} is not one of the listed models. {MODEL_ID_HINT}")
