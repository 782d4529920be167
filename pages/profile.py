"""Profile → Provider Keys: one card per provider; saved credentials are shown masked, with their health."""

import streamlit as st

from core.credentials import CredentialPublic
from core.health import RESULT_LABELS, KeyTestResult
from core.providers import PROVIDERS, ProviderSpec
from ui import azure_deployments
from ui.credential_actions import (
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
    test_waiting,
)
from ui.format import when
from ui.signin import require_user
from ui.state import get_services

user = require_user()
credentials = get_services().credentials.list(user.id)  # masked views; fresh on every run

st.title("Profile")
st.caption(f"{user.name} · {user.email}")
st.header("Provider Keys")
st.write(
    "Paste a provider's credentials and click **Save**: the key is tested with the provider, "
    "then its models appear on the **Models** page."
)

RESULT_COLORS = {
    KeyTestResult.VALID: "green",
    KeyTestResult.NO_ACCESS: "orange",
    KeyTestResult.UNREACHABLE: "orange",
    KeyTestResult.REJECTED: "red",
}


def card_title(spec: ProviderSpec) -> str:
    credential = credentials.get(spec.id)
    if credential is None:
        return f"{spec.label} · not set"
    if not credential.readable:
        return f"{spec.label} · :orange[needs re-entry]"
    status = credential.status
    if status is None or status.test_result not in RESULT_LABELS:
        return f"{spec.label} · :green[saved] {credential.masked}"
    result = KeyTestResult(status.test_result)
    return f"{spec.label} · :{RESULT_COLORS[result]}[{RESULT_LABELS[result]}] {credential.masked}"


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


def health(credential: CredentialPublic) -> None:
    """When the key was saved, tested and used, and what the provider last said about it."""
    status = credential.status
    lines = [f"Saved key: `{credential.masked}` · saved {when(credential.updated_at)}"]
    if status is not None and status.tested_at is not None:
        lines.append(f"Last tested {when(status.tested_at)}: **{RESULT_LABELS.get(status.test_result, '?')}**")
    else:
        lines.append("Not tested yet.")
    lines.append(f"Last used for a chat: {when(status.used_at) if status and status.used_at else 'never'}")
    st.markdown("  \n".join(lines))
    if status is not None and status.test_detail:
        st.caption(status.test_detail)
    if status is not None and status.error and status.error_at:
        st.caption(f"Last chat error ({when(status.error_at)}): {status.error}")


def saved_credential(spec: ProviderSpec) -> None:
    credential = credentials[spec.id]
    if credential.readable:
        health(credential)
        for label, value in credential.details.items():
            st.markdown(f"{label}: `{value}`")
    else:
        st.warning(
            f"The saved {spec.label} credential can no longer be read (the server's master key changed). "
            "Enter it again with **Replace**."
        )
    mode = st.session_state.get(mode_key(spec.id))
    test, replace, remove, _ = st.columns([1, 1, 1, 3])
    if mode == "confirm_delete":
        st.warning(f"Delete the saved {spec.label} credential? Its models disappear from Models and Chat.")
        test.button("Delete", key=f"confirm_delete:{spec.id}", type="primary", on_click=delete, args=(user, spec.id))
        replace.button("Cancel", key=f"cancel:{spec.id}", on_click=set_mode, args=(spec.id, None))
    elif mode != "replace":
        if credential.readable:
            test.button("Test again", key=f"retest:{spec.id}", on_click=request_retest, args=(spec.id,))
        replace.button("Replace", key=f"replace:{spec.id}", on_click=set_mode, args=(spec.id, "replace"))
        remove.button("Delete", key=f"delete:{spec.id}", on_click=set_mode, args=(spec.id, "confirm_delete"))


def run_key_test(spec: ProviderSpec) -> None:
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


FLASH = {"success": st.success, "warning": st.warning}

for spec in PROVIDERS:
    flash = st.session_state.pop(flash_key(spec.id), None)
    kind, text, flash_field = flash if flash else (None, None, None)
    with st.expander(card_title(spec), expanded=flash is not None or test_waiting(spec.id)):
        st.markdown(f"**{spec.create_label}**: [{spec.create_url}]({spec.create_url})")
        st.markdown("\n".join(f"{number}. {step}" for number, step in enumerate(spec.steps, start=1)))
        if spec.note:
            st.info(spec.note)
        run_key_test(spec)
        if kind in FLASH:
            FLASH[kind](text)
            st.toast(text, icon=":material/check_circle:" if kind == "success" else ":material/warning:")
        if credentials.get(spec.id) is not None:
            saved_credential(spec)
            if spec.deployments and credentials[spec.id].readable:
                azure_deployments.render(user, spec)
        if credentials.get(spec.id) is None or st.session_state.get(mode_key(spec.id)) == "replace":
            credential_form(spec, flash_field, text if kind == "error" else None)
            if st.session_state.get(mode_key(spec.id)) == "replace":
                st.button("Cancel", key=f"cancel_replace:{spec.id}", on_click=set_mode, args=(spec.id, None))
