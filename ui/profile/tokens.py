"""Profile → API tokens: create one, see them masked with when each was last used and when it expires, revoke one.

A new token is shown once, in a dialog with a copy button: the form's callback leaves it in session state for the
run that opens the dialog, which takes it out at once, so session state never holds it after that run. The dialog
is modal (nothing else on the page can be clicked meanwhile); "I have copied it", closing it or leaving the page
reruns the app without it, and the token is gone from the page too.
"""

from __future__ import annotations

import streamlit as st

from core.accounts.tokens import ApiTokenPublic
from core.accounts.users import UserPublic
from core.db.types import utcnow
from core.errors import AppError, InvalidInput
from ui.format import when, when_exact
from ui.state import get_services

NEW = "api_token_new"  # (name, token) of the token just created, for the run that shows it (and only that run)
FLASH = "api_tokens_flash"
NAME_KEY, EXPIRY_KEY = "api_token_name", "api_token_expiry"
EXPIRY_CHOICES: dict[str, int | None] = {"30 days": 30, "90 days": 90, "1 year": 365, "Never": None}
DEFAULT_EXPIRY = "90 days"
API_PORT = 8600


def _create(user: UserPublic) -> None:
    """Form callback: make the token and keep it for this page to show once."""
    name = st.session_state.get(NAME_KEY)
    days = EXPIRY_CHOICES.get(st.session_state.get(EXPIRY_KEY) or DEFAULT_EXPIRY)
    try:
        public, token = get_services().tokens.create(user.id, name, days)
    except InvalidInput as error:
        st.session_state[FLASH] = ("error", str(error))
        return
    st.session_state[NEW] = (public.name, token)


def _revoke(user: UserPublic, token: ApiTokenPublic) -> None:
    try:
        revoked = get_services().tokens.revoke(user.id, token.id)
    except AppError as error:
        st.session_state[FLASH] = ("error", str(error))
        return
    if revoked:
        st.session_state[FLASH] = ("success", f"Token “{token.name}” revoked: it no longer works.")


@st.dialog("Your new API token", on_dismiss="rerun")
def _new_token(name: str, token: str) -> None:
    """The token just created, once: copy it now (the code block has a copy button), then say so."""
    st.success(f"Token “{name}” created. Copy it now: it is shown only this once.", icon=":material/key:")
    st.code(token, language=None, wrap_lines=True)
    st.caption(
        "Use it as the API key of an OpenAI-compatible client (`Authorization: Bearer <token>`). This server keeps "
        "only a keyed hash of it: lost it? Revoke it and create another."
    )
    if st.button("I have copied it", key="api_token_copied", type="primary"):
        st.rerun()


def _expiry(token: ApiTokenPublic) -> str:
    if token.expires_at is None:
        return "never expires"
    if token.expired(utcnow()):
        return f":red[expired {when(token.expires_at)}]"
    return f"expires {when(token.expires_at)}"


def _token_line(user: UserPublic, token: ApiTokenPublic) -> None:
    text, button = st.columns([5, 1], vertical_alignment="center")
    used = f"last used {when(token.last_used_at)}" if token.last_used_at else "never used"
    text.markdown(
        f"**{token.name}** `{token.masked}`  \ncreated {when(token.created_at)} · {used} · {_expiry(token)}",
        help=f"Created {when_exact(token.created_at)}."
        + (f" Expires {when_exact(token.expires_at)}." if token.expires_at else ""),
    )
    with button.popover("Revoke", key=f"revoke_token_menu:{token.id}"):
        st.write("Whatever uses this token stops working at once.")
        st.button(
            f"Revoke “{token.name}”",
            key=f"revoke_token:{token.id}",
            type="primary",
            on_click=_revoke,
            args=(user, token),
        )


def _create_form(user: UserPublic) -> None:
    with st.form("create_api_token", border=False, clear_on_submit=True, enter_to_submit=True):
        name, expiry = st.columns([3, 1])
        name.text_input("Name", key=NAME_KEY, max_chars=64, placeholder="What will use it, e.g. my notebook")
        expiry.selectbox("Expires in", list(EXPIRY_CHOICES), index=1, key=EXPIRY_KEY)
        st.form_submit_button("Create token", key="create_api_token_submit", on_click=_create, args=(user,))


def tokens_section(user: UserPublic) -> None:
    """The user's API tokens, between the provider keys and the account."""
    st.header("API tokens")
    st.write(
        f"Call your models from scripts and tools with any OpenAI-compatible client: base URL "
        f"`http://<this server>:{API_PORT}/v1`, a token below as the API key. It uses your saved provider keys."
    )
    kind, text = st.session_state.pop(FLASH, (None, None))
    if (new := st.session_state.pop(NEW, None)) is not None:
        _new_token(*new)
    tokens = get_services().tokens.list(user.id)
    for token in tokens:
        _token_line(user, token)
    if not tokens:
        st.caption("No tokens yet.")
    st.subheader("Create a token")
    _create_form(user)
    if kind == "error":
        st.error(text)
    if kind == "success":
        st.success(text)
