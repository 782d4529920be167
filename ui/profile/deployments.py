"""The deployment list on a deployments provider's Profile card (Azure): add a name, tested first, or remove one.

Add runs as a callback that only checks the name's shape and stages it; the one-token test call then runs in the
script, inside a spinner, before the list is drawn, so a refused name can be put back in the input to be fixed.
"""

from __future__ import annotations

import streamlit as st

from core.accounts.users import UserPublic
from core.errors import AppError, InvalidInput
from core.models.deployments import clean_deployment_name
from core.providers.registry import ProviderSpec
from ui.profile.actions import keep_open
from ui.state import get_services, mark_catalog_stale


def name_key(provider_id: str) -> str:
    return f"deployment_name:{provider_id}"


def _flash_key(provider_id: str) -> str:
    return f"deployment_flash:{provider_id}"


def _pending_key(provider_id: str) -> str:
    return f"deployment_pending:{provider_id}"


def _stage(user: UserPublic, provider_id: str) -> None:
    """Add button callback: a malformed name is explained now; a good one waits for its test in the script."""
    keep_open(user, provider_id)
    raw = st.session_state.get(name_key(provider_id))
    try:
        st.session_state[_pending_key(provider_id)] = clean_deployment_name(raw)
    except InvalidInput as error:
        st.session_state[_flash_key(provider_id)] = ("error", str(error))
        return
    st.session_state[name_key(provider_id)] = ""


def _remove(user: UserPublic, spec: ProviderSpec, name: str) -> None:
    keep_open(user, spec.id)
    get_services().deployments.remove(user.id, spec.id, name)
    st.session_state[_flash_key(spec.id)] = ("success", f"Removed {name}: `{spec.id}/{name}` is no longer listed.")
    mark_catalog_stale(user)


def _add_pending(user: UserPublic, spec: ProviderSpec) -> None:
    name = st.session_state.pop(_pending_key(spec.id), None)
    if name is None:
        return
    try:
        with st.spinner(f"Trying {name} with a one-token call…"):
            added = get_services().deployments.add(user.id, spec.id, name)
    except AppError as error:
        st.session_state[_flash_key(spec.id)] = ("error", str(error))
        st.session_state[name_key(spec.id)] = name  # the input is not drawn yet in this run: give it back to fix
        return
    text = f"{name} answered. It is listed on **Models** as `{spec.id}/{name}`."
    st.session_state[_flash_key(spec.id)] = ("success", f"{text} {added.note}".strip())
    mark_catalog_stale(user)


def render(user: UserPublic, spec: ProviderSpec) -> None:
    """The user's deployments for `spec` (with Remove) and a form to add one; call inside its Profile card."""
    _add_pending(user, spec)
    st.markdown("**Deployments**")
    st.caption(
        "Add each deployment name from the Azure portal (Deployments). It is tried with a one-token call, "
        f"then offered in the Chat picker and on **Models** as `{spec.id}/<name>`."
    )
    for deployment in get_services().deployments.list(user.id, spec.id):
        name_column, remove_column = st.columns([4, 1], vertical_alignment="center")
        name_column.markdown(f"`{spec.id}/{deployment.name}`")
        remove_column.button(
            "Remove",
            key=f"remove_deployment:{spec.id}:{deployment.name}",
            icon=":material/delete:",
            on_click=_remove,
            args=(user, spec, deployment.name),
        )
    with st.form(key=f"deployment_form:{spec.id}", border=False, enter_to_submit=True):
        st.text_input("Deployment name", key=name_key(spec.id), placeholder="my-gpt-4o", max_chars=64)
        st.form_submit_button("Add deployment", key=f"add_deployment:{spec.id}", on_click=_stage, args=(user, spec.id))
    if flash := st.session_state.pop(_flash_key(spec.id), None):
        kind, text = flash
        (st.success if kind == "success" else st.error)(text)
