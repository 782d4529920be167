"""Chat's address: `?chat=<id>` names the chat open, `?model=<ref>` a new chat with that model picked.

The address is read on every run and written whenever what is open changes, so that a reload, back and forward,
a bookmark or a new tab land on the same chat. An id in it is only ever looked up among the signed-in user's own
chats (never trusted for who is signed in): another user's id, or one that is not a number, opens the new chat
with a notice, and nothing of anyone else's.

An address naming no chat keeps the chat the session has open (the page list's Chat entry drops the address).

A change made by the page (a click, a new chat's first message saved) shows as a difference between the session
and the address it last wrote; a change made by the browser (a typed or bookmarked address, back and forward) as
an address other than that one.
"""

from __future__ import annotations

import streamlit as st

from core.chat.conversations import ConversationNotFound
from core.services import Services
from ui.chat.session import ChatSession

CHAT_PAGE = "pages/chat.py"
CHAT, MODEL = "chat", "model"
NOT_FOUND = "That chat was not found. It may have been deleted, or the link is not yours. A new chat is open."

Address = dict[str, str]


def _in_the_url() -> Address:
    return {name: st.query_params[name] for name in (CHAT, MODEL) if name in st.query_params}


def _owned_id(services: Services, user_id: int, value: str) -> int | None:
    """The id `value` names when it is one of the user's chats, else None."""
    if not value.isdigit() or len(value) > 18:
        return None
    try:
        services.conversations.page(user_id, int(value), limit=1)  # the owner's check, not the whole chat
    except ConversationNotFound:
        return None
    return int(value)


def follow(session: ChatSession, services: Services) -> None:
    """Open what the browser's address names, when the browser changed it (read before anything is drawn)."""
    named = _in_the_url()
    if named == session.address:
        return  # the address is the one the page wrote: the session (a click's callback) decides
    session.address = named
    if CHAT in named:
        chat_id = _owned_id(services, session.user_id, named[CHAT])
        session.open(chat_id)
        if chat_id is None:
            session.notify(NOT_FOUND)
    elif MODEL in named:
        session.open(None)
    # No chat named (Chat's entry in the page list, a bare /chat): the chat this session had open stays open, and
    # `publish` writes its address: going to Models and back never leaves the chat (or its running reply).
    if MODEL in named and CHAT not in named:
        session.requested_model = session.asked_model = named[MODEL]


def wanted(session: ChatSession) -> Address:
    """The address of what is open: the saved chat, else the new chat (with the model it was asked for)."""
    if session.conversation_id is not None:
        return {CHAT: str(session.conversation_id)}
    return {MODEL: session.asked_model} if session.asked_model else {}


def publish(session: ChatSession) -> None:
    """Write the address of what is open, if it changed (the browser adds it to its history)."""
    address = wanted(session)
    if address != session.address:
        session.address = address
        st.query_params.from_dict(address)  # one message to the browser, whatever changed


def open_chat_with(model_ref: str) -> None:
    """Go to Chat, a new chat with `model_ref` picked (for a Chat button elsewhere, e.g. on Models)."""
    st.switch_page(CHAT_PAGE, query_params={MODEL: model_ref})
