"""A chat's messages: those drawn (a long chat's last page, "Show older messages" above it), a message and its
details (stopped, error and where to fix it, model and usage), what can be done with it (ui/chat/actions.py: copy,
edit, versions), and what closes the list (Regenerate, the chat's totals, which leave a failed reply out)."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core.chat.attachments import attachments_of
from core.chat.conversations import Conversation, Message
from core.chat.export import describe_reply, describe_usage
from core.chat.usage import ConversationUsage
from core.providers.failures import fixed_on_profile
from ui.chat import actions, attachments
from ui.chat.context import ChatPage
from ui.chat.markdown import reply_markdown
from ui.chat.session import ChatSession


def render(message: Message, page: ChatPage | None = None, conversation: Conversation | None = None) -> None:
    """A message; shown in a saved `conversation` on the `page`, with what can be done with it (or its edit box)."""
    with st.chat_message(message.role):
        if page is not None and message.id is not None and page.session.editing == message.id:
            actions.edit_box(page, message)
            return
        if message.content:
            reply_markdown(message.content)  # a pasted message's links are checked too
        attachments.show(attachments_of(message))
        details(message)
        if page is not None and conversation is not None:
            actions.row(page, conversation, message)


def history(page: ChatPage, conversation: Conversation, shown: Sequence[Message]) -> None:
    """The messages `shown` of a saved `conversation`, under "Show older messages" where it has earlier ones."""
    if conversation.earlier:
        st.button(
            f"Show older messages ({conversation.earlier:,} more)",
            key="chat_older",
            icon=":material/expand_less:",
            type="tertiary",
            on_click=page.session.show_older,
        )
    for message in shown:
        render(message, page, conversation)


def details(message: Message) -> None:
    """What follows a message's text: that it was stopped, its error (and where to fix it), model and usage."""
    if message.interrupted and not message.content and not message.error:
        st.caption("Stopped before any text arrived.")
    if message.error:
        st.error(message.error)
        if fixed_on_profile(message.error_kind, message.model):
            st.page_link("pages/profile.py", label="Open Profile → Provider Keys", icon=":material/key:")
    if message.role == "assistant" and message.model:
        st.caption(describe_reply(message))


def closing(
    session: ChatSession,
    history: list[Message],
    regenerate: bool = True,
    places: Sequence[DeltaGenerator] = (),
    earlier: ConversationUsage | None = None,
) -> None:
    """Under the last message: Regenerate (after a reply) and the chat's totals (in `places`, if given), `earlier`
    those of the messages before `history` (a long chat's older ones, not drawn)."""
    regenerate_place, totals_place = places or (st, st)
    if regenerate and history and history[-1].role == "assistant":
        regenerate_place.button(
            "Regenerate",
            key="chat_regenerate",
            icon=":material/refresh:",
            on_click=session.request,
            args=("regenerate",),
        )
    if history:
        totals_place.caption(describe_usage(Conversation(messages=history, earlier_usage=earlier).usage()))
