"""Router and sign-in gate: nothing else lives here."""

import streamlit as st

from ui.signin import sign_in_gate, signed_out_page

st.set_page_config(page_title="Chat dashboard", page_icon=":material/forum:", layout="wide")

user = sign_in_gate()
if user is None:
    st.navigation([st.Page(signed_out_page, title="Sign in", url_path="sign-in")], position="hidden").run()
else:
    st.navigation(
        [
            st.Page("pages/profile.py", title="Profile", icon=":material/person:"),
            st.Page("pages/models.py", title="Models", icon=":material/view_list:"),
            st.Page("pages/chat.py", title="Chat", icon=":material/chat:", default=True),
        ]
    ).run()
