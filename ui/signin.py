"""Sign-in through streamlit-authenticator, with accounts kept in the database."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.utilities import LoginError, RegisterError

from core.keys import load_cookie_key
from core.services import Services
from core.throttle import SignInThrottle
from core.users import UserPublic
from ui.state import get_services

COOKIE_NAME = "chat_dashboard_auth"
LOGIN_FIELDS = {"Form name": "Sign in", "Username": "User name", "Password": "Password", "Login": "Sign in"}
DELETE_COOKIE = "delete_auth_cookie"
# The user the router verified in this run, for the page it runs next (taken by `require_user`, so never reused).
VERIFIED_THIS_RUN = "verified_this_run"
REGISTER_FIELDS = {"Form name": "Create an account", "Register": "Create account"}


def _authenticator(services: Services) -> tuple[stauth.Authenticate, dict, dict]:
    """The authenticator over the database's accounts, with a copy to spot what it changed."""
    credentials = services.users.authenticator_credentials()
    authenticator = stauth.Authenticate(
        credentials,
        COOKIE_NAME,
        load_cookie_key(services.settings),
        services.settings.cookie_expiry_days,
        auto_hash=False,
        login_sleep_time=0,
    )
    _throttle_password_checks(authenticator, services.throttle)
    return authenticator, credentials, copy.deepcopy(credentials)


def _throttle_password_checks(authenticator: stauth.Authenticate, throttle: SignInThrottle) -> None:
    """Rate-limit password sign-ins per user name (streamlit-authenticator has no lockout of its own).

    Wraps this authenticator's controller: a locked name is refused before its password is checked, a wrong
    password is counted, a right one clears the count. Cookie re-entry (a token, no password) is untouched.
    """
    controller = authenticator.authentication_controller
    check_password = controller.login

    def login(username: str | None = None, password: str | None = None, *args: Any, **kwargs: Any) -> bool | None:
        if not (username and password):
            return check_password(username, password, *args, **kwargs)
        if wait := throttle.wait_seconds(username):
            raise LoginError(f"Too many failed sign-ins for this user name. Try again in {wait} s.")
        signed_in = check_password(username, password, *args, **kwargs)
        if signed_in:
            throttle.clear(username)
        elif lock := throttle.record_failure(username):
            raise LoginError(f"Wrong user name or password. Too many failed sign-ins: try again in {lock} s.")
        return signed_in

    controller.login = login


def _verified_user(services: Services) -> UserPublic | None:
    """The account the authenticator verified in this session, looked up afresh in the database."""
    if st.session_state.get("authentication_status") is not True:
        return None
    user = services.users.get(st.session_state.get("username"))
    if user is None:  # the account was deleted since: end the session's sign-in
        for key in ("authentication_status", "username", "name", "email"):
            st.session_state[key] = None
    return user


def _sign_in_forms(services: Services, authenticator: stauth.Authenticate) -> None:
    st.title("Chat dashboard")
    if not services.users.count():
        st.info(
            "There are no accounts yet. Create the first one on the server with "
            '`python -m core.admin add-user USERNAME --name "Full Name" --email EMAIL`'
            + (", or with **Create an account** below." if services.settings.allow_signup else ".")
        )
    tabs = st.tabs(["Sign in", "Create an account"]) if services.settings.allow_signup else [st.container()]
    with tabs[0]:
        try:
            authenticator.login(location="main", key="login", fields=LOGIN_FIELDS)
        except LoginError as error:
            st.error(str(error))
        else:
            if st.session_state.get("authentication_status") is False:
                st.error("Wrong user name or password.")
    if services.settings.allow_signup:
        with tabs[1]:
            try:
                _, username, _ = authenticator.register_user(
                    location="main", key="register", fields=REGISTER_FIELDS, captcha=False, password_hint=False
                )
            except RegisterError as error:
                st.error(str(error))
            else:
                if username:
                    st.success(f"Account {username} created. Sign in with it in the first tab.")


def _set_cookie_script(value: str, expires: datetime | None) -> None:
    """Set (or with no expiry, clear) the sign-in cookie from the page itself.

    streamlit-authenticator sets it from a component iframe that a rerun can unmount before its
    script ran, losing the sign-in on reload; a script in the page runs as soon as it arrives.
    """
    lifetime = f"expires={expires.astimezone(UTC).strftime('%a, %d %b %Y %H:%M:%S GMT')}" if expires else "max-age=0"
    secure = "; Secure" if str(st.context.url or "").startswith("https://") else ""
    cookie = f"{COOKIE_NAME}={value}; path=/; SameSite=Strict; {lifetime}{secure}"
    st.html(f"<script>document.cookie = {json.dumps(cookie)};</script>", unsafe_allow_javascript=True)


def _remember_sign_in(services: Services, user: UserPublic) -> None:
    """The same signed token streamlit-authenticator reads back on the next visit."""
    expires = datetime.now() + timedelta(days=services.settings.cookie_expiry_days)
    token = jwt.encode(
        {"username": user.username, "exp_date": expires.timestamp()}, load_cookie_key(services.settings), "HS256"
    )
    _set_cookie_script(token, expires)


def _sign_out() -> None:
    """Sign-out button callback: end the session's sign-in now; the router deletes the cookie."""
    for key in ("authentication_status", "username", "name", "email", "roles"):
        st.session_state[key] = None
    st.session_state["logout"] = True
    st.session_state[DELETE_COOKIE] = True


def sign_in_gate() -> UserPublic | None:
    """Router side: cookie re-entry or the sign-in form; the signed-in user (handed to the page), or None."""
    st.session_state.pop(VERIFIED_THIS_RUN, None)
    user = _signed_in(get_services())
    if user is not None:
        st.session_state[VERIFIED_THIS_RUN] = user
    return user


def _signed_in(services: Services) -> UserPublic | None:
    """The session's verified user, else cookie re-entry or the sign-in form.

    The authenticator (and its cookie component, whose messages rerun the script) is only built while
    nobody is signed in, so it can never interrupt a streaming reply.
    """
    user = _verified_user(services)
    if user is not None:
        return user
    authenticator, credentials, before = _authenticator(services)
    if st.session_state.pop(DELETE_COOKIE, False):
        _set_cookie_script("", None)
    authenticator.login(location="unrendered")
    user = _verified_user(services)
    if user is None:
        _sign_in_forms(services, authenticator)
        user = _verified_user(services)
        if user is not None:
            _remember_sign_in(services, user)
    services.users.sync_from_authenticator(before, credentials)
    return user


def require_user(sidebar: bool = True) -> UserPublic:
    """Page side: the signed-in user, or stop the page with nothing shown; `sidebar` draws the account sidebar now
    (a page that draws it later calls `account_sidebar` itself)."""
    services = get_services()
    user = st.session_state.pop(VERIFIED_THIS_RUN, None)
    if not isinstance(user, UserPublic):  # the page runs without the router (AppTest does, after navigating)
        user = _verified_user(services)
    if user is None:
        authenticator, _, _ = _authenticator(services)
        authenticator.login(location="unrendered")
        user = _verified_user(services)
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


def signed_out_page() -> None:
    """The only page before sign-in; the form above it comes from the router."""
    st.caption("Sign in to manage your provider keys, see your models and chat.")
