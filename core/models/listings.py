"""Each user's discovered model lists, cached in the database: read from the provider only when due.

A listing is due when there is none yet, when the credential changed since it was made, when it is older than a
day (a failed one: ten minutes), or when the user asks (Refresh). A model is *new* when the previous successful
listing did not have it, and stays marked until the next successful listing; a first listing marks nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import col, select

from core.config import Settings
from core.credentials.store import CredentialPublic, CredentialStore
from core.db.engine import once_more_on_conflict, session
from core.db.tables import Credential, ModelListing, utcnow
from core.errors import CredentialUnreadable, MissingCredential, ProviderError, ProviderErrorKind
from core.providers.listing import DiscoveredModel, is_chat_model, list_chat_models, list_models
from core.providers.registry import ProviderSpec, chat_providers

log = logging.getLogger(__name__)

MAX_AGE = timedelta(days=1)
RETRY_FAILED_AFTER = timedelta(minutes=10)
DEPLOYMENTS_DIALECT = "azure-deployments"
# How a resource says it does not offer a deployments list (older or newer API versions than the listing's).
NOT_OFFERED = frozenset({ProviderErrorKind.NOT_FOUND.value, ProviderErrorKind.BAD_REQUEST.value})


@dataclass(frozen=True)
class Listing:
    """One provider's cached listing for one user: the last successful models and the last attempt's outcome."""

    provider: str
    models: tuple[DiscoveredModel, ...]
    new_ids: frozenset[str]
    dropped_ids: tuple[str, ...]
    refreshed_at: datetime | None
    checked_at: datetime
    error: str | None
    error_kind: str | None
    current: bool = True

    @property
    def ok(self) -> bool:
        """The last attempt succeeded: `models` is what the provider lists now."""
        return self.error is None and self.refreshed_at is not None

    def due(self, now: datetime) -> bool:
        age = now - self.checked_at
        return not self.current or age > (MAX_AGE if self.ok else RETRY_FAILED_AFTER)


def _dump(models: Iterable[DiscoveredModel]) -> str:
    return json.dumps([[m.id, m.label, m.context_window] for m in models])


def _load(text: str) -> tuple[DiscoveredModel, ...]:
    return tuple(DiscoveredModel(str(i), str(label), window) for i, label, window in json.loads(text))


def _public(row: ModelListing, provider: str, current: bool) -> Listing:
    return Listing(
        provider=provider,
        models=_load(row.models),
        new_ids=frozenset(json.loads(row.new_ids)),
        dropped_ids=tuple(json.loads(row.dropped_ids)),
        refreshed_at=row.refreshed_at,
        checked_at=row.checked_at,
        error=row.error,
        error_kind=row.error_kind,
        current=current,
    )


def changes(previous: list[str] | None, ids: list[str]) -> tuple[list[str], list[str]]:
    """What a successful listing added (sorted) and dropped (in the old order) since the previous one; a first
    listing (`previous` None) marks nothing new."""
    listed = set(ids)
    new_ids = sorted(listed - set(previous)) if previous is not None else []
    return new_ids, [i for i in previous or () if i not in listed]


class ListingStore:
    """Every method takes the signed-in user's id and touches only listings of that user's credentials."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, user_id: int) -> dict[str, Listing]:
        """The user's listings by provider; `current` is False when the credential changed since."""
        with session(self._engine) as db:
            rows = db.exec(
                select(ModelListing, Credential)
                .join(Credential, col(Credential.id) == col(ModelListing.credential_id))
                .where(col(Credential.user_id) == user_id)
            ).all()
        return {
            credential.provider: _public(
                row,
                credential.provider,
                row.credential_updated_at == credential.updated_at,
            )
            for row, credential in rows
        }

    def record(
        self,
        user_id: int,
        provider_id: str,
        credential_version: datetime,
        models: list[DiscoveredModel] | None = None,
        error: ProviderError | None = None,
    ) -> Listing | None:
        """Store a listing (`models`) or a failed attempt (`error`) made with the credential of that version.

        None when the user no longer has that provider's credential: nothing is stored.
        """
        return once_more_on_conflict(lambda: self._record(user_id, provider_id, credential_version, models, error))

    def _record(
        self,
        user_id: int,
        provider_id: str,
        credential_version: datetime,
        models: list[DiscoveredModel] | None,
        error: ProviderError | None,
    ) -> Listing | None:
        now = utcnow()
        with session(self._engine) as db:
            credential = db.exec(
                select(Credential).where(col(Credential.user_id) == user_id, col(Credential.provider) == provider_id)
            ).first()
            if credential is None:
                return None
            assert credential.id is not None  # read from the table, so it has its primary key
            row = db.get(ModelListing, credential.id)
            if row is None:
                row = ModelListing(credential_id=credential.id, credential_updated_at=credential_version)
            row.credential_updated_at = credential_version
            row.checked_at = now
            if error is not None:
                row.error, row.error_kind = str(error)[:500], error.kind.value
            else:
                previous = [m.id for m in _load(row.models)] if row.refreshed_at is not None else None
                new_ids, dropped_ids = changes(previous, [m.id for m in models or ()])
                row.new_ids, row.dropped_ids = json.dumps(new_ids), json.dumps(dropped_ids)
                row.models = _dump(models or ())
                row.refreshed_at = now
                row.error = row.error_kind = None
            db.add(row)
            db.commit()
            return _public(row, provider_id, True)


def discoverable(spec: ProviderSpec) -> bool:
    return spec.chat_capable and (spec.listing is not None or spec.deployments)


def discover(spec: ProviderSpec, values: Mapping[str, str], settings: Settings) -> list[DiscoveredModel]:
    """The chat models the credential can use; for a deployments provider, the resource's deployments."""
    if spec.deployments:
        return [m for m in list_models(spec, values, settings, DEPLOYMENTS_DIALECT) if is_chat_model(m.id)]
    return list_chat_models(spec, values, settings)


@dataclass(frozen=True)
class Listings:
    """Each user's listings, asked of the providers when they are due (in parallel) and kept in the store."""

    store: ListingStore
    credentials: CredentialStore
    settings: Settings

    def current(
        self, user_id: int, saved: Mapping[str, CredentialPublic], force: bool = False, now: datetime | None = None
    ) -> dict[str, Listing]:
        """The user's listings, asking every provider whose listing is due first, or all of them when `force`."""
        now = now or utcnow()
        cached = self.store.get(user_id)
        due = [
            spec
            for spec in chat_providers()
            if discoverable(spec)
            and (credential := saved.get(spec.id)) is not None
            and credential.readable
            and (force or spec.id not in cached or cached[spec.id].due(now))
        ]
        if due:
            with ThreadPoolExecutor(max_workers=len(due), thread_name_prefix="model-listing") as pool:
                futures = {
                    spec.id: pool.submit(self._refresh, user_id, spec, saved[spec.id].updated_at) for spec in due
                }
                for provider_id, future in futures.items():
                    if (listing := future.result()) is not None:
                        cached[provider_id] = listing
        return {provider: listing for provider, listing in cached.items() if provider in saved}

    def _refresh(self, user_id: int, spec: ProviderSpec, version: datetime) -> Listing | None:
        try:
            values = self.credentials.secrets(user_id, spec.id)
        except (MissingCredential, CredentialUnreadable):  # deleted or replaced meanwhile: nothing to list
            return None
        try:
            models = discover(spec, values, self.settings)
        except ProviderError as error:
            log.info("model listing for the catalog failed: provider=%s kind=%s", spec.id, error.kind.value)
            return self.store.record(user_id, spec.id, version, error=error)
        return self.store.record(user_id, spec.id, version, models=models)
