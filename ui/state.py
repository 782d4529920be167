"""Per-process services (cached) and per-user session state, keyed by user id."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core import redaction
from core.catalog import ProviderSection, build_catalog
from core.config import Settings, load_settings
from core.errors import StartupError
from core.llm import warm_in_background
from core.services import Services, open_services
from core.users import UserPublic


@st.cache_resource(show_spinner=False, hash_funcs={Settings: hash})
def _open(settings: Settings) -> Services:
    redaction.install()
    services = open_services(settings)
    warm_in_background()
    return services


def get_services() -> Services:
    """The deployment's services; a misconfiguration stops the page with a clear message."""
    try:
        return _open(load_settings())
    except StartupError as error:
        st.error(f"The app cannot start: {error}")
        st.stop()


def user_state(user: UserPublic, name: str, default: Any = None) -> Any:
    """Session state belonging to one signed-in user, so a later sign-in never sees it."""
    return st.session_state.setdefault(f"{name}:{user.id}", default)


def mark_catalog_stale(user: UserPublic) -> None:
    """Tell the Models and Chat pages to re-read the user's catalog (a credential changed)."""
    st.session_state[f"catalog_stale:{user.id}"] = True


def user_catalog(services: Services, user: UserPublic) -> list[ProviderSection]:
    """The user's catalog from their saved credentials (kept as public, masked views), re-read when stale."""
    key = f"credentials:{user.id}"
    if st.session_state.pop(f"catalog_stale:{user.id}", False) or key not in st.session_state:
        st.session_state[key] = services.credentials.list(user.id)
    return build_catalog(st.session_state[key])
