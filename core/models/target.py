"""Model references: `provider/model-id` as a user picks or types it, resolved to the provider to call."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import UnknownModel
from core.models.registry_file import MODEL_ID
from core.providers.registry import PROVIDERS, ProviderSpec

FREE_MODEL_ID = MODEL_ID
MODEL_ID_HINT = "Type a model ID as provider/model, e.g. openai/gpt-4o or azure/<deployment-name>."


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


def resolve_model(text: str, providers: Sequence[ProviderSpec] = PROVIDERS) -> ModelTarget:
    """Turn `provider/model` (or a default model's bare ID) into a target among `providers`; UnknownModel
    otherwise."""
    ref = (text or "").strip()
    if not ref:
        raise UnknownModel(f"No model chosen. {MODEL_ID_HINT}")
    chat = [spec for spec in providers if spec.chat_capable]
    provider_id, _, model_id = ref.partition("/")
    if model_id:
        spec = next((s for s in chat if s.id == provider_id.lower()), None)
        if spec is None:
            names = ", ".join(s.id for s in chat)
            raise UnknownModel(f"Unknown provider {provider_id!r}: use one of {names}. {MODEL_ID_HINT}")
        pattern = re.compile(spec.model_id_pattern) if spec.model_id_pattern else FREE_MODEL_ID
        if not pattern.match(model_id) or ".." in model_id:
            raise UnknownModel(f"{model_id!r} is not a valid model ID. {MODEL_ID_HINT}")
        return ModelTarget(spec, model_id)
    owners = [spec for spec in chat if spec.model(ref)]
    if len(owners) == 1:
        return ModelTarget(owners[0], ref)
    raise UnknownModel(f"{ref!r} is not one of the listed models. {MODEL_ID_HINT}")
