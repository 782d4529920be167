"""The user's chats in the sidebar, most recently active first; a click opens one."""

from __future__ import annotations

import streamlit as st

from ui.chat.context import ChatPage


def chat_list(page: ChatPage) -> None:
    current = page.conversation.id
    with st.sidebar:
        st.subheader("Chats")
        for summary in page.services.conversations.list(page.user.id):
            st.button(
                summary.title,
                key=f"chat_open:{summary.id}",
                type="primary" if summary.id == current else "tertiary",
                on_click=page.session.open,
                args=(summary.id,),
                width="stretch",
            )
