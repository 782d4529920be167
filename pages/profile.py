"""Profile → Provider Keys: one card per provider; a saved credential shows masked, with one line on its health.
Then New chat defaults, API tokens (for the HTTP API), and Account: the password and where the user is signed in."""

import streamlit as st

from core.providers.registry import keyed_providers
from ui.profile.account import account_section
from ui.profile.actions import card_key
from ui.profile.card import card
from ui.profile.defaults import defaults_section
from ui.profile.status import card_title
from ui.profile.tokens import tokens_section
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

for spec in keyed_providers():
    key = card_key(user, spec.id)
    # Stateful, so a rerun (a Save, a changed title) never closes a card the user opened, nor opens one they closed.
    with st.expander(
        card_title(spec, credentials.get(spec.id)),
        expanded=st.session_state.get(key, False),
        key=key,
        on_change="rerun",
    ):
        card(user, spec, credentials.get(spec.id))

defaults_section(user)
tokens_section(user)
account_section(user)
