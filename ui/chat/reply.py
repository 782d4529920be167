"""The reply view: a turn started before anything is drawn, streamed into the page with the page drawn around it.

The order is what keeps a reply fast and the page steady (see core/chat/turn.py and pacing.py): the provider is
asked first; the page waits out the turn's head start before drawing anything; what is above the reply is drawn
once the provider has answered or the head start is over, what is below once the reply has ended; placeholders
from the start, so nothing the last run drew there lingers while the reply streams; Stop under the text.
"""

from __future__ import annotations

from collections.abc import Iterator

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core.chat.conversations import ConversationNotFound, Message
from core.chat.stream import ReplyStream
from core.chat.turn import Turn
from core.errors import AppError
from ui.chat import menu, messages
from ui.chat.context import ChatPage
from ui.chat.header import frame, mode_now
from ui.chat.markdown import stream_markdown
from ui.chat.session import ChatSession, keep_responsive
from ui.chat.settings import settings_form
from ui.chat.sidebar import chat_list

STOPPED = "Stopped. What arrived is kept."


def stop_button(session: ChatSession, key: str) -> None:
    st.button("Stop", key=key, icon=":material/stop_circle:", shortcut="Esc", on_click=session.notify, args=(STOPPED,))


class WaitingNote:
    """What a reply waits for before its first text (its place in this server's queue for a local model), kept
    up to date while it is quiet and cleared as its text arrives."""

    def __init__(self, reply: ReplyStream, slot: DeltaGenerator) -> None:
        self.reply, self.slot, self.shown = reply, slot, None

    def idle(self) -> None:
        keep_responsive()
        note = self.reply.waiting()
        if not note:
            self.clear()
        elif note != self.shown:
            self.shown = note
            self.slot.caption(note)

    def until_text(self, batches: Iterator[str]) -> Iterator[str]:
        for text in batches:
            self.clear()
            yield text
        self.clear()  # a reply that ended without text (stopped, failed) waits for nothing now

    def clear(self) -> None:
        if self.shown:
            self.shown = None
            self.slot.empty()


def sent_now(session: ChatSession) -> tuple[str | None, bool]:
    """What this run is to send, read before anything is drawn: (the message just typed, whether to regenerate)."""
    if mode_now() != "Chat":
        return None, False
    prompt = st.session_state.get("chat_input") or None
    return prompt, session.take_request() == "regenerate" and not prompt


def start(page: ChatPage, prompt: str | None) -> Turn:
    """Send the prompt (or regenerate the last reply) with the picked model: the provider starts answering now."""
    chat, user_id, model_ref = page.services.chat, page.user.id, page.picker.chosen()
    if prompt is None:
        return chat.regenerate(user_id, page.conversation, model_ref)
    return chat.send(user_id, page.conversation, prompt, model_ref, on_saved=page.session.open)


def stream(page: ChatPage, turn: Turn, prompt: str | None, history: list[Message]) -> None:
    """Stream the reply into the page: what is above it is drawn once the provider has had its head start, what
    is below once it has ended (so the run draws each element once; a click meanwhile ends it, see `streaming`)."""
    conversation = page.conversation
    with page.session.streaming(turn):
        turn.head_start()
        above = st.container()
        assistant = st.chat_message("assistant")
        # Placeholders from the start, so that nothing the last run drew there lingers while the reply streams; Stop
        # sits under the text until the reply's details take its place.
        wait_slot, text_slot, details_slot = assistant.empty(), assistant.empty(), assistant.empty()
        waiting = WaitingNote(turn.reply, wait_slot)
        menu_slot: DeltaGenerator | None = None  # in `above`, for the chat's menu, once its exports hold the reply
        below: tuple[DeltaGenerator, ...] = ()  # for Regenerate and the chat's totals

        def draw_the_rest() -> None:
            nonlocal menu_slot, below
            below = (st.empty(), st.empty())
            frame(page, above)
            with above:
                settings_form(page, conversation)
                menu_slot = st.empty()
                if conversation.id is not None and history:  # the menu's place, kept while the reply streams
                    menu_slot.expander(menu.label(conversation))
                for message in history:
                    messages.render(message)
                if prompt:
                    messages.render(Message(role="user", content=prompt))
            chat_list(page)
            with details_slot:
                stop_button(page.session, "chat_stop")

        stream_markdown(text_slot, waiting.until_text(turn.batches(on_idle=waiting.idle, then=draw_the_rest)))
        reply = turn.finish()
    with details_slot.container():
        messages.details(reply)
    try:
        chat = page.services.conversations.get(page.user.id, turn.save_prompt())  # as saved, the reply in it
    except ConversationNotFound:  # deleted in another tab meanwhile: the next run says so
        return
    assert menu_slot is not None and below  # drawn by `batches`, at the latest as the reply ends
    with menu_slot.container():
        menu.manage(page, chat)
    messages.closing(page.session, chat.messages, places=below)


def failed(prompt: str | None, failure: AppError) -> None:
    """A reply that could not start (the message was refused before anything was sent): the message, the reason."""
    if prompt:
        messages.render(Message(role="user", content=prompt))
    with st.chat_message("assistant"):
        st.error(str(failure))
