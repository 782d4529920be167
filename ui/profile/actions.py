"""Profile card actions, run as widget callbacks so a typed secret leaves session state right after use."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.accounts.users import UserPublic
from core.credentials.key_test import KeyRejected, KeyTestResult
from core.credentials.store import clean_values
from core.errors import AppError, InvalidInput
from core.providers.registry import get_provider
from ui.inputs import current_key, renew
from ui.state import get_services, mark_catalog_stale


def field_key(provider_id: str, field_name: str) -> str:
    """The key a card's input is drawn with (a secret one's changes each time it is emptied, see ui.inputs)."""
    return current_key(f"field:{provider_id}:{field_name}")


def flash_key(provider_id: str) -> str:
    """The news of a card's last action, for its next run: ("success" | "warning", toast) or ("error", inline)."""
    return f"flash:{provider_id}"


def card_key(user: UserPublic, provider_id: str) -> str:
    """The card's expander: whether it is open, kept per user across reruns (and label changes)."""
    return f"card:{provider_id}:{user.id}"


def keep_open(user: UserPublic, provider_id: str) -> None:
    """A click inside a card keeps it open whatever the click changes (its title, its form)."""
    st.session_state[card_key(user, provider_id)] = True


def pending_key(provider_id: str) -> str:
    """Cleaned values waiting for their key test, in this run only (popped before anything is drawn)."""
    return f"pending:{provider_id}"


def retest_key(provider_id: str) -> str:
    return f"retest_requested:{provider_id}"


def mode_key(provider_id: str) -> str:
    """Which form a card shows: None (the saved credential), "replace" or "confirm_delete"."""
    return f"mode:{provider_id}"


def _clear_fields(provider_id: str, secrets_only: bool) -> None:
    """Empty a card's secret inputs (a typed key is never kept, nor sent again), and with `secrets_only` False,
    forget its other values too."""
    for field in get_provider(provider_id).fields:
        if field.secret:
            renew(f"field:{provider_id}:{field.name}")
        elif not secrets_only:
            st.session_state.pop(field_key(provider_id, field.name), None)


def _flash(provider_id: str, kind: str, text: str, field: str | None = None) -> None:
    st.session_state[flash_key(provider_id)] = (kind, text, field)


def save(user: UserPublic, provider_id: str) -> None:
    """Check the card's fields; a malformed value is explained at its field, a good one waits for its key test."""
    keep_open(user, provider_id)
    spec = get_provider(provider_id)
    raw = {field.name: st.session_state.get(field_key(provider_id, field.name)) for field in spec.fields}
    try:
        values = clean_values(spec, raw, get_services().settings.allow_endpoints)
    except InvalidInput as error:
        _flash(provider_id, "error", str(error), error.field)
        _clear_fields(provider_id, secrets_only=True)
        return
    _clear_fields(provider_id, secrets_only=False)
    st.session_state[pending_key(provider_id)] = values


def take_pending(provider_id: str) -> dict[str, Any] | None:
    """The values a Save left for testing, removed from session state as they are taken."""
    return st.session_state.pop(pending_key(provider_id), None)


def save_and_test(user: UserPublic, provider_id: str, values: dict[str, Any]) -> None:
    """Test the key with the provider, save it unless rejected, and leave the outcome for the card to show."""
    spec = get_provider(provider_id)
    services = get_services()
    try:
        _, outcome = services.key_tests.save(user.id, provider_id, values)
    except KeyRejected as error:
        _flash(provider_id, "error", str(error), error.field)
        return
    finally:
        values.clear()
    st.session_state[mode_key(provider_id)] = None
    mark_catalog_stale(user)
    noun = f"{spec.label} {spec.mask_field.label}"
    if outcome.result is KeyTestResult.VALID:
        _flash(provider_id, "success", f"{noun} saved: {outcome.label}.")
    else:
        _flash(provider_id, "warning", f"{noun} saved, marked {outcome.label}.")


def request_retest(user: UserPublic, provider_id: str) -> None:
    keep_open(user, provider_id)
    st.session_state[retest_key(provider_id)] = True


def take_retest(provider_id: str) -> bool:
    return bool(st.session_state.pop(retest_key(provider_id), False))


def run_retest(user: UserPublic, provider_id: str) -> None:
    """Test the saved credential again and leave the outcome for the card to show."""
    spec = get_provider(provider_id)
    services = get_services()
    try:
        outcome = services.key_tests.retest(user.id, provider_id)
    except AppError as error:
        _flash(provider_id, "error", str(error))
        return
    mark_catalog_stale(user)
    kind = "success" if outcome.result is KeyTestResult.VALID else "warning"
    _flash(provider_id, kind, f"{spec.label} {spec.mask_field.label} tested again: {outcome.label}.")


def delete(user: UserPublic, provider_id: str) -> None:
    keep_open(user, provider_id)
    spec = get_provider(provider_id)
    get_services().credentials.delete(user.id, provider_id)
    st.session_state[mode_key(provider_id)] = None
    st.session_state[flash_key(provider_id)] = ("success", f"{spec.label} credential deleted.", None)
    mark_catalog_stale(user)


def set_mode(user: UserPublic, provider_id: str, mode: str | None) -> None:
    keep_open(user, provider_id)
    st.session_state[mode_key(provider_id)] = mode
    _clear_fields(provider_id, secrets_only=False)
