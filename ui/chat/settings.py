"""A chat's settings form: system prompt, temperature, max output tokens; applied to this chat only."""

from __future__ import annotations

import streamlit as st

from core.chat.conversations import MAX_TEMPERATURE, MAX_TOKENS_LIMIT, Conversation
from core.errors import AppError
from ui.chat.context import ChatPage


def settings_form(page: ChatPage, conversation: Conversation) -> None:
    current = conversation.settings
    with st.expander("Chat settings: system prompt, temperature, max output tokens"):
        cid = conversation.id if conversation.id is not None else "new"
        with st.form(f"chat_settings:{cid}", border=False):
            system = st.text_area("System prompt", value=current.system_prompt, key=f"chat_system:{cid}")
            left, right = st.columns(2)
            temperature = left.number_input(
                "Temperature",
                min_value=0.0,
                max_value=MAX_TEMPERATURE,
                value=current.temperature,
                step=0.1,
                placeholder="provider default",
                key=f"chat_temperature:{cid}",
            )
            max_tokens = right.number_input(
                "Max output tokens",
                min_value=1,
                max_value=MAX_TOKENS_LIMIT,
                value=current.max_tokens,
                step=256,
                key=f"chat_max_tokens:{cid}",
            )
            saved = st.form_submit_button("Apply to this chat", key=f"chat_settings_apply:{cid}")
        if saved:
            try:
                page.services.chat.apply_settings(page.user.id, conversation, system, temperature, max_tokens)
            except AppError as error:
                st.error(str(error))
            else:
                st.toast("Settings saved for this chat.")
