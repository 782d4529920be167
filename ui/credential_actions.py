"""Profile card actions, run as widget callbacks so a typed secret leaves session state right after use."""

from __future__ import annotations

import streamlit as st

from core.errors import InvalidInput
from core.providers import get_provider
from core.users import UserPublic
from ui.state import get_services, mark_catalog_stale


def field_key(provider_id: str, field_name: str) -> str:
    return f"field:{provider_id}:{field_name}"


def flash_key(provider_id: str) -> str:
    return f"flash:{provider_id}"


def mode_key(provider_id: str) -> str:
    """Which form a card shows: None (the saved credential), "replace" or "confirm_delete"."""
    return f"mode:{provider_id}"


def _clear_fields(provider_id: str, secrets_only: bool) -> None:
    for field in get_provider(provider_id).fields:
        if field.secret or not secrets_only:
            st.session_state.pop(field_key(provider_id, field.name), None)


def save(user: UserPublic, provider_id: str) -> None:
    """Save the card's fields; on a refused value, say why at the field and keep the old credential."""
    spec = get_provider(provider_id)
    raw = {field.name: st.session_state.get(field_key(provider_id, field.name)) for field in spec.fields}
    try:
        get_services().credentials.save(user.id, provider_id, raw)
    except InvalidInput as error:
        st.session_state[flash_key(provider_id)] = ("error", str(error), error.field)
        _clear_fields(provider_id, secrets_only=True)
        return
    _clear_fields(provider_id, secrets_only=False)
    st.session_state[mode_key(provider_id)] = None
    st.session_state[flash_key(provider_id)] = (
        "success",
        f"{spec.label} saved. Its models are on the Models page.",
        None,
    )
    mark_catalog_stale(user)


def delete(user: UserPublic, provider_id: str) -> None:
    spec = get_provider(provider_id)
    get_services().credentials.delete(user.id, provider_id)
    st.session_state[mode_key(provider_id)] = None
    st.session_state[flash_key(provider_id)] = ("success", f"{spec.label} credential deleted.", None)
    mark_catalog_stale(user)


def set_mode(provider_id: str, mode: str | None) -> None:
    st.session_state[mode_key(provider_id)] = mode
    _clear_fields(provider_id, secrets_only=False)
