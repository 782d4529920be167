"""Models: what each saved provider key unlocks; a provider without a key says how to add one."""

import streamlit as st

from core.errors import AppError
from core.hub import check_user_access
from ui.signin import require_user
from ui.state import get_services, mark_catalog_stale, user_catalog

user = require_user()
services = get_services()

title, refresh = st.columns([5, 1], vertical_alignment="bottom")
title.title("Models")
if refresh.button("Refresh", key="models_refresh", icon=":material/refresh:"):
    mark_catalog_stale(user)
sections = user_catalog(services, user)

if not any(section.ready for section in sections):
    st.info("No provider key is saved yet. Add one in Profile → Provider Keys and its models appear here.")

for section in sections:
    spec = section.spec
    with st.container(border=True):
        st.subheader(spec.label)
        if section.credential is not None and not section.credential.readable:
            st.warning(f"The saved {spec.label} credential needs re-entry.")
            st.page_link("pages/profile.py", label=f"Re-enter it in Profile → {spec.label}", icon=":material/key:")
        elif section.credential is None:
            st.caption(f"No {spec.label} credential saved.")
            st.page_link("pages/profile.py", label=f"Add one in Profile → {spec.label}", icon=":material/key:")
        elif section.models:
            st.dataframe(
                [
                    {"Model": model.label, "Model ID": model.model_id, "Source": "default list"}
                    for model in section.models
                ],
                hide_index=True,
                width="stretch",
            )
        if spec.model_hub and section.ready:
            with st.form("hub_access", border=False):
                repo_id = st.text_input(
                    "Check that your token can download a model",
                    key="hub_repo_id",
                    placeholder="meta-llama/Meta-Llama-3-8B-Instruct",
                )
                checked = st.form_submit_button("Check access", key="hub_check")
            if checked:
                try:
                    with st.spinner("Asking Hugging Face…"):
                        access = check_user_access(services.credentials, services.settings, user.id, repo_id)
                except AppError as error:
                    st.error(str(error))
                else:
                    gated = " It is gated, and your account has been granted access." if access.gated else ""
                    st.success(f"Your token can download [{access.repo_id}]({access.page_url}).{gated}")
        if spec.note:
            st.caption(spec.note)
