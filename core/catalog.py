"""Which models a user can chat with, derived from the credentials they saved, and how to name them.

A ready provider's models, in this order: the guide's defaults (always), the admin's registry, the user's own
deployments (Azure), then what the provider lists for the user's key (its own order). A listed model that is one
of the above is shown once, as that; only listed models can be *new*, and a failed listing shows the rest alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from core.credentials import CredentialPublic
from core.discovery import DiscoveredModel
from core.errors import UnknownModel
from core.listings import NOT_OFFERED, Listing, refresh_listings
from core.model_info import UNKNOWN, ModelInfo, model_info
from core.providers import PROVIDERS, ProviderSpec, chat_providers, get_provider
from core.registry import MODEL_ID, Registry, RegistryModel, load_registry, valid_model_id

if TYPE_CHECKING:
    from core.services import Services

FREE_MODEL_ID = MODEL_ID
MODEL_ID_HINT = "Type a model ID as provider/model, e.g. openai/gpt-4o or azure/<deployment-name>."

InfoLookup = Callable[[str, str], ModelInfo]


class ModelSource(StrEnum):
    DEFAULT = "default"
    REGISTRY = "registry"
    DEPLOYMENT = "your deployment"
    LISTED = "listed"


@dataclass(frozen=True)
class ModelChoice:
    """A model a user can pick: `ref` (`provider/model-id`) is what Chat is given.

    `new` marks a listed model the provider's previous listing did not have; prices are USD per 1M tokens.
    """

    provider: str
    provider_label: str
    model_id: str
    label: str
    source: ModelSource = ModelSource.DEFAULT
    new: bool = False
    context_window: int | None = None
    input_price: float | None = None
    output_price: float | None = None

    @property
    def ref(self) -> str:
        return f"{self.provider}/{self.model_id}"


@dataclass(frozen=True)
class ProviderSection:
    """One provider on the Models page: its saved credential (if any), the models it unlocks, its listing."""

    spec: ProviderSpec
    credential: CredentialPublic | None
    models: tuple[ModelChoice, ...]
    listing: Listing | None = None
    dropped: tuple[str, ...] = ()

    @property
    def ready(self) -> bool:
        return self.credential is not None and self.credential.readable

    @property
    def listing_not_offered(self) -> bool:
        """A deployments provider whose resource does not list its deployments: the user's own list is used."""
        listing = self.listing
        return self.spec.deployments and listing is not None and listing.error_kind in NOT_OFFERED

    @property
    def listing_failed(self) -> bool:
        """The last listing attempt failed (for a reason worth a note): its models fell back to the defaults."""
        return self.listing is not None and not self.listing.ok and not self.listing_not_offered

    @property
    def new_count(self) -> int:
        return sum(1 for model in self.models if model.new)


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


def _no_info(provider: str, model_id: str) -> ModelInfo:
    return UNKNOWN


def _choices(
    spec: ProviderSpec,
    listing: Listing | None,
    registered: tuple[RegistryModel, ...],
    deployments: tuple[str, ...],
    info: InfoLookup,
) -> tuple[ModelChoice, ...]:
    prefix = spec.litellm_prefix or spec.id
    listed: dict[str, DiscoveredModel] = {m.id: m for m in listing.models} if listing and listing.ok else {}
    chosen: dict[str, ModelChoice] = {}

    def add(model_id: str, label: str, source: ModelSource, wire_id: str | None = None, new: bool = False) -> None:
        found = listed.pop(model_id, None)
        if wire_id and wire_id != model_id:
            found = listed.pop(wire_id, None) or found
        known = info(prefix, wire_id or model_id)
        chosen[model_id] = ModelChoice(
            spec.id,
            spec.label,
            model_id,
            label or (found.label if found else "") or model_id,
            source,
            new,
            (found.context_window if found else None) or known.context_window,
            known.input_price,
            known.output_price,
        )

    for model in spec.default_models:
        add(model.id, model.label, ModelSource.DEFAULT, model.api_id)
    wire_ids = {model.api_id for model in spec.default_models}
    for model in registered:
        if model.id not in chosen and model.id not in wire_ids:
            add(model.id, model.label, ModelSource.REGISTRY)
    for name in deployments:
        if name not in chosen:
            add(name, name, ModelSource.DEPLOYMENT)
    for model in list(listed.values()):
        if valid_model_id(spec, model.id) and info(prefix, model.id).chat_capable:
            add(model.id, model.label, ModelSource.LISTED, new=model.id in listing.new_ids)
    return tuple(chosen.values())


def build_catalog(
    credentials: Mapping[str, CredentialPublic],
    listings: Mapping[str, Listing] | None = None,
    registry: Registry | None = None,
    deployments: Mapping[str, tuple[str, ...]] | None = None,
    info: InfoLookup = _no_info,
) -> list[ProviderSection]:
    """Every provider, in the guide's order; models only where a readable credential is saved."""
    listings, registry, deployments = listings or {}, registry or {}, deployments or {}
    sections = []
    for spec in PROVIDERS:
        credential = credentials.get(spec.id)
        if credential is None or not credential.readable or not spec.chat_capable:
            sections.append(ProviderSection(spec, credential, ()))
            continue
        listing = listings.get(spec.id)
        models = _choices(spec, listing, registry.get(spec.id, ()), deployments.get(spec.id, ()), info)
        shown = {model.model_id for model in models}
        dropped = tuple(
            i for i in (listing.dropped_ids if listing and listing.ok else ()) if i not in shown and MODEL_ID.match(i)
        )
        sections.append(ProviderSection(spec, credential, models, listing, dropped))
    return sections


def load_catalog(services: Services, user_id: int, refresh: bool = False) -> list[ProviderSection]:
    """The user's catalog: their credentials, cached listings (asking the providers that are due, or all when
    `refresh`), the admin's registry and their own deployments, with litellm's model info."""
    saved = services.credentials.list(user_id)
    listings = refresh_listings(
        services.listings, services.credentials, services.settings, user_id, saved, force=refresh
    )
    deployments = {
        spec.id: tuple(d.name for d in services.deployments.list(user_id, spec.id))
        for spec in chat_providers()
        if spec.deployments and spec.id in saved
    }
    return build_catalog(saved, listings, load_registry(services.settings), deployments, model_info)


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


def search_models(models: tuple[ModelChoice, ...], query: str) -> tuple[ModelChoice, ...]:
    """The models whose name or ID contains every word of `query` (any case)."""
    words = (query or "").lower().split()
    return tuple(m for m in models if all(w in f"{m.label} {m.model_id}".lower() for w in words))
