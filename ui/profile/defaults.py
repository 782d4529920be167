"""Profile → New chat defaults: the system prompt, temperature and max output tokens a new chat starts with; a
chat's own settings (Chat → Chat settings) then override them. Checked as a chat's settings are."""

from __future__ import annotations

import streamlit as st

from core.accounts.users import UserPublic
from core.errors import AppError
from ui.chat.session import ChatSession
from ui.chat.settings import generation_fields
from ui.state import get_services

KEY = "defaults"  # the fields' keys: chat_system:defaults, chat_temperature:defaults, chat_max_tokens:defaults


def defaults_section(user: UserPublic) -> None:
    services = get_services()
    st.header("New chat defaults")
    st.caption("Every new chat starts with these settings; a chat's own settings (in Chat) override them.")
    with st.form("chat_defaults_form"):
        system, temperature, max_tokens = generation_fields(KEY, services.chat_defaults.get(user.id))
        saved = st.form_submit_button("Save defaults", key="chat_defaults_save")
    if not saved:
        return
    try:
        services.chat_defaults.save(user.id, system, temperature, max_tokens)
    except AppError as error:
        st.error(str(error))
        return
    draft = ChatSession.of(user).draft
    if draft is not None and draft.id is None and not draft.messages:
        ChatSession.of(user).draft = None  # the new chat not yet begun starts again, with these defaults
    st.success("Saved: new chats start with these settings.")
