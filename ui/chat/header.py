"""What every Chat run draws around the conversation: the account sidebar, notices, the title with New chat, the
mode (Chat or Compare), the model picker and the message box."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core.chat.attachments import ACCEPTED_EXTENSIONS
from core.chat.conversations import MAX_PROMPT_CHARS
from ui.chat.attachments import upload_limit_mb
from ui.chat.context import ChatPage
from ui.signin import account_sidebar

MODES = ("Chat", "Compare")
# The message box while the chat's reply streams: the chat answers one message at a time.
WAITING_PLACEHOLDER = "Waiting for the reply to finish…"
NEW_CHAT_SHORTCUT = "Ctrl+Shift+O"  # as in ChatGPT; Streamlit shows it as Cmd+Shift+O on a Mac


def mode_now() -> str:
    """The mode this run is in, read before anything is drawn."""
    return st.session_state.get("chat_mode") or "Chat"


def frame(page: ChatPage, header: DeltaGenerator | None = None, replying: bool = False) -> str:
    """The account sidebar, notices, title, mode and (in Chat) the model picker (in `header`), the message box
    (closed while the chat's reply streams: `replying`); the mode."""
    account_sidebar(page.user)
    page.session.show_notices()
    with header or st.container():
        head, new_chat = st.columns([5, 2], vertical_alignment="bottom")  # room for the shortcut
        head.title("Chat")
        new_chat.button(
            "New chat",
            key="new_chat",
            icon=":material/add:",
            shortcut=NEW_CHAT_SHORTCUT,
            help=f"Start a new chat ({NEW_CHAT_SHORTCUT}; Cmd+Shift+O on a Mac)",
            on_click=page.session.open,
            args=(None,),
        )
        mode = st.segmented_control(
            "Mode", list(MODES), default="Chat", required=True, key="chat_mode", label_visibility="collapsed"
        )
        if mode == "Chat":
            page.picker.draw()
    if mode == "Chat":
        placeholder = WAITING_PLACEHOLDER if replying else "Message"
        st.chat_input(
            placeholder,
            key="chat_input",
            max_chars=MAX_PROMPT_CHARS,
            disabled=replying,
            accept_file="multiple",
            file_type=list(ACCEPTED_EXTENSIONS),
            max_upload_size=upload_limit_mb(page.services.settings.attachments),
        )
    return mode
