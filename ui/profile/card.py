"""One provider's card body on Profile: its state, what can be done with it, and the form when one is asked for."""

from __future__ import annotations

import streamlit as st

from core.accounts.users import UserPublic
from core.credentials.store import CredentialPublic
from core.providers.registry import ProviderSpec
from ui.profile import deployments
from ui.profile.actions import (
    delete,
    field_key,
    flash_key,
    mode_key,
    request_retest,
    run_retest,
    save,
    save_and_test,
    set_mode,
    take_pending,
    take_retest,
)
from ui.profile.status import status_line

TOAST_ICONS = {"success": ":material/check_circle:", "warning": ":material/warning:"}


def how_to(spec: ProviderSpec) -> None:
    st.markdown(f"**{spec.create_label}**: [{spec.create_url}]({spec.create_url})")
    st.markdown("\n".join(f"{number}. {step}" for number, step in enumerate(spec.steps, start=1)))


def credential_form(user: UserPublic, spec: ProviderSpec, flash_field: str | None, flash_text: str | None) -> None:
    with st.form(key=f"form:{spec.id}", border=False, enter_to_submit=True):
        for field in spec.fields:
            if field.default:
                st.session_state.setdefault(field_key(spec.id, field.name), field.default)
            st.text_input(
                field.label,
                key=field_key(spec.id, field.name),
                type="password" if field.secret else "default",
                placeholder=field.placeholder,
                help=field.help or None,
                autocomplete="off",
            )
            if flash_field == field.name and flash_text:
                st.error(flash_text)
        st.form_submit_button("Save", key=f"save:{spec.id}", type="primary", on_click=save, args=(user, spec.id))


def links(spec: ProviderSpec, credential: CredentialPublic) -> None:
    """Where the key's models are, and the how-to folded away now that a key is saved."""
    models, help_column = st.columns([3, 2], vertical_alignment="center")
    if credential.readable:
        label = "See its models on Models" if spec.chat_capable else "Check access to a model on Models"
        models.page_link("pages/models.py", label=label, icon=":material/view_list:")
    with help_column.popover("How to get a key", icon=":material/help:", key=f"how_to:{spec.id}"):
        how_to(spec)


def actions(user: UserPublic, spec: ProviderSpec, credential: CredentialPublic, mode: str | None) -> None:
    if mode == "confirm_delete":
        st.warning(f"Delete the saved {spec.label} credential? Its models disappear from Models and Chat.")
        confirm, cancel, _ = st.columns([1, 1, 4])
        confirm.button("Delete", key=f"confirm_delete:{spec.id}", type="primary", on_click=delete, args=(user, spec.id))
        cancel.button("Cancel", key=f"cancel:{spec.id}", on_click=set_mode, args=(user, spec.id, None))
        return
    test, replace, remove, _ = st.columns([1, 1, 1, 3])
    if credential.readable:
        test.button("Test again", key=f"retest:{spec.id}", on_click=request_retest, args=(user, spec.id))
    replace.button("Replace", key=f"replace:{spec.id}", on_click=set_mode, args=(user, spec.id, "replace"))
    remove.button("Delete", key=f"delete:{spec.id}", on_click=set_mode, args=(user, spec.id, "confirm_delete"))


def saved_credential(spec: ProviderSpec, credential: CredentialPublic) -> None:
    if credential.readable:
        status_line(spec, credential)
    else:
        st.warning(
            f"The saved {spec.label} credential can no longer be read (the server's master key changed). "
            "Enter it again with **Replace**."
        )
    links(spec, credential)


def run_key_test(user: UserPublic, spec: ProviderSpec) -> None:
    """Run a pending save or Test again inside the card, showing progress, then redraw with the outcome."""
    pending = take_pending(spec.id)
    again = take_retest(spec.id)
    if pending is None and not again:
        return
    with st.status(f"Testing your {spec.label} key with {spec.label}…") as progress:
        if pending is not None:
            save_and_test(user, spec.id, pending)
        else:
            run_retest(user, spec.id)
        progress.update(label="Key test finished.", state="complete")
    st.rerun()


def card(user: UserPublic, spec: ProviderSpec, credential: CredentialPublic | None) -> None:
    """One provider's card body: its state, what can be done with it, and the form when one is asked for."""
    run_key_test(user, spec)
    kind, text, flash_field = st.session_state.pop(flash_key(spec.id), None) or (None, None, None)
    if kind in TOAST_ICONS:
        st.toast(text, icon=TOAST_ICONS[kind])
    mode = st.session_state.get(mode_key(spec.id))
    if credential is None:
        how_to(spec)
        if spec.note:
            st.info(spec.note)
    else:
        saved_credential(spec, credential)
    if kind == "error" and flash_field is None:
        st.error(text)
    if credential is None or mode == "replace":
        credential_form(user, spec, flash_field, text if kind == "error" else None)
    if credential is not None:
        if mode == "replace":
            st.button("Cancel", key=f"cancel_replace:{spec.id}", on_click=set_mode, args=(user, spec.id, None))
        else:
            actions(user, spec, credential, mode)
    if credential is not None and spec.note:
        st.caption(spec.note)
    if spec.deployments and credential is not None and credential.readable:
        deployments.render(user, spec)
