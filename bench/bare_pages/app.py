"""The benchmark's floor for sign-in and page switches (`python -m bench.browser`): the app's navigation and a
sidebar of the same shape, with no logic. A sign-in form that checks nothing, then Profile, Models and Chat at the
app's addresses, Chat the default, as for a user with a key."""

import streamlit as st

st.set_page_config(page_title="Bare pages", layout="wide")
PAGES = (
    ("pages/profile.py", "Profile", ":material/person:", "profile"),
    ("pages/models.py", "Models", ":material/view_list:", "models"),
    ("pages/chat.py", "Chat", ":material/chat:", "chat"),
)


def sign_in() -> None:
    st.session_state.signed_in = True


def sign_in_page() -> None:
    st.title("Bare pages")
    with st.form("sign_in_form"):
        st.text_input("User name", key="username")
        st.text_input("Password", key="password", type="password")
        st.form_submit_button("Sign in", type="primary", on_click=sign_in)


if not st.session_state.get("signed_in"):
    st.navigation([st.Page(sign_in_page, title="Sign in", url_path="sign-in")], position="hidden").run()
else:
    st.sidebar.caption("Signed in as **Alice Example** (alice)")
    st.sidebar.button("Sign out", key="sign_out", icon=":material/logout:")
    pages = [
        st.Page(script, title=title, icon=icon, url_path=address, default=address == "chat")
        for script, title, icon, address in PAGES
    ]
    st.navigation(pages).run()
