"""Key health: test a credential with the provider's cheapest authenticated call, on save and on request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from core.config import Settings
from core.credentials.store import REJECTED_AT_CHAT, VALID, CredentialPublic, CredentialStore, clean_values
from core.errors import InvalidInput, ProviderError, ProviderErrorKind
from core.providers.failures import KEY_TEST
from core.providers.hub import whoami
from core.providers.listing import DiscoveredModel, list_chat_models
from core.providers.registry import ProviderSpec, get_provider


class KeyTestResult(StrEnum):
    """A key's verdict: what its last test found, or REJECTED_AT_CHAT when a chat was refused it since."""

    VALID = VALID
    REJECTED = "rejected"
    NO_ACCESS = "no_access"
    UNREACHABLE = "unreachable"
    REJECTED_AT_CHAT = REJECTED_AT_CHAT


RESULT_LABELS = {
    KeyTestResult.VALID: "valid",
    KeyTestResult.REJECTED: "rejected",
    KeyTestResult.NO_ACCESS: "no access / no credit",
    KeyTestResult.UNREACHABLE: "unverified (provider unreachable)",
    KeyTestResult.REJECTED_AT_CHAT: "rejected at chat",
}

_RESULT_OF_KIND = {
    ProviderErrorKind.REJECTED_KEY: KeyTestResult.REJECTED,
    ProviderErrorKind.NOT_FOUND: KeyTestResult.REJECTED,
    ProviderErrorKind.BAD_REQUEST: KeyTestResult.REJECTED,
    ProviderErrorKind.NO_ACCESS: KeyTestResult.NO_ACCESS,
    ProviderErrorKind.RATE_LIMITED: KeyTestResult.NO_ACCESS,
}


@dataclass(frozen=True)
class KeyTest:
    """The outcome of one key test; `detail` is safe to show (what the key unlocked, or what went wrong).

    `kind` is how the provider refused or failed, None when the key is valid; `models` what a valid key listed.
    """

    result: KeyTestResult
    detail: str
    models: tuple[DiscoveredModel, ...] | None = None
    kind: ProviderErrorKind | None = None

    @property
    def label(self) -> str:
        return RESULT_LABELS[self.result]


class ListingRecorder(Protocol):
    """Where the models a key test listed are kept as the key's first listing (core.models.listings.ListingStore)."""

    def record(
        self, user_id: int, provider_id: str, credential_version: datetime, models: list[DiscoveredModel] | None = None
    ) -> object: ...


class KeyRejected(InvalidInput):
    """The provider refused the key on save; nothing was stored. `kind` is how it refused."""

    def __init__(self, message: str, field: str, kind: ProviderErrorKind | None) -> None:
        super().__init__(message, field)
        self.kind = kind


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _test_hub_token(values: Mapping[str, str], settings: Settings) -> KeyTest:
    account = whoami(values["token"], settings)
    reading = "can read models" if account.can_read else f"cannot read models (role: {account.role})"
    return KeyTest(result=KeyTestResult.VALID, detail=f"Account {account.name}; token {reading}.")


def check_key(spec: ProviderSpec, values: Mapping[str, str], settings: Settings) -> KeyTest:
    """Ask the provider whether the key works; never raises for a provider's answer, only for a bug."""
    try:
        if spec.model_hub:
            return _test_hub_token(values, settings)
        models = tuple(list_chat_models(spec, values, settings, call=KEY_TEST))
    except ProviderError as error:  # worded by core.providers.failures for a key being tested
        result = _RESULT_OF_KIND.get(error.kind, KeyTestResult.UNREACHABLE)
        return KeyTest(result=result, detail=str(error), kind=error.kind)
    detail = f"{spec.label} lists {_plural(len(models), 'chat model')} for this key."
    return KeyTest(result=KeyTestResult.VALID, detail=detail, models=models)


@dataclass(frozen=True)
class KeyTests:
    """Save a credential once the provider accepted it, and test a saved one again (Test again)."""

    credentials: CredentialStore
    settings: Settings
    listings: ListingRecorder | None = None

    def save(self, user_id: int, provider_id: str, raw: Mapping[str, str | None]) -> tuple[CredentialPublic, KeyTest]:
        """Validate, test and save a credential; a malformed or rejected one raises and changes nothing.

        A key the provider accepts but limits (no access, no credit) is saved and marked; so is one that could not
        be checked (provider unreachable), marked unverified so the user can test it again later. The models the
        test listed become the key's first model listing, so Models does not ask the provider again.
        """
        spec = get_provider(provider_id)
        values = clean_values(spec, raw, self.settings.allow_endpoints)
        outcome = check_key(spec, values, self.settings)
        if outcome.result is KeyTestResult.REJECTED:
            raise KeyRejected(outcome.detail + " Nothing was saved.", spec.mask_field.name, outcome.kind)
        saved = self.credentials.save(user_id, provider_id, values)
        self.credentials.record_test(user_id, provider_id, outcome.result.value, outcome.detail)
        if self.listings is not None and outcome.models is not None and not spec.deployments:
            self.listings.record(user_id, provider_id, saved.updated_at, models=list(outcome.models))
        return saved, outcome

    def retest(self, user_id: int, provider_id: str) -> KeyTest:
        """Test the saved credential again and record the outcome."""
        spec = get_provider(provider_id)
        outcome = check_key(spec, self.credentials.secrets(user_id, provider_id), self.settings)
        self.credentials.record_test(user_id, provider_id, outcome.result.value, outcome.detail)
        return outcome
