"""The team's servers at run time: the providers in effect (the built-in ones and the servers the registry file names
now), and each server's listing, cached per server and never per user (its address and key are everyone's).

A server's listing follows the rule of every listing (core/models/listings.py): it is asked for when there is none
yet, when it is older than a day (a failed one: ten minutes), when the admin changed the server's entry, or on
Refresh. It is kept in memory (public model IDs only), so each process asks once. A server that cannot be reached is
a failed listing with the explained reason, never an exception.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from core.config import Settings
from core.db.tables import utcnow
from core.errors import ProviderError
from core.models.listings import Listing, changes
from core.models.registry_file import load_servers
from core.providers.client import server_values
from core.providers.listing import list_chat_models
from core.providers.registry import PROVIDERS, ProviderSpec

log = logging.getLogger(__name__)


def providers_in_effect(settings: Settings, base: Sequence[ProviderSpec] = PROVIDERS) -> tuple[ProviderSpec, ...]:
    """The providers a model reference may name now: `base`, then the team's servers in the registry file."""
    return (*base, *(server.spec for server in load_servers(settings)))


@dataclass
class _Cached:
    """One server's last listing, and the entry it was made for (an edited entry is listed again)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    spec: ProviderSpec | None = None
    listing: Listing | None = None

    def due(self, spec: ProviderSpec, now: datetime) -> bool:
        return self.listing is None or self.spec != spec or self.listing.due(now)


class ServerListings:
    """The team's servers' listings, asked of the servers when due (in parallel), shared by every user."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._cached: dict[str, _Cached] = {}

    def current(
        self, specs: Sequence[ProviderSpec], force: bool = False, now: datetime | None = None
    ) -> dict[str, Listing]:
        """Each server's listing by provider id, asking those that are due first (all of them when `force`)."""
        now = now or utcnow()
        entries = {spec.id: self._entry(spec.id) for spec in specs if spec.listing is not None}
        due = [spec for spec in specs if spec.id in entries and (force or entries[spec.id].due(spec, now))]
        if due:
            with ThreadPoolExecutor(max_workers=len(due), thread_name_prefix="server-listing") as pool:
                for future in [pool.submit(self._refresh, entries[spec.id], spec, force) for spec in due]:
                    future.result()
        return {provider: entry.listing for provider, entry in entries.items() if entry.listing is not None}

    def _entry(self, provider_id: str) -> _Cached:
        with self._lock:
            return self._cached.setdefault(provider_id, _Cached())

    def _refresh(self, entry: _Cached, spec: ProviderSpec, force: bool) -> None:
        """List one server, unless another user's request listed it while this one waited for the lock."""
        with entry.lock:
            now = utcnow()
            if not force and not entry.due(spec, now):
                return
            previous = entry.listing if entry.spec == spec else None
            try:
                models = list_chat_models(spec, server_values(spec), self._settings)
            except ProviderError as error:
                log.info("model listing of a team server failed: server=%s kind=%s", spec.id, error.kind.value)
                entry.listing = Listing(
                    provider=spec.id,
                    models=previous.models if previous else (),
                    new_ids=frozenset(),
                    dropped_ids=(),
                    refreshed_at=previous.refreshed_at if previous else None,
                    checked_at=now,
                    error=str(error),
                    error_kind=error.kind.value,
                )
            else:
                before = [m.id for m in previous.models] if previous and previous.refreshed_at else None
                new_ids, dropped_ids = changes(before, [m.id for m in models])
                entry.listing = Listing(
                    provider=spec.id,
                    models=tuple(models),
                    new_ids=frozenset(new_ids),
                    dropped_ids=tuple(dropped_ids),
                    refreshed_at=now,
                    checked_at=now,
                    error=None,
                    error_kind=None,
                )
            entry.spec = spec
