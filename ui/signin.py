"""Sign-in for the Streamlit front end: the form, the session check on every run, the cookie hand-off, sign-out.

Nothing here renders a component that talks back to the script (streamlit-authenticator's cookie component did,
and its reruns dropped sign-ins submitted right after the page loaded). A new browser tab is signed in from its
HttpOnly cookie, read from the websocket's request (`st.context.cookies`); a tab that is signed in checks its
session against the database on every run, so ending a session anywhere signs it out at its next run.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import streamlit as st

from core.accounts.service import SignInRefused
from core.accounts.sessions import SignedIn
from core.accounts.users import UserPublic
from core.errors import AppError
from core.providers.client import warm_in_background
from core.services import Services
from ui.heap import freeze_imports
from ui.inputs import current_key, renew, value_of
from ui.state import get_services
from ui.theme import THEME_HINT, app_paths, keep_theme_script
from ui.web import COOKIE_NAME, REQUEST_HEADER, SESSION_PATH, SIGN_OUT_PATH, base_path

SIGNED_IN = "signed_in"
# The user the router verified in this run, for the page it runs next (taken by `require_user`, so never reused).
VERIFIED_THIS_RUN = "verified_this_run"
HANDOFF = "sign_in_handoff"  # the one-time code the next run's script trades for the cookie
CLEAR_COOKIE = "sign_in_clear_cookie"
# On a tab's first signed-in run: "profile" when the user has no keys yet (the default address then opens Profile).
LANDING = "sign_in_landing"
NOTICE = "sign_in_notice"
FORM_ERROR = "sign_in_error"
USERNAME, PASSWORD = "sign_in_username", "sign_in_password"
SIGNUP_FIELDS = (
    ("signup_username", "User name", "default", "username"),
    ("signup_name", "Full name", "default", "name"),
    ("signup_email", "Email", "default", "email"),
    ("signup_password", "Password", "password", "new-password"),
    ("signup_repeat", "Repeat password", "password", "new-password"),
)
ENDED = "You were signed out: this session was ended (signed out elsewhere, a password change, or an administrator)."


def sign_in_gate(has_keys: Callable[[Services, UserPublic], bool]) -> UserPublic | None:
    """Router side: the signed-in user (handed to the page it runs), or None after drawing the sign-in form.

    Two slots open every page, signed in or not: the form's, which a signed-in run leaves empty (so the form is
    gone with the run's first message, before the page draws), and one for the cookie hand-off script after a
    sign-in or the clearing script after a sign-out (so nothing else on the page moves).
    """
    freeze_imports()  # litellm's objects, once its import (started below) is in: see ui/heap.py
    st.session_state.pop(VERIFIED_THIS_RUN, None)
    services = get_services()
    form_slot, script_slot = st.empty(), st.empty()
    user = _current_user(services)
    if user is None:
        if st.session_state.pop(CLEAR_COOKIE, False):
            _page_script(script_slot, SIGN_OUT_PATH, {})
        with form_slot.container():
            _sign_in_forms(services)
        # Only now: the import takes seconds of CPU, which the first sign-in form would otherwise wait for. It
        # runs while the user types; the pages after sign-in need it (prices, chat).
        warm_in_background()
        return None
    st.session_state[VERIFIED_THIS_RUN] = user
    warm_in_background()  # a tab signed in by its cookie never saw the form
    if handoff := st.session_state.pop(HANDOFF, None):
        _page_script(script_slot, SESSION_PATH, {"code": handoff})
    if st.session_state.get(LANDING) is True:  # the tab's first signed-in run
        st.session_state[LANDING] = None if has_keys(services, user) else "profile"
    return user


def landing_page() -> str | None:
    """The page a sign-in made on the default address opens instead of the default, once."""
    value = st.session_state.pop(LANDING, None)
    return value if isinstance(value, str) else None


def _current_user(services: Services) -> UserPublic | None:
    """This tab's session, checked against the database; else the browser's cookie (a new tab, a reload)."""
    signed = st.session_state.get(SIGNED_IN)
    if isinstance(signed, SignedIn):
        user = services.accounts.current_user(signed)
        if user is not None:
            return user
        del st.session_state[SIGNED_IN]
        st.session_state[NOTICE] = ENDED
        st.session_state[CLEAR_COOKIE] = True
    token = st.context.cookies.get(COOKIE_NAME)
    if isinstance(token, str) and not st.session_state.get(CLEAR_COOKIE):
        signed = services.sessions.resume(token)
        if signed is not None and (user := services.accounts.current_user(signed)) is not None:
            st.session_state[SIGNED_IN] = signed
            st.session_state[LANDING] = True
            return user
    return None


def _page_script(slot, path: str, body: dict[str, str]) -> None:
    """POST `body` to one of the app's own routes from the page (the server answers with the cookie)."""
    url = json.dumps(base_path() + path)
    headers = json.dumps({"Content-Type": "application/json", REQUEST_HEADER: "1"})
    payload = json.dumps(json.dumps(body))
    _run_script(
        slot, f'fetch({url}, {{method: "POST", credentials: "same-origin", headers: {headers}, body: {payload}}});'
    )


def _run_script(slot, script: str) -> None:
    """The one place the app runs its own script in the page (the cookie hand-off, the theme choice's keeping)."""
    slot.html(f"<script>{script}</script>", unsafe_allow_javascript=True)


def _user_agent() -> str:
    return st.context.headers.get("User-Agent") or ""


def _start(started_session: SignedIn, handoff: str) -> None:
    st.session_state[SIGNED_IN] = started_session
    st.session_state[HANDOFF] = handoff
    st.session_state[LANDING] = True
    st.session_state.pop(NOTICE, None)


def _submit_sign_in() -> None:
    """Sign-in button callback: runs before the script, so the signed-in run never draws the form."""
    password = value_of(PASSWORD) or ""
    renew(PASSWORD)  # the next form has an empty password field: a typed password never stays
    try:
        started = get_services().accounts.sign_in(st.session_state.get(USERNAME), password, _user_agent())
    except SignInRefused as refused:
        st.session_state[FORM_ERROR] = str(refused)
        return
    _start(started.session, started.handoff)


def _submit_sign_up() -> None:
    """Create-account button callback: create the account and sign in with it."""
    values = {key: value_of(key) or "" for key, *_ in SIGNUP_FIELDS}
    for key in ("signup_password", "signup_repeat"):
        renew(key)
    accounts = get_services().accounts
    try:
        if values["signup_password"] != values["signup_repeat"]:
            raise AppError("The passwords do not match.")
        user = accounts.users.add(
            values["signup_username"], values["signup_name"], values["signup_email"], values["signup_password"]
        )
        started = accounts.sign_in(user.username, values["signup_password"], _user_agent())
    except AppError as error:
        st.session_state[FORM_ERROR + ":signup"] = str(error)
        return
    _start(started.session, started.handoff)


def _sign_in_form() -> None:
    with st.form("sign_in_form", enter_to_submit=True):
        st.text_input("User name", key=USERNAME, autocomplete="username", max_chars=64)
        st.text_input(
            "Password", key=current_key(PASSWORD), type="password", autocomplete="current-password", max_chars=200
        )
        st.form_submit_button("Sign in", key="sign_in", type="primary", on_click=_submit_sign_in)
    if error := st.session_state.pop(FORM_ERROR, None):
        st.error(error)


def _sign_up_form() -> None:
    with st.form("sign_up_form", enter_to_submit=True):
        for key, label, kind, autocomplete in SIGNUP_FIELDS:
            st.text_input(label, key=current_key(key), type=kind, autocomplete=autocomplete, max_chars=200)
        st.form_submit_button("Create account", key="sign_up", on_click=_submit_sign_up)
    if error := st.session_state.pop(FORM_ERROR + ":signup", None):
        st.error(error)


def _sign_in_forms(services: Services) -> None:
    st.title("Chat dashboard")
    st.caption("Sign in to manage your provider keys, see your models and chat.")
    if notice := st.session_state.pop(NOTICE, None):
        st.info(notice)
    if not services.users.count():
        st.info(
            "There are no accounts yet. Create the first one on the server, in the app's folder: "
            '`.venv/bin/python -m core.cli add-user USERNAME --name "Full Name" --email EMAIL`'
            + (", or with **Create an account** below." if services.settings.allow_signup else ".")
        )
    if not services.settings.allow_signup:
        _sign_in_form()
        return
    sign_in_tab, sign_up_tab = st.tabs(["Sign in", "Create an account"])
    with sign_in_tab:
        _sign_in_form()
    with sign_up_tab:
        _sign_up_form()


def sign_in_page() -> None:
    """The page every address shows while nobody is signed in, so a bookmarked page opens after sign-in.

    It draws nothing itself: the router has drawn the form in its slot at the top.
    """


def _sign_out() -> None:
    """Sign-out button callback: end the session everywhere now; the next run clears the browser's cookie."""
    signed = st.session_state.pop(SIGNED_IN, None)
    if isinstance(signed, SignedIn):
        get_services().accounts.sign_out(signed)
    st.session_state[CLEAR_COOKIE] = True


def current_session() -> SignedIn | None:
    """This tab's session (for Profile's session list and password change)."""
    signed = st.session_state.get(SIGNED_IN)
    return signed if isinstance(signed, SignedIn) else None


def require_user(sidebar: bool = True) -> UserPublic:
    """Page side: the signed-in user, or stop the page with nothing shown; `sidebar` draws the account sidebar now
    (a page that draws it later calls `account_sidebar` itself)."""
    user = st.session_state.pop(VERIFIED_THIS_RUN, None)
    if not isinstance(user, UserPublic):  # the page runs without the router (AppTest does, after navigating)
        user = _current_user(get_services())
    if user is None:
        st.info("Please sign in to continue.")
        st.stop()
    if sidebar:
        account_sidebar(user)
    return user


def account_sidebar(user: UserPublic) -> None:
    """Who is signed in, and Sign out, at the top of the sidebar."""
    st.sidebar.caption(f"Signed in as **{user.name}** ({user.username})")
    st.sidebar.button("Sign out", key="sign_out", icon=":material/logout:", on_click=_sign_out)
    with st.sidebar.container(key="theme_hint"):
        st.markdown(f":small[:gray[{THEME_HINT}]]")
        _run_script(st, keep_theme_script(app_paths()))
