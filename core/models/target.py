"""Model references: `provider/model-id` as a user picks or types it, resolved to the provider to call.

A team server's provider id is `server/<name>` (see core/models/registry_file.py), so its models are
`server/<name>/<model-id>`, where the model ID may hold slashes of its own (`server/gpu-box/meta-llama/Llama-3.1-8B`).
Only the servers in the registry file resolve: a reference can never name an address.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import UnknownModel
from core.models.registry_file import MODEL_ID
from core.providers.registry import PROVIDERS, SERVER_NAMESPACE, ProviderSpec

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
    if "/" in ref:
        spec, model_id = _provider_of(ref, chat)
        pattern = re.compile(spec.model_id_pattern) if spec.model_id_pattern else FREE_MODEL_ID
        if not pattern.match(model_id) or ".." in model_id:
            raise UnknownModel(f"{model_id!r} is not a valid model ID. {MODEL_ID_HINT}")
        return ModelTarget(spec, model_id)
    owners = [spec for spec in chat if spec.model(ref)]
    if len(owners) == 1:
        return ModelTarget(owners[0], ref)
    raise UnknownModel(f"{ref!r} is not one of the listed models. {MODEL_ID_HINT}")


def _provider_of(ref: str, chat: Sequence[ProviderSpec]) -> tuple[ProviderSpec, str]:
    """The provider a `provider/model` reference names (a provider id may hold a slash: `server/<name>`), and the
    model ID after it; UnknownModel when none is one of `chat`."""
    lowered = ref.lower()
    owners = [spec for spec in chat if lowered.startswith(spec.id + "/")]
    if owners:
        spec = max(owners, key=lambda s: len(s.id))
        return spec, ref[len(spec.id) + 1 :]
    provider_id = ref.partition("/")[0]
    if provider_id.lower() == SERVER_NAMESPACE:
        servers = [s.id.partition("/")[2] for s in chat if s.team_server]
        named = f"the team's servers are {', '.join(servers)}" if servers else "the admin has registered none"
        raise UnknownModel(
            f"There is no team server named {ref.split('/')[1]!r}: {named}. Use server/<name>/<model-id>."
        )
    names = ", ".join(s.id for s in chat if not s.team_server)
    raise UnknownModel(f"Unknown provider {provider_id!r}: use one of {names}. {MODEL_ID_HINT}")
