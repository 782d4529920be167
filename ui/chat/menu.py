"""The open chat's title with its menu beside it (a small popover): rename, export (Markdown, JSON), delete, which
asks once, with Cancel."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core.chat.conversations import MAX_TITLE_CHARS, Conversation
from core.chat.export import export_name, to_json, to_markdown
from core.errors import AppError
from ui.chat.context import ChatPage
from ui.format import plain

EXPORTS = (("Markdown", to_markdown, "md", "text/markdown"), ("JSON", to_json, "json", "application/json"))
MENU = ":material/more_vert:"
CONFIRM = "Delete this chat? It cannot be undone."


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


def _ask_to_delete(page: ChatPage, conversation_id: int | None) -> None:
    """Delete's first click asks (the conversation's id), Cancel forgets it (None)."""
    page.session.confirm_delete = conversation_id


def _delete(page: ChatPage, conversation_id: int) -> None:
    if page.services.conversations.delete(page.user.id, conversation_id):
        page.session.notify("Chat deleted.")
    page.session.open(None)


def _export(page: ChatPage, conversation_id: int, render: Callable[[Conversation], str]) -> str:
    """The whole chat, exported (the page may draw only its last messages): read when its button is clicked."""
    return render(page.services.conversations.get(page.user.id, conversation_id))


def _title_row(conversation: Conversation) -> DeltaGenerator:
    """The chat's title, and the column its menu goes in."""
    title, menu = st.columns([12, 1], vertical_alignment="center")
    title.subheader(plain(conversation.display_title), anchor=False)
    return menu


def stand_in(conversation: Conversation) -> None:
    """The title and the menu's button, while a reply streams (its exports do not hold the reply yet)."""
    _title_row(conversation).popover(MENU, disabled=True, help="Chat menu: once the reply has ended")


def manage(page: ChatPage, conversation: Conversation) -> None:
    """The title of `conversation` (the open one, as saved) with its menu: rename, export, delete."""
    if conversation.id is None:
        return
    with _title_row(conversation).popover(MENU, help="Rename, export or delete this chat"):
        _rename_form(page, conversation.id, conversation.display_title)
        st.caption("Export")
        for name, render, extension, mime in EXPORTS:
            st.download_button(
                name,
                data=partial(_export, page, conversation.id, render),  # made on the click, of the whole chat
                file_name=export_name(conversation, extension),
                mime=mime,
                key=f"chat_export_{extension}",
                icon=":material/download:",
                on_click="ignore",
                width="stretch",
            )
        st.divider()
        _delete_buttons(page, conversation.id)


def _rename_form(page: ChatPage, conversation_id: int, title: str) -> None:
    st.text_input("Title", value=title, key=f"chat_title:{conversation_id}", max_chars=MAX_TITLE_CHARS)
    st.button("Rename", key="chat_rename", on_click=_rename, args=(page, conversation_id), width="stretch")
    if error := page.session.rename_errors.pop(conversation_id, None):
        st.error(error)


def _delete_buttons(page: ChatPage, conversation_id: int) -> None:
    if page.session.confirm_delete != conversation_id:
        st.button(
            "Delete",
            key="chat_delete",
            icon=":material/delete:",
            on_click=_ask_to_delete,
            args=(page, conversation_id),
            width="stretch",
        )
        return
    st.warning(CONFIRM)
    delete, cancel = st.columns(2)
    delete.button("Delete", key="chat_delete_confirm", type="primary", on_click=_delete, args=(page, conversation_id))
    cancel.button("Cancel", key="chat_delete_cancel", on_click=_ask_to_delete, args=(page, None))
