"""The reply view: a chat's reply streamed into the page, with the page drawn around it; the reply runs on the
server (core/chat/turn.py), so this run only watches it: leaving the page, a click, a reload or a dropped
connection detaches, and the next run that opens the chat attaches again. Only the app's Stop ends it.

The order is what keeps a reply fast and the page steady (see core/chat/turn.py and pacing.py): the provider is
asked first; the page waits out the turn's head start before drawing anything; what is above the reply is drawn
once the provider has answered or the head start is over; placeholders from the start, so nothing the last run
drew there lingers while the reply streams; Stop under the text; once the reply is saved for good the page runs
again, drawn as any chat is (the message box open again).
"""

from __future__ import annotations

from collections.abc import Iterator

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core.chat.attachments import Prompt
from core.chat.conversations import Message
from core.chat.stream import ReplyStream
from core.chat.turn import Turn
from core.chat.waiting import waiting_note
from core.errors import AppError
from ui.chat import address, attachments, menu, messages
from ui.chat.context import ChatPage
from ui.chat.header import frame, mode_now
from ui.chat.markdown import stream_markdown
from ui.chat.session import ChatSession, keep_responsive
from ui.chat.settings import settings_form
from ui.chat.sidebar import chat_list

STOPPED = "Stopped. What arrived is kept."


def stop_button(session: ChatSession, key: str) -> None:
    """Compare's Stop: its click ends the run, which ends the comparison (see `ChatSession.streaming`)."""
    st.button("Stop", key=key, icon=":material/stop_circle:", shortcut="Esc", on_click=session.notify, args=(STOPPED,))


def _stop(page: ChatPage, conversation_id: int | None) -> None:
    if page.services.chat.stop(page.user.id, conversation_id):
        page.session.notify(STOPPED)


def reply_stop_button(page: ChatPage, turn: Turn) -> None:
    """The chat's Stop: it ends the reply itself (leaving the page does not)."""
    st.button(
        "Stop",
        key="chat_stop",
        icon=":material/stop_circle:",
        shortcut="Esc",
        on_click=_stop,
        args=(page, turn.conversation_id),
    )


class WaitingNote:
    """What a reply waits for before its first text ("Waiting for OpenAI · 12 s", a retry, a hint when it takes
    long; a local model's place in this server's queue), kept up to date while it is quiet and cleared as its
    text arrives."""

    def __init__(self, reply: ReplyStream, slot: DeltaGenerator) -> None:
        self.reply, self.slot, self.shown = reply, slot, None

    def idle(self) -> None:
        keep_responsive()
        note = waiting_note(self.reply)
        if not note:
            self.clear()
        elif note != self.shown:  # the seconds change once a second: so does the caption
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


def sent_now(session: ChatSession) -> tuple[Prompt | None, bool]:
    """What this run is to send, read before anything is drawn: (the message just typed with its files, whether to
    regenerate)."""
    if mode_now() != "Chat":
        return None, False
    prompt = attachments.prompt_from(st.session_state.get("chat_input"))
    return prompt, session.take_request() == "regenerate" and not prompt


def start(page: ChatPage, prompt: Prompt | None) -> Turn:
    """Send the prompt (or regenerate the last reply) with the picked model: the provider starts answering now.

    A prompt refused before anything was sent (a file over a limit, an image for a model that takes none) puts its
    text back in the message box (the box is drawn later in the run), so nothing typed is lost.
    """
    chat, user_id, model_ref = page.services.chat, page.user.id, page.picker.chosen()
    if prompt is None:
        return chat.regenerate(user_id, page.conversation, model_ref)
    try:
        return chat.send(user_id, page.conversation, prompt, model_ref, on_saved=page.session.open)
    except AppError:
        st.session_state["chat_input"] = prompt.text
        raise


def running(page: ChatPage) -> Turn | None:
    """The reply streaming in the open chat (started by any run or tab of the user's), in Chat mode."""
    if mode_now() != "Chat":
        return None
    return page.services.chat.running(page.user.id, page.conversation.id)


def attach(page: ChatPage, turn: Turn, refused: AppError | None = None) -> None:
    """Show the chat with its running reply, as far as it has come and growing (`refused`: a message this run
    was to send, which waits for the reply)."""
    if refused is not None:
        page.session.notify(str(refused))
    history = [message for message in page.conversation.messages if message.id != turn.reply_id]
    stream(page, turn, None, history)


def stream(page: ChatPage, turn: Turn, prompt: Prompt | str | None, history: list[Message]) -> None:
    """Watch the reply in the page: what is above it is drawn once the provider has had its head start; once the
    reply is saved for good the page runs again. A click meanwhile ends this run, never the reply."""
    conversation = page.conversation
    turn.head_start()
    above = st.container()
    assistant = st.chat_message("assistant")
    # Placeholders from the start, so that nothing the last run drew there lingers while the reply streams.
    wait_slot, text_slot, stop_slot = assistant.empty(), assistant.empty(), assistant.empty()
    waiting = WaitingNote(turn.reply, wait_slot)

    def draw_the_rest() -> None:
        address.publish(page.session)  # a new chat's first message is saved now: reload lands on it
        frame(page, above, replying=True)
        with above:
            settings_form(page, conversation)
            if conversation.id is not None and history:  # the menu's place, kept while the reply streams
                menu.stand_in(conversation)
            messages.history(page, conversation, history)
            if prompt:  # saved by now, with its files: the conversation's last message
                messages.render(conversation.messages[-1], page, conversation)
        chat_list(page)
        with stop_slot:
            reply_stop_button(page, turn)

    stream_markdown(text_slot, waiting.until_text(turn.batches(on_idle=waiting.idle, then=draw_the_rest)))
    st.rerun()  # the reply is saved: drawn as any chat is, the message box open again


def failed(prompt: Prompt | None, failure: AppError) -> None:
    """A reply that could not start (the message was refused before anything was sent): the message and the files
    that were not sent, the reason."""
    if prompt:
        with st.chat_message("user"):
            if prompt.text:
                st.markdown(prompt.text)
            attachments.show_unsent(prompt)
    with st.chat_message("assistant"):
        st.error(str(failure))
