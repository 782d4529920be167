"""Profile → Provider Keys: one card per provider; saved credentials are shown masked only."""

import streamlit as st

from core.providers import PROVIDERS, ProviderSpec
from ui.credential_actions import delete, field_key, flash_key, mode_key, save, set_mode
from ui.format import when
from ui.signin import require_user
from ui.state import get_services, user_catalog

user = require_user()
credentials = {section.spec.id: section.credential for section in user_catalog(get_services(), user)}

st.title("Profile")
st.caption(f"{user.name} · {user.email}")
st.header("Provider Keys")
st.write("Paste a provider's credentials and click **Save**: its models then appear on the **Models** page.")


def card_title(spec: ProviderSpec) -> str:
    credential = credentials.get(spec.id)
    if credential is None:
        return f"{spec.label} · not set"
    if not credential.readable:
        return f"{spec.label} · :orange[needs re-entry]"
    return f"{spec.label} · :green[saved] {credential.masked}"


def credential_form(spec: ProviderSpec, flash_field: str | None, flash_text: str | None) -> None:
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
    if flash_text and flash_field is None:
        st.error(flash_text)


def saved_credential(spec: ProviderSpec) -> None:
    credential = credentials[spec.id]
    if credential.readable:
        st.markdown(f"Saved key: `{credential.masked}` · saved {when(credential.updated_at)}")
        for label, value in credential.details.items():
            st.markdown(f"{label}: `{value}`")
    else:
        st.warning(
            f"The saved {spec.label} credential can no longer be read (the server's master key changed). "
            "Enter it again with **Replace**."
        )
    mode = st.session_state.get(mode_key(spec.id))
    left, right, _ = st.columns([1, 1, 4])
    if mode == "confirm_delete":
        st.warning(f"Delete the saved {spec.label} credential? Its models disappear from Models and Chat.")
        left.button("Delete", key=f"confirm_delete:{spec.id}", type="primary", on_click=delete, args=(user, spec.id))
        right.button("Cancel", key=f"cancel:{spec.id}", on_click=set_mode, args=(spec.id, None))
    elif mode != "replace":
        left.button("Replace", key=f"replace:{spec.id}", on_click=set_mode, args=(spec.id, "replace"))
        right.button("Delete", key=f"delete:{spec.id}", on_click=set_mode, args=(spec.id, "confirm_delete"))


for spec in PROVIDERS:
    flash = st.session_state.pop(flash_key(spec.id), None)
    kind, text, flash_field = flash if flash else (None, None, None)
    with st.expander(card_title(spec), expanded=flash is not None):
        st.markdown(f"**{spec.create_label}**: [{spec.create_url}]({spec.create_url})")
        st.markdown("\n".join(f"{number}. {step}" for number, step in enumerate(spec.steps, start=1)))
        if spec.note:
            st.info(spec.note)
        if kind == "success":
            st.success(text)
            st.toast(text, icon=":material/check_circle:")
        if credentials.get(spec.id) is not None:
            saved_credential(spec)
        if credentials.get(spec.id) is None or st.session_state.get(mode_key(spec.id)) == "replace":
            credential_form(spec, flash_field, text if kind == "error" else None)
            if st.session_state.get(mode_key(spec.id)) == "replace":
                st.button("Cancel", key=f"cancel_replace:{spec.id}", on_click=set_mode, args=(spec.id, None))
