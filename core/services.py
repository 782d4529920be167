"""The app's long-lived parts for one deployment, built once per process."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from core.accounts.service import Accounts
from core.accounts.sessions import SessionStore
from core.accounts.throttle import SignInThrottle
from core.accounts.users import UserStore
from core.chat.conversations import ConversationStore
from core.config import Settings, strip_server_keys
from core.credentials.rotation import check_master_key
from core.credentials.store import CredentialStore
from core.db.engine import make_engine
from core.models.catalog import Catalog
from core.models.deployments import DeploymentStore
from core.models.listings import ListingStore
from core.security.crypto import KeyRing
from core.security.keys import load_key_ring

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: Engine
    key_ring: KeyRing
    users: UserStore
    credentials: CredentialStore
    conversations: ConversationStore
    throttle: SignInThrottle
    listings: ListingStore
    deployments: DeploymentStore
    sessions: SessionStore
    accounts: Accounts
    catalog: Catalog


def open_services(settings: Settings) -> Services:
    """Check the master key, open the database and wire the stores; StartupError when misconfigured."""
    stripped = strip_server_keys()
    if stripped:
        log.warning(
            "Removed provider keys from the server environment (users bring their own): %s", ", ".join(stripped)
        )
    key_ring = load_key_ring(settings)
    engine = make_engine(settings.database_url)
    for warning in check_master_key(engine, key_ring):
        log.warning(warning)
    users, throttle = UserStore(engine), SignInThrottle(engine)
    sessions = SessionStore(engine, lifetime=timedelta(days=settings.cookie_expiry_days))
    credentials = CredentialStore(engine, key_ring, settings.allow_endpoints)
    listings, deployments = ListingStore(engine), DeploymentStore(engine)
    return Services(
        settings=settings,
        engine=engine,
        key_ring=key_ring,
        users=users,
        credentials=credentials,
        conversations=ConversationStore(engine),
        throttle=throttle,
        listings=listings,
        deployments=deployments,
        sessions=sessions,
        accounts=Accounts(users, throttle, sessions),
        catalog=Catalog(credentials, listings, deployments, settings),
    )
