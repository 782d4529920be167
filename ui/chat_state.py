"""Chat's per-user session state: the open conversation, the model to select, the reply in flight, notices."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import streamlit as st

from core.accounts.users import UserPublic
from core.chat.conversations import Conversation, ConversationNotFound
from core.services import Services
from ui.state import user_state

CHAT_PAGE = "pages/chat.py"


class Finishable(Protocol):
    """A reply (or comparison) streaming into the page; `finish()` stops and keeps it, once."""

    def finish(self) -> Any: ...


def _key(user: UserPublic, name: str) -> str:
    return f"{name}:{user.id}"


def open_chat_with(user: UserPublic, model_ref: str) -> None:
    """Open Chat with `model_ref` selected (for a Chat button elsewhere, e.g. on Models)."""
    st.session_state[_key(user, "chat_open_with")] = model_ref
    st.switch_page(CHAT_PAGE)


def take_requested_model(user: UserPublic) -> str | None:
    """The model another page asked Chat to select, once."""
    return st.session_state.pop(_key(user, "chat_open_with"), None)


def current_conversation(services: Services, user: UserPublic) -> Conversation:
    """The conversation the user has open: a saved one, or the new chat they have not sent anything in yet."""
    conversation_id = st.session_state.get(_key(user, "chat_current"))
    draft = st.session_state.get(_key(user, "chat_draft"))
    if conversation_id is None and draft is not None and draft.id is not None:
        # Its first message was saved by a reply whose run ended before it could open the chat (a click, Stop).
        open_conversation(user, draft.id)
        conversation_id = draft.id
    if conversation_id is not None:
        try:
            return services.conversations.get(user.id, conversation_id)
        except ConversationNotFound as gone:
            notify(user, str(gone))
            st.session_state.pop(_key(user, "chat_current"), None)
    return user_state(user, "chat_draft", Conversation())


def open_conversation(user: UserPublic, conversation_id: int | None) -> None:
    """Switch to a saved conversation (None: a new chat)."""
    st.session_state[_key(user, "chat_current")] = conversation_id
    st.session_state.pop(_key(user, "chat_confirm_delete"), None)
    st.session_state.pop(_key(user, "chat_draft"), None)


def request(user: UserPublic, action: str) -> None:
    """Button callback: remember an action (e.g. regenerate) for the run the click starts."""
    st.session_state[_key(user, "chat_action")] = action


def take_request(user: UserPublic) -> str | None:
    return st.session_state.pop(_key(user, "chat_action"), None)


def notify(user: UserPublic, text: str) -> None:
    """A confirmation to show as a toast on the next run (callbacks run before the page draws)."""
    user_state(user, "chat_notices", []).append(text)


def show_notices(user: UserPublic) -> None:
    for text in st.session_state.pop(_key(user, "chat_notices"), []):
        st.toast(text)


def settle_in_flight(user: UserPublic) -> None:
    """Keep a reply an interrupted run left streaming (a click such as Stop starts a new run at once)."""
    work = st.session_state.pop(_key(user, "chat_in_flight"), None)
    if work is not None:
        work.finish()


@contextmanager
def in_flight(user: UserPublic, work: Finishable) -> Iterator[Finishable]:
    """Stream `work` into the page; however the run ends (done, Stop, another click), it is finished and kept.

    A click during the stream ends this run at its next Streamlit call; `finish()` then runs here, before any
    other Streamlit call, and the next run's `settle_in_flight` covers a run stopped before reaching it.
    """
    key = _key(user, "chat_in_flight")
    st.session_state[key] = work
    try:
        yield work
    finally:
        work.finish()
        if st.session_state.get(key) is work:
            del st.session_state[key]


def keep_responsive() -> None:
    """Called while a reply is quiet: reading session state is a point where Streamlit acts on a click (Stop)."""
    st.session_state.get("chat_stop")
