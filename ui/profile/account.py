"""Profile → Account: change your password, see where you are signed in and end those sessions."""

from __future__ import annotations

import streamlit as st

from core.accounts.sessions import SessionPublic, SignedIn
from core.accounts.users import UserPublic
from core.errors import AppError, InvalidInput
from ui.format import when, when_exact
from ui.signin import current_session
from ui.state import get_services

PASSWORD_FIELDS = (
    ("current", "Current password", "current-password"),
    ("new", "New password", "new-password"),
    ("repeat", "Repeat the new password", "new-password"),
)
FLASH = "account_flash"


def _field_key(name: str) -> str:
    return f"account_password:{name}"


def _change_password(session: SignedIn) -> None:
    """Form callback (the form empties its fields once submitted, whatever the outcome)."""
    values = {name: st.session_state.get(_field_key(name)) or "" for name, *_ in PASSWORD_FIELDS}
    try:
        ended = get_services().accounts.change_password(session, values["current"], values["new"], values["repeat"])
    except InvalidInput as error:
        st.session_state[FLASH] = ("error", str(error), error.field)
        return
    except AppError as error:
        st.session_state[FLASH] = ("error", str(error), None)
        return
    others = f" and signed out of {ended} other session{'s' * (ended != 1)}" if ended else ""
    st.session_state[FLASH] = ("success", f"Password changed{others}.", None)


def _end(user: UserPublic, session_id: int) -> None:
    if get_services().sessions.end(user.id, session_id):
        st.session_state[FLASH] = ("success", "That session is signed out.", None)


def _end_others(user: UserPublic, session: SignedIn) -> None:
    ended = get_services().sessions.end_all(user.id, keep=session.session_id)
    st.session_state[FLASH] = ("success", f"Signed out of {ended} other session{'s' * (ended != 1)}.", None)


def _device(user_agent: str) -> str:
    """A short name for the browser a session signed in from."""
    agent = user_agent or ""
    browser = next((name for name in ("Edg", "Firefox", "Chrome", "Safari") if name in agent), "")
    system = next((name for name in ("Windows", "Mac OS X", "Android", "iPhone", "Linux") if name in agent), "")
    browser = {"Edg": "Edge", "": "A browser"}.get(browser, browser)
    return f"{browser} on {system.replace('Mac OS X', 'macOS')}" if system else browser


def _session_line(user: UserPublic, listed: SessionPublic, this: SignedIn) -> None:
    text, button = st.columns([5, 1], vertical_alignment="center")
    current = " · **this browser**" if listed.id == this.session_id else ""
    text.markdown(
        f"{_device(listed.user_agent)}{current}  \n"
        f"signed in {when(listed.created_at)} · last seen {when(listed.last_seen_at)} · "
        f"ends {when(listed.expires_at)}",
        help=f"Signed in {when_exact(listed.created_at)}, last seen {when_exact(listed.last_seen_at)}, ends "
        f"{when_exact(listed.expires_at)}. Browser: `{listed.user_agent.replace('`', '') or 'not known'}`",
    )
    if listed.id != this.session_id:
        button.button("Sign out", key=f"end_session:{listed.id}", on_click=_end, args=(user, listed.id))


def account_section(user: UserPublic) -> None:
    """The signed-in user's password and sessions, at the end of Profile."""
    session = current_session()
    if session is None:
        return
    st.header("Account")
    kind, text, field = st.session_state.pop(FLASH, (None, None, None))
    with st.expander("Change password", expanded=kind == "error" and field is not None):
        with st.form("change_password", border=False, clear_on_submit=True):
            for name, label, autocomplete in PASSWORD_FIELDS:
                st.text_input(label, key=_field_key(name), type="password", autocomplete=autocomplete, max_chars=200)
                if kind == "error" and field == name:
                    st.error(text)
            st.form_submit_button(
                "Change password", key="change_password_submit", on_click=_change_password, args=(session,)
            )
        st.caption("Changing your password signs you out everywhere else.")
    if kind == "error" and field is None:
        st.error(text)
    elif kind == "success":
        st.success(text)
    st.subheader("Where you are signed in")
    listed = get_services().sessions.list(user.id)
    for item in listed:
        _session_line(user, item, session)
    if len(listed) > 1:
        st.button("Sign out everywhere else", key="end_other_sessions", on_click=_end_others, args=(user, session))
