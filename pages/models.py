"""Models: what each saved provider key unlocks, listed live by the provider, and the team's servers (no key
needed); pick one and chat with it.

The catalog comes from session state, so a rerun neither decrypts a key nor calls a provider (see ui/state.py).
"""

import streamlit as st

from core.models.choice import ProviderSection
from ui.models.hub import hub_check
from ui.models.listing import listing_status
from ui.models.local import local_models
from ui.models.servers import team_servers
from ui.models.table import clear_selection, model_table
from ui.signin import require_user
from ui.state import get_services, user_catalog

user = require_user()
services = get_services()

title, refresh = st.columns([5, 1], vertical_alignment="bottom")
title.title("Models")
refreshing = refresh.button(
    "Refresh", key="models_refresh", icon=":material/refresh:", help="Ask every provider for its current models"
)
with st.spinner("Asking your providers which models your keys can use…"):
    sections = user_catalog(services, user, refresh=refreshing)
if refreshing:
    for section in sections:
        clear_selection(section.spec.id)

servers = [section for section in sections if section.spec.team_server]
if not any(section.ready for section in sections if section.spec.needs_credential):
    st.info(
        "No provider key is saved yet. Add one in Profile → Provider Keys and its models appear here."
        + (" Your team's servers, below, need none." if servers else "")
    )


def provider_card(section: ProviderSection) -> None:
    """One provider: its credential's state (with a way to Profile), its listing and models, and its note."""
    spec = section.spec
    st.subheader(spec.label)
    if spec.runs_here:
        local_models(user)
    elif section.credential is not None and not section.credential.readable:
        st.warning(f"The saved {spec.label} credential needs re-entry.")
        st.page_link("pages/profile.py", label=f"Re-enter it in Profile → {spec.label}", icon=":material/key:")
    elif section.credential is None:
        st.caption(f"No {spec.label} credential saved.")
        st.page_link("pages/profile.py", label=f"Add one in Profile → {spec.label}", icon=":material/key:")
    elif spec.chat_capable:
        listing_status(section)
        if section.models:
            model_table(section)
        elif spec.deployments:
            st.info(f"No deployments yet: add your deployment names in Profile → {spec.label}.")
        if spec.deployments:
            link = f"Add or remove deployments in Profile → {spec.label}"
            st.page_link("pages/profile.py", label=link, icon=":material/add:")
    if spec.model_hub and section.ready:
        hub_check(user)
    if spec.note:
        st.caption(spec.note)


for section in sections:
    if not section.spec.team_server:
        with st.container(border=True):
            provider_card(section)
team_servers(servers)
