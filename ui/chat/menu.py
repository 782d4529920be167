"""The open chat's menu: rename, export (Markdown, JSON), delete (after a confirmation)."""

from __future__ import annotations

import streamlit as st

from core.chat.conversations import Conversation
from core.chat.export import export_name, to_json, to_markdown
from core.errors import AppError
from ui.chat.context import ChatPage

EXPORTS = (("Markdown", to_markdown, "md", "text/markdown"), ("JSON", to_json, "json", "application/json"))


def label(conversation: Conversation) -> str:
    return f"“{conversation.display_title}”: rename, export, delete"


def _rename(page: ChatPage, conversation_id: int) -> None:
    session = page.session
    try:
        title = page.services.conversations.rename(
            page.user.id, conversation_id, st.session_state[f"chat_title:{conversation_id}"]
        )
    except AppError as error:
        session.rename_errors[conversation_id] = str(error)
    else:
        session.notify(f"Renamed to “{title}”.")


def _confirm_delete(page: ChatPage, conversation_id: int) -> None:
    page.session.confirm_delete = conversation_id


def _delete(page: ChatPage, conversation_id: int) -> None:
    if page.services.conversations.delete(page.user.id, conversation_id):
        page.session.notify("Chat deleted.")
    page.session.open(None)


def manage(page: ChatPage, conversation: Conversation) -> None:
    """Rename, export or delete `conversation` (the open one, as saved)."""
    if conversation.id is None:
        return
    with st.expander(label(conversation)):
        st.text_input("Title", value=conversation.display_title, key=f"chat_title:{conversation.id}", max_chars=200)
        st.button("Rename", key="chat_rename", on_click=_rename, args=(page, conversation.id))
        if error := page.session.rename_errors.pop(conversation.id, None):
            st.error(error)
        *download_columns, remove = st.columns(3)
        for column, (name, render, extension, mime) in zip(download_columns, EXPORTS, strict=True):
            column.download_button(
                name,
                data=render(conversation),
                file_name=export_name(conversation, extension),
                mime=mime,
                key=f"chat_export_{extension}",
                icon=":material/download:",
                on_click="ignore",
            )
        if page.session.confirm_delete == conversation.id:
            remove.button(
                "Delete for good",
                key="chat_delete_confirm",
                type="primary",
                on_click=_delete,
                args=(page, conversation.id),
            )
        else:
            remove.button(
                "Delete",
                key="chat_delete",
                icon=":material/delete:",
                on_click=_confirm_delete,
                args=(page, conversation.id),
            )
