"""Profile → Provider Keys: one card per provider; a saved credential shows masked, with one line on its health."""

import streamlit as st

from core.credentials.key_test import RESULT_LABELS, KeyTestResult
from core.credentials.store import CredentialPublic, KeyStatus
from core.providers.registry import PROVIDERS, ProviderSpec
from ui import azure_deployments
from ui.account import account_section
from ui.credential_actions import (
    card_key,
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
from ui.format import when, when_exact
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
    KeyTestResult.REJECTED_AT_CHAT: "red",
}
TOAST_ICONS = {"success": ":material/check_circle:", "warning": ":material/warning:"}


def card_title(spec: ProviderSpec, credential: CredentialPublic | None) -> str:
    """The card's state at a glance, also when it is closed: not set, or the key's verdict and its last four."""
    if credential is None:
        return f"{spec.label} · not set"
    if not credential.readable:
        return f"{spec.label} · :orange[needs re-entry]"
    status = credential.status
    if status is None or status.test_result not in RESULT_LABELS:
        return f"{spec.label} · :green[saved] {credential.masked}"
    result = KeyTestResult(status.test_result)
    return f"{spec.label} · :{RESULT_COLORS[result]}[{RESULT_LABELS[result]}] {credential.masked}"


def how_to(spec: ProviderSpec) -> None:
    st.markdown(f"**{spec.create_label}**: [{spec.create_url}]({spec.create_url})")
    st.markdown("\n".join(f"{number}. {step}" for number, step in enumerate(spec.steps, start=1)))


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


def verdict_sentence(status: KeyStatus | None) -> str:
    """What the last test (or a chat the provider refused the key for) found, and when."""
    if status is None or status.tested_at is None:
        return "Not tested yet."
    said = f"{'Refused for a chat' if status.rejected_at_chat else 'Tested'} {when(status.tested_at)}"
    return f"{said}: {status.test_detail}" if status.test_detail else f"{said}."


def chat_sentence(status: KeyStatus | None) -> str:
    if status is not None and status.error and status.error_at:
        return f"The last chat, {when(status.error_at)}, failed: {status.error}"
    if status is not None and status.used_at:
        return f"Last used for a chat {when(status.used_at)}."
    return "Not used for a chat yet."


def exact_times(spec: ProviderSpec, credential: CredentialPublic) -> str:
    """Every time the status line gives, in full, for its tooltip."""
    status = credential.status or KeyStatus()
    times = [("Saved", credential.updated_at)]
    times.append(("Refused for a chat" if status.rejected_at_chat else "Tested", status.tested_at))
    if spec.chat_capable and not status.rejected_at_chat:  # as the line: a refusal is said once
        times += [("Last used for a chat", status.used_at), ("Last chat error", status.error_at)]
    return "  \n".join(f"{label}: {when_exact(moment)}" for label, moment in times if moment is not None)


def status_line(spec: ProviderSpec, credential: CredentialPublic) -> None:
    """The card's one line of news: the key's verdict and when, and (chat providers) its last use in a chat."""
    sentences = [verdict_sentence(credential.status)]
    if spec.chat_capable and not (credential.status and credential.status.rejected_at_chat):
        sentences.append(chat_sentence(credential.status))  # a refusal is the verdict already: said once
    st.markdown(" ".join(sentences), help=exact_times(spec, credential))
    if credential.details:
        st.caption(" · ".join(f"{label}: `{value}`" for label, value in credential.details.items()))


def links(spec: ProviderSpec, credential: CredentialPublic) -> None:
    """Where the key's models are, and the how-to folded away now that a key is saved."""
    models, help_column = st.columns([3, 2], vertical_alignment="center")
    if credential.readable:
        label = "See its models on Models" if spec.chat_capable else "Check access to a model on Models"
        models.page_link("pages/models.py", label=label, icon=":material/view_list:")
    with help_column.popover("How to get a key", icon=":material/help:", key=f"how_to:{spec.id}"):
        how_to(spec)


def actions(spec: ProviderSpec, credential: CredentialPublic, mode: str | None) -> None:
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


def card(spec: ProviderSpec) -> None:
    """One provider's card body: its state, what can be done with it, and the form when one is asked for."""
    run_key_test(spec)
    credential = credentials.get(spec.id)
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
        credential_form(spec, flash_field, text if kind == "error" else None)
    if credential is not None:
        if mode == "replace":
            st.button("Cancel", key=f"cancel_replace:{spec.id}", on_click=set_mode, args=(user, spec.id, None))
        else:
            actions(spec, credential, mode)
    if credential is not None and spec.note:
        st.caption(spec.note)
    if spec.deployments and credential is not None and credential.readable:
        azure_deployments.render(user, spec)


for spec in PROVIDERS:
    key = card_key(user, spec.id)
    # Stateful, so a rerun (a Save, a changed title) never closes a card the user opened, nor opens one they closed.
    with st.expander(
        card_title(spec, credentials.get(spec.id)),
        expanded=st.session_state.get(key, False),
        key=key,
        on_change="rerun",
    ):
        card(spec)

account_section(user)
