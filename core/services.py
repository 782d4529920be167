"""The app's long-lived parts for one deployment, built once per process."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from core.accounts.service import Accounts
from core.accounts.sessions import SessionStore
from core.accounts.throttle import SignInThrottle
from core.accounts.tokens import TOKEN_SHAPE, ApiTokens
from core.accounts.users import UserStore
from core.chat.attachment_store import ConversationStoreWithAttachments
from core.chat.defaults import ChatDefaultsStore
from core.chat.listing import ChatSearch
from core.chat.service import ChatService
from core.config import Settings, strip_server_keys
from core.credentials.key_test import KeyTests
from core.credentials.rotation import check_master_key
from core.credentials.store import CredentialStore
from core.db.engine import Engine, PoolSize, make_engine
from core.local.access import AccessChecks
from core.local.download import Downloads, clean_orphans
from core.local.library import LocalLibrary
from core.local.pool import ModelPool
from core.local.service import LocalModels
from core.models.catalog import Catalog
from core.models.deployments import Deployments, DeploymentStore
from core.models.listings import Listings, ListingStore
from core.models.registry_file import load_servers
from core.models.servers import ServerListings
from core.providers.client import team_key
from core.providers.registry import key_shapes, server_key_variables
from core.security.crypto import KeyRing
from core.security.keys import load_key_ring, load_token_key
from core.security.redaction import use_key_shapes
from core.security.shared import SharedSecret, require_shared_secrets

WEAK_PASSWORD_ROUNDS = 10
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: Engine
    key_ring: KeyRing
    users: UserStore
    credentials: CredentialStore
    conversations: ConversationStoreWithAttachments
    chat_search: ChatSearch  # the chat list's search over titles and message text
    chat_defaults: ChatDefaultsStore  # each user's settings for a new chat (Profile)
    throttle: SignInThrottle
    listings: ListingStore
    deployment_store: DeploymentStore  # the names as stored (the catalog reads them)
    deployments: Deployments  # what front ends call: add (tried with one token first), remove, list
    sessions: SessionStore
    accounts: Accounts
    tokens: ApiTokens  # personal access tokens for the HTTP API
    key_tests: KeyTests  # save a key once the provider accepted it; Test again
    catalog: Catalog
    chat: ChatService
    local: LocalModels  # downloads from Hugging Face, the user's local models, the gate chat passes


def open_services(settings: Settings, also_shared: Iterable[SharedSecret] = ()) -> Services:
    """Check the shared secrets (also a front end's own, `also_shared`) and the master key, open the database and
    wire the stores; StartupError when misconfigured."""
    require_shared_secrets(settings, also_shared)
    use_key_shapes((*key_shapes(), TOKEN_SHAPE))  # providers' keys and our own API tokens
    stripped = strip_server_keys(server_key_variables())
    if stripped:
        log.warning(
            "Removed provider keys from the server environment (users bring their own): %s", ", ".join(stripped)
        )
    # The team's servers' keys are the admin's own variables (never a provider's, see registry_file): they stay,
    # masked in every log line from the start.
    for server in load_servers(settings):
        team_key(server.spec)
    key_ring = load_key_ring(settings)
    token_key = load_token_key(settings)
    engine = make_engine(settings.database_url, PoolSize(settings.db_pool_size, settings.db_max_overflow))
    for warning in check_master_key(engine, key_ring):
        log.warning(warning)
    if settings.password_rounds < WEAK_PASSWORD_ROUNDS:
        log.warning(
            "APP_PASSWORD_ROUNDS=%d makes password hashes cheap to guess: keep 12 outside test suites.",
            settings.password_rounds,
        )
    users, throttle = UserStore(engine, settings.password_rounds), SignInThrottle(engine)
    sessions = SessionStore(engine, lifetime=timedelta(days=settings.cookie_expiry_days))
    credentials = CredentialStore(engine, key_ring, settings.allow_endpoints)
    listings, deployments = ListingStore(engine), DeploymentStore(engine)
    conversations = ConversationStoreWithAttachments(engine)
    local = _local_models(engine, credentials, settings)
    return Services(
        settings=settings,
        engine=engine,
        key_ring=key_ring,
        users=users,
        credentials=credentials,
        conversations=conversations,
        chat_search=ChatSearch(engine),
        chat_defaults=ChatDefaultsStore(engine),
        throttle=throttle,
        listings=listings,
        deployment_store=deployments,
        deployments=Deployments(deployments, credentials, settings),
        sessions=sessions,
        accounts=Accounts(users, throttle, sessions),
        tokens=ApiTokens(engine, token_key, settings.api_rate_limit),
        key_tests=KeyTests(credentials, settings, listings),
        catalog=Catalog(
            credentials,
            Listings(listings, credentials, settings),
            deployments,
            settings,
            local=local,
            servers=ServerListings(settings),
        ),
        chat=ChatService(conversations, credentials, settings, local=local),
        local=local,
    )


def _local_models(engine: Engine, credentials: CredentialStore, settings: Settings) -> LocalModels:
    """The local-model parts, one set per process; downloads a killed process left half-done are cleaned first."""
    if cleaned := clean_orphans(settings.models_folder):
        log.info("Removed %d unfinished download file(s) from %s", cleaned, settings.models_folder)
    library = LocalLibrary(engine, settings)
    parts = (
        library,
        Downloads(settings, library),
        AccessChecks(credentials, settings, engine),
        ModelPool(settings.local_max_loaded, settings.local_threads),
    )
    return LocalModels(credentials, settings, parts)
