"""Which models a user can chat with, derived from the credentials they saved, and how to name them.

A ready provider's models, in this order: the guide's defaults (always), the admin's registry, the user's own
deployments (Azure), then what the provider lists for the user's key (its own order). A listed model that is one
of the above is shown once, as that; only listed models can be *new*, and a failed listing shows the rest alone.
The team's servers (core/models/servers.py) come after the providers, for every user: each shows the models the
admin configured for it, or what it lists (`models = "list"`).

Once a listing has succeeded it is the truth about the key: a default or registry model it does not include is
*not offered* (kept, since the guide promises it, but sorted last and flagged), and one it lists under another ID
(`claude-3-5-haiku-20241022` for `claude-3-5-haiku`) is called by that ID. The user's own deployments are names
they tested themselves and are never flagged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from core.config import Settings
from core.credentials.store import CredentialPublic, CredentialStore
from core.models.choice import ModelChoice, ModelSource, ProviderSection
from core.models.deployments import DeploymentStore
from core.models.listings import Listing, Listings
from core.models.model_info import UNKNOWN, ModelInfo, model_info
from core.models.registry_file import MODEL_ID, Registry, RegistryModel, load_file, valid_model_id
from core.models.servers import ServerListings
from core.providers.listing import DiscoveredModel
from core.providers.registry import PROVIDERS, ProviderSpec, chat_providers

LATEST_SUFFIX = "-latest"
# A listed ID that is a pinned version of a model: `-20241022`, `-2024-08-06` (a date), `-002`, `-1212` (a number).
VERSION_SUFFIX = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2}|\d{3,4})")

InfoLookup = Callable[[str, str], ModelInfo]


def _version(model_id: str) -> tuple[int, str]:
    """Orders one model's pinned versions: the newest date (or highest number) last."""
    digits = re.sub(r"\D", "", model_id)
    return len(digits), digits


def listed_as(model_id: str, wire_id: str | None, listed: Collection[str], versions: bool = True) -> str | None:
    """The listed ID a model is called by: its wire ID, its own ID, else (with `versions`) its `-latest` alias or its
    newest pinned version; None when the listing has none of them."""
    for candidate in (wire_id, model_id):
        if candidate and candidate in listed:
            return candidate
    if not versions:
        return None
    if model_id + LATEST_SUFFIX in listed:
        return model_id + LATEST_SUFFIX
    pinned = [i for i in listed if i.startswith(model_id) and VERSION_SUFFIX.fullmatch(i[len(model_id) :])]
    return max(pinned, key=_version, default=None)


def _choices(
    spec: ProviderSpec,
    listing: Listing | None,
    registered: tuple[RegistryModel, ...],
    deployments: tuple[str, ...],
    info: InfoLookup,
) -> tuple[ModelChoice, ...]:
    prefix = spec.litellm_prefix or spec.id
    if not spec.litellm_model_map:
        info = _unknown  # litellm's map would describe another model of that name
    ok = listing if listing is not None and listing.ok else None  # a listing that says what the provider has now
    checked = ok is not None
    listed: dict[str, DiscoveredModel] = {m.id: m for m in ok.models} if ok is not None else {}
    new_ids = ok.new_ids if ok is not None else frozenset()
    chosen: dict[str, ModelChoice] = {}
    taken: set[str] = set()  # every ID a chosen model goes by: a later entry with one of them is the same model

    def add(model_id: str, label: str, source: ModelSource, wire_id: str | None = None, new: bool = False) -> None:
        called = listed_as(model_id, wire_id, listed, versions=not spec.deployments) if checked else None
        found = listed.get(called) if called else None
        aliases = {i for i in (called, wire_id, model_id) if i}
        for alias in aliases:  # one model, one row
            listed.pop(alias, None)
        taken.update(aliases)
        known = info(prefix, called or wire_id or model_id)
        chosen[model_id] = ModelChoice(
            provider=spec.id,
            provider_label=spec.label,
            model_id=model_id,
            label=label or (found.label if found else "") or model_id,
            source=source,
            new=new,
            # The user's own deployment is a name they tested themselves: no listing judges it.
            offered=source is ModelSource.DEPLOYMENT or not checked or called is not None,
            wire_id=called if called not in (None, model_id, wire_id) else None,
            context_window=(found.context_window if found else None) or known.context_window,
            input_price=known.input_price,
            output_price=known.output_price,
            id_is_ref=spec.deployments,
            team_server=spec.team_server,
        )

    for default in spec.default_models:
        add(default.id, default.label, ModelSource.DEFAULT, default.api_id)
    for entry in registered:
        if entry.id not in taken:
            add(entry.id, entry.label, ModelSource.REGISTRY)
    for name in deployments:
        if name not in taken:
            add(name, name, ModelSource.DEPLOYMENT)
    for model in list(listed.values()) if spec.listing_adds else ():
        if valid_model_id(spec, model.id) and info(prefix, model.id).chat_capable:
            add(model.id, model.label, ModelSource.LISTED, new=model.id in new_ids)
    models = tuple(chosen.values())
    return tuple(m for m in models if m.offered) + tuple(m for m in models if not m.offered)


def _unknown(prefix: str, model_id: str) -> ModelInfo:
    return UNKNOWN


def downloaded_choices(spec: ProviderSpec, repo_ids: Sequence[str]) -> tuple[ModelChoice, ...]:
    """The models on this server the user may chat with, free of charge, named by their Hugging Face IDs."""
    return tuple(
        ModelChoice(
            provider=spec.id,
            provider_label=spec.label,
            model_id=repo_id,
            label=repo_id.rpartition("/")[2],
            source=ModelSource.DOWNLOADED,
            input_price=0.0,
            output_price=0.0,
        )
        for repo_id in repo_ids
    )


@dataclass(frozen=True)
class CatalogInputs:
    """What a user's catalog is built from, besides their credentials (each optional)."""

    listings: Mapping[str, Listing] = field(default_factory=dict)
    registry: Registry = field(default_factory=dict)
    deployments: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    downloaded: Sequence[str] = ()  # the local models (`owner/name`) this user may chat with


def build_catalog(
    credentials: Mapping[str, CredentialPublic],
    inputs: CatalogInputs | None = None,
    providers: Sequence[ProviderSpec] = PROVIDERS,
) -> list[ProviderSection]:
    """Every provider, in the guide's order; models only where a readable credential is saved, or where the
    provider needs none."""
    inputs = inputs or CatalogInputs()
    listings, registry, deployments = inputs.listings, inputs.registry, inputs.deployments
    sections = []
    for spec in providers:
        credential = credentials.get(spec.id)
        missing = spec.needs_credential and (credential is None or not credential.readable)
        if missing or not spec.chat_capable:
            sections.append(ProviderSection(spec, credential, ()))
            continue
        if spec.runs_here:
            sections.append(ProviderSection(spec, credential, downloaded_choices(spec, inputs.downloaded)))
            continue
        listing = listings.get(spec.id)
        models = _choices(spec, listing, registry.get(spec.id, ()), deployments.get(spec.id, ()), model_info)
        shown = {model.model_id for model in models} | {model.wire_id for model in models if model.wire_id}
        dropped = tuple(
            i for i in (listing.dropped_ids if listing and listing.ok else ()) if i not in shown and MODEL_ID.match(i)
        )
        sections.append(ProviderSection(spec, credential, models, listing, dropped))
    return sections


class LocalModelSource(Protocol):
    """The local models a user may chat with (core/local's, plugged in by services.py)."""

    def usable(self, user_id: int) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Catalog:
    """Which models each user can pick, built from their credentials, listings, deployments and local models."""

    credentials: CredentialStore
    listings: Listings
    deployments: DeploymentStore
    settings: Settings
    providers: tuple[ProviderSpec, ...] = PROVIDERS
    local: LocalModelSource | None = None
    servers: ServerListings | None = None

    def load(self, user_id: int, refresh: bool = False) -> list[ProviderSection]:
        """The user's catalog: their credentials, cached listings (asking the providers and team servers that are
        due, or all when `refresh`), the admin's registry and their own deployments, with litellm's model info."""
        saved = self.credentials.list(user_id)
        listings = self.listings.current(user_id, saved, force=refresh)
        registry = load_file(self.settings)
        team = tuple(server.spec for server in registry.servers)
        if self.servers is not None and team:
            listings |= self.servers.current(team, force=refresh)
        deployments = {
            spec.id: tuple(d.name for d in self.deployments.list(user_id, spec.id))
            for spec in chat_providers()
            if spec.deployments and spec.id in saved
        }
        downloaded = self.local.usable(user_id) if self.local is not None else ()
        models = {**registry.models, **{server.spec.id: server.models for server in registry.servers}}
        inputs = CatalogInputs(listings, models, deployments, downloaded)
        return build_catalog(saved, inputs, (*self.providers, *team))


def available_models(sections: list[ProviderSection]) -> list[ModelChoice]:
    """Every model, as Chat's picker lists them: each provider's offered models in the guide's order, then (apart,
    at the end) those a listing did not include."""
    models = [model for section in sections for model in section.models]
    return [m for m in models if m.offered] + [m for m in models if not m.offered]


def find_model(models: list[ModelChoice], text: str) -> ModelChoice | None:
    """The model a typed text names: its ref, `provider/<own ID>`, its ID (own, listed or as shown), its name or its
    picker label, any case; the first such in `models`' order, None when none is."""
    typed = (text or "").strip().casefold()
    if not typed:
        return None
    for model in models:
        names = {model.ref, f"{model.provider}/{model.model_id}", model.model_id, model.shown_id, model.label}
        names |= {model.wire_id or "", model.name, model.option_label}
        if typed in {name.casefold() for name in names if name}:
            return model
    return None


def search_models(models: tuple[ModelChoice, ...], query: str) -> tuple[ModelChoice, ...]:
    """The models whose name or ID contains every word of `query` (any case)."""
    words = (query or "").lower().split()
    return tuple(m for m in models if all(w in f"{m.label} {m.model_id} {m.shown_id}".lower() for w in words))
