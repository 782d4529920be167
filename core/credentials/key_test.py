"""Key health: test a credential with the provider's cheapest authenticated call, on save and on request."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from core.config import Settings
from core.credentials.store import REJECTED_AT_CHAT, VALID, CredentialPublic, CredentialStore, clean_values
from core.errors import InvalidInput, ProviderError, ProviderErrorKind
from core.providers.listing import DiscoveredModel, list_chat_models
from core.providers.registry import ProviderSpec, get_provider

log = logging.getLogger(__name__)


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
    """The outcome of one key test; `detail` is safe to show (what the key unlocked, or what went wrong)."""

    result: KeyTestResult
    detail: str
    models: tuple[DiscoveredModel, ...] | None = None

    @property
    def label(self) -> str:
        return RESULT_LABELS[self.result]


class ListingRecorder(Protocol):
    """Where the models a key test listed are kept as the key's first listing (core.models.listings.ListingStore)."""

    def record(
        self, user_id: int, provider_id: str, credential_version: datetime, models: list[DiscoveredModel] | None = None
    ) -> object: ...


class KeyRejected(InvalidInput):
    """The provider refused the key on save; nothing was stored."""


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _test_hub_token(values: Mapping[str, str], settings: Settings) -> KeyTest:
    from huggingface_hub.errors import HfHubHTTPError

    from core.providers.hub import whoami

    try:
        account = whoami(values["token"], settings.hf_endpoint)
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else None
        log.info("token test refused: provider=huggingface status=%s", status)
        if status == 401:
            return KeyTest(KeyTestResult.REJECTED, "Hugging Face rejected this token: it is wrong or was revoked.")
        if status in {402, 403, 429}:
            return KeyTest(KeyTestResult.NO_ACCESS, f"Hugging Face refused the token (HTTP {status}).")
        return KeyTest(KeyTestResult.UNREACHABLE, f"Hugging Face is having problems (HTTP {status}).")
    except OSError as error:  # httpx errors are OSErrors in huggingface_hub's client
        log.info("token test failed: provider=huggingface error=%s", type(error).__name__)
        return KeyTest(KeyTestResult.UNREACHABLE, "Could not reach Hugging Face: check the server's network.")
    reading = "can read models" if account.can_read else f"cannot read models (role: {account.role})"
    return KeyTest(KeyTestResult.VALID, f"Account {account.name}; token {reading}.")


def check_key(spec: ProviderSpec, values: Mapping[str, str], settings: Settings) -> KeyTest:
    """Ask the provider whether the key works; never raises for a provider's answer, only for a bug."""
    if spec.model_hub:
        return _test_hub_token(values, settings)
    try:
        models = tuple(list_chat_models(spec, values, settings))
    except ProviderError as error:
        return KeyTest(_RESULT_OF_KIND.get(error.kind, KeyTestResult.UNREACHABLE), str(error))
    detail = f"{spec.label} lists {_plural(len(models), 'chat model')} for this key."
    return KeyTest(KeyTestResult.VALID, detail, models)


def save_tested(
    credentials: CredentialStore,
    settings: Settings,
    user_id: int,
    provider_id: str,
    raw: Mapping[str, str | None],
    listings: ListingRecorder | None = None,
) -> tuple[CredentialPublic, KeyTest]:
    """Validate, test and save a credential; a malformed or rejected one raises and changes nothing.

    A key the provider accepts but limits (no access, no credit) is saved and marked; so is one that could not be
    checked (provider unreachable), marked unverified so the user can test it again later. With `listings`, the
    models the test listed become the key's first model listing, so Models does not ask the provider again.
    """
    spec = get_provider(provider_id)
    values = clean_values(spec, raw, settings.allow_endpoints)
    outcome = check_key(spec, values, settings)
    if outcome.result is KeyTestResult.REJECTED:
        raise KeyRejected(outcome.detail + " Nothing was saved.", spec.mask_field.name)
    saved = credentials.save(user_id, provider_id, values)
    credentials.record_test(user_id, provider_id, outcome.result.value, outcome.detail)
    if listings is not None and outcome.models is not None and not spec.deployments:
        listings.record(user_id, provider_id, saved.updated_at, models=list(outcome.models))
    return saved, outcome


def retest(credentials: CredentialStore, settings: Settings, user_id: int, provider_id: str) -> KeyTest:
    """Test the saved credential again (Test again) and record the outcome."""
    spec = get_provider(provider_id)
    outcome = check_key(spec, credentials.secrets(user_id, provider_id), settings)
    credentials.record_test(user_id, provider_id, outcome.result.value, outcome.detail)
    return outcome
