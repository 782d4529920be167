"""A model as a user picks it (`ModelChoice`), and one provider's part of a user's catalog (`ProviderSection`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.credentials.store import CredentialPublic
from core.models.listings import NOT_OFFERED, Listing
from core.providers.registry import ProviderSpec

NOT_OFFERED_TAG = "not offered to your key"
NOT_SERVED_TAG = "not listed by the server"


class ModelSource(StrEnum):
    DEFAULT = "default"
    REGISTRY = "registry"
    DEPLOYMENT = "your deployment"
    LISTED = "listed"
    DOWNLOADED = "downloaded"


@dataclass(frozen=True)
class ModelChoice:
    """A model a user can pick: `ref` (`provider/model-id`) is what Chat is given, and resolves to the ID to call.

    `model_id` is the model's own ID (the guide's, the registry's, the listing's); `wire_id` is the listed ID it is
    called by when that ID alone would not reach it (a dated version); `offered` is False when the provider's last
    successful listing did not include it; `new` marks a listed model the previous listing did not have;
    `id_is_ref` marks a provider whose model IDs are the user's deployment names, shown as `azure/<name>`;
    `team_server` a model of a server the admin runs for everyone (no key of the user's). Prices are USD per 1M
    tokens.
    """

    provider: str
    provider_label: str
    model_id: str
    label: str
    source: ModelSource = ModelSource.DEFAULT
    new: bool = False
    offered: bool = True
    wire_id: str | None = None
    context_window: int | None = None
    input_price: float | None = None
    output_price: float | None = None
    id_is_ref: bool = False
    team_server: bool = False

    @property
    def ref(self) -> str:
        return f"{self.provider}/{self.wire_id or self.model_id}"

    @property
    def shown_id(self) -> str:
        """The ID as the user types it: the model's, or `azure/<deployment>` where model IDs are deployment names."""
        return self.ref if self.id_is_ref else self.wire_id or self.model_id

    @property
    def name(self) -> str:
        """`GPT-4o mini — gpt-4o-mini`; the ID alone where the model has no name of its own."""
        if self.label in (self.model_id, self.wire_id, self.shown_id):
            return self.shown_id
        return f"{self.label} — {self.shown_id}"

    @property
    def option_label(self) -> str:
        """How Chat's picker lists it: `GPT-4o mini — gpt-4o-mini · OpenAI` (· not offered to your key)."""
        tail = "" if self.offered else f" · {self.not_offered_tag}"
        return f"{self.name} · {self.provider_label}{tail}"

    @property
    def not_offered_tag(self) -> str:
        return NOT_SERVED_TAG if self.team_server else NOT_OFFERED_TAG

    def not_offered_note(self) -> str:
        """Why a model the provider did not list will probably fail, for whoever picks it anyway."""
        if self.team_server:
            return (
                f"{self.provider_label} did not list {self.shown_id} at its last check; it will probably fail. Pick "
                "another model, or ask your admin."
            )
        return (
            f"{self.provider_label} did not list {self.shown_id} for your key at the last refresh; it will probably "
            "fail. Pick another model, or Refresh on Models if that has changed."
        )


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
        """Its models can be used: a readable credential is saved, or the provider needs none."""
        if not self.spec.needs_credential:
            return True
        return self.credential is not None and self.credential.readable

    @property
    def listing_not_offered(self) -> bool:
        """A provider with a list of its own that has no listing to check it: a deployments provider whose resource
        does not list its deployments (the user's list is used), a team server that lists no models (the admin's)."""
        listing, own_list = self.listing, self.spec.deployments or not self.spec.listing_adds
        return own_list and listing is not None and listing.error_kind in NOT_OFFERED

    @property
    def listing_failed(self) -> bool:
        """The last listing attempt failed (for a reason worth a note): its models fell back to the defaults."""
        return self.listing is not None and not self.listing.ok and not self.listing_not_offered

    @property
    def new_count(self) -> int:
        return len(self.new_ids)

    @property
    def new_ids(self) -> tuple[str, ...]:
        """The IDs of the models the previous listing did not have."""
        return tuple(model.shown_id for model in self.models if model.new)

    @property
    def not_offered(self) -> tuple[ModelChoice, ...]:
        return tuple(model for model in self.models if not model.offered)
