"""Per-process services (cached) and the per-user catalog kept in session state, keyed by user id."""

from __future__ import annotations

import streamlit as st
from streamlit import config

from core.accounts.users import UserPublic
from core.config import Settings, load_settings
from core.errors import StartupError
from core.models.choice import ProviderSection
from core.security import redaction
from core.security.shared import SharedSecret
from core.services import Services, open_services

# Streamlit signs its own cookies with server.cookieSecret, a random value per process unless it is set; its
# documentation asks every replica to share one (see the README's "Team deployment" for what it signs here).
STREAMLIT_COOKIE_SECRET = SharedSecret(
    "STREAMLIT_SERVER_COOKIE_SECRET",
    "python -m core.cli new-secret",
    lambda _settings: config.is_manually_set("server.cookieSecret") and bool(config.get_option("server.cookieSecret")),
    set_in="every app process's environment, or as server.cookieSecret in .streamlit/config.toml",
)


@st.cache_resource(show_spinner=False, hash_funcs={Settings: hash})
def _open(settings: Settings) -> Services:
    redaction.install()
    return open_services(settings, also_shared=[STREAMLIT_COOKIE_SECRET])


def app_services() -> Services:
    """The deployment's services for callers outside a page (the web routes); StartupError when misconfigured."""
    return _open(load_settings())


def get_services() -> Services:
    """The deployment's services; a misconfiguration stops the page with a clear message."""
    try:
        return app_services()
    except StartupError as error:
        st.error(f"The app cannot start: {error}")
        st.stop()


def mark_catalog_stale(user: UserPublic) -> None:
    """Tell the Models and Chat pages to re-read the user's catalog (a credential or deployment changed).

    The rebuilt catalog asks a provider again when its credential changed since its cached listing was made (a
    deleted credential takes its listing with it), so a saved or replaced key is always listed afresh.
    """
    st.session_state[f"catalog_stale:{user.id}"] = True


def user_catalog(services: Services, user: UserPublic, refresh: bool = False) -> list[ProviderSection]:
    """The user's catalog (public model lists and masked credential views only), kept for the session.

    Rebuilt when marked stale, or with `refresh` (every provider is asked again); any other rerun reads it from
    session state: no database, no decryption, no network.
    """
    key = f"catalog:{user.id}"
    if st.session_state.pop(f"catalog_stale:{user.id}", False) or refresh or key not in st.session_state:
        st.session_state[key] = services.catalog.load(user.id, refresh=refresh)
    return st.session_state[key]
