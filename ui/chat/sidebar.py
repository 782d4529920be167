"""The user's chats in the sidebar, grouped by the day of their last activity (Today, Yesterday, Previous 7 days,
Older; calendar days in the browser's time zone, UTC where it did not say), with a search box over titles and
message text; a click opens one, the open one is highlighted."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from core.chat.conversations import ConversationSummary
from core.chat.listing import ChatMatch, group_by_day, search_text, short_title
from ui.chat.context import ChatPage
from ui.format import plain, viewer_zone

SEARCH = "chat_search"


def _found(page: ChatPage) -> list[ChatMatch] | list[ConversationSummary]:
    """The chats the search box asks for, else all of the user's, most recently active first."""
    text = search_text(st.session_state.get(SEARCH))
    if not text:
        return page.services.conversations.list(page.user.id)
    return page.services.chat_search.search(page.user.id, text)


def _line(page: ChatPage, chat: ChatMatch | ConversationSummary, current: int | None) -> None:
    shown = short_title(chat.title)
    st.button(
        plain(shown),
        key=f"chat_open:{chat.id}",
        help=plain(chat.title) if shown != chat.title else None,  # the whole title, where it was shortened
        type="primary" if chat.id == current else "tertiary",
        on_click=page.session.open,
        args=(chat.id,),
        width="stretch",
    )
    if isinstance(chat, ChatMatch) and chat.snippet:
        st.caption(plain(chat.snippet))


def chat_list(page: ChatPage) -> None:
    with st.sidebar:
        st.subheader("Chats")
        st.text_input(
            "Search chats",
            key=SEARCH,
            placeholder="Search titles and messages",
            icon=":material/search:",
            label_visibility="collapsed",
            max_chars=200,
        )
        chats = _found(page)
        if not chats and st.session_state.get(SEARCH):
            st.caption("No chat matches that.")
        for heading, group in group_by_day(chats, datetime.now(UTC), viewer_zone()):
            st.caption(heading)
            for chat in group:
                _line(page, chat, page.conversation.id)
