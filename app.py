"""Router and sign-in gate: nothing else lives here."""

import streamlit as st

from ui.chrome import page_chrome
from ui.signin import landing_page, sign_in_gate, sign_in_page

st.set_page_config(page_title="Chat dashboard", page_icon="💬", layout="wide")
page_chrome()

# (script, title, icon, address); the same addresses show the sign-in form while nobody is signed in, so a
# bookmarked page opens once the user has signed in.
PAGES = (
    ("pages/profile.py", "Profile", ":material/person:", "profile"),
    ("pages/models.py", "Models", ":material/view_list:", "models"),
    ("pages/chat.py", "Chat", ":material/chat:", "chat"),
)

user = sign_in_gate(
    has_keys=lambda services, user: services.credentials.has_any(user.id) or bool(services.local.mine(user.id))
)
if user is None:
    sign_in = [st.Page(sign_in_page, title="Sign in", url_path="sign-in", default=True)]
    sign_in += [st.Page(sign_in_page, title="Sign in", url_path=address) for *_, address in PAGES]
    st.navigation(sign_in, position="hidden").run()
else:
    # A user without keys starts on Profile, unless the address names a chat (Chat, the default page, is at
    # `/?chat=<id>`: a reload there stays on Chat).
    landing = landing_page()
    default = "chat" if "chat" in st.query_params else landing or "chat"
    pages = [
        st.Page(script, title=title, icon=icon, url_path=address, default=address == default)
        for script, title, icon, address in PAGES
    ]
    st.navigation(pages).run()
