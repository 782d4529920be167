"""The app's long-lived parts for one deployment, built once per process."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from core.config import Settings, strip_server_keys
from core.conversations import ConversationStore
from core.credentials import CredentialStore
from core.crypto import KeyRing
from core.db import make_engine
from core.deployments import DeploymentStore
from core.key_rotation import check_master_key
from core.keys import load_key_ring
from core.listings import ListingStore
from core.sessions import SessionStore
from core.signin import Accounts
from core.throttle import SignInThrottle
from core.users import UserStore

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
    return Services(
        settings=settings,
        engine=engine,
        key_ring=key_ring,
        users=users,
        credentials=CredentialStore(engine, key_ring, settings.allow_endpoints),
        conversations=ConversationStore(engine),
        throttle=throttle,
        listings=ListingStore(engine),
        deployments=DeploymentStore(engine),
        sessions=sessions,
        accounts=Accounts(users, throttle, sessions),
    )
