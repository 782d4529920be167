"""The Hugging Face card's "Check access" form: can the saved token download a given model?"""

from __future__ import annotations

import streamlit as st

from core.accounts.users import UserPublic
from core.errors import AppError
from core.local.access import check_user_access
from core.providers.hub import HubError
from ui.models.table import plain
from ui.state import get_services


def hub_check(user: UserPublic) -> None:
    with st.form("hub_access", border=False):
        repo_id = st.text_input(
            "Check that your token can download a model",
            key="hub_repo_id",
            placeholder="meta-llama/Meta-Llama-3-8B-Instruct",
        )
        checked = st.form_submit_button("Check access", key="hub_check")
    if checked:
        services = get_services()
        try:
            with st.spinner("Asking Hugging Face…"):
                access = check_user_access(services.credentials, services.settings, user.id, repo_id)
        except HubError as error:
            st.error(str(error))
            if error.page_url:
                st.link_button(
                    f"Open {plain(repo_id.strip())} on Hugging Face",
                    error.page_url,
                    icon=":material/open_in_new:",
                )
        except AppError as error:
            st.error(str(error))
        else:
            gated = " It is gated, and your account has been granted access." if access.gated else ""
            st.success(f"Your token can download [{access.repo_id}]({access.page_url}).{gated}")
