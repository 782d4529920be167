"""What a person can do with a saved message: copy a reply, edit their own message (the chat goes on from the
edit), and flip between the versions of a turn ("‹ 2 / 3 ›", see core/chat/versions.py)."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import streamlit as st

from core.chat.conversations import Conversation, Message
from core.chat.service import ChatService
from core.chat.turn import Turn
from core.errors import AppError
from ui.chat.context import ChatPage
from ui.chat.session import ChatSession

# Streamlit has no copy API. This button copies with the browser's clipboard. The reply reaches the page only as
# base64 (letters, digits, + / =), decoded by the script: no text a model wrote is ever read as HTML or script.
COPY_BUTTON = """<button type="button" class="chat-copy" aria-label="Copy the reply" title="Copy the reply"
 style="border: none; background: none; padding: 0.1rem 0.25rem; cursor: pointer; color: inherit; opacity: 0.7;
 font: inherit; font-size: 0.875rem;">⧉ Copy</button>
<script>
(() => {
  const button = document.currentScript.previousElementSibling;
  const bytes = Uint8Array.from(atob("%s"), (c) => c.charCodeAt(0));
  const text = new TextDecoder().decode(bytes);
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "✓ Copied";
    } catch (error) {
      button.textContent = "Copy failed: the browser refused the clipboard";
    }
    setTimeout(() => { button.textContent = "⧉ Copy"; }, 2000);
  });
})();
</script>"""


def copy_button(text: str) -> None:
    """One click copies `text` (a reply's Markdown source) to the clipboard."""
    encoded = base64.b64encode(text.encode()).decode("ascii")
    st.html(COPY_BUTTON % encoded, width="content", unsafe_allow_javascript=True)


def show_version(chat: ChatService, user_id: int, conversation: Conversation, message_id: int) -> None:
    """Button callback: show another version of a turn (and what follows it), from now on."""
    chat.show_version(user_id, conversation, message_id)


def row(page: ChatPage, conversation: Conversation, message: Message) -> None:
    """Under a saved message: Copy (a reply), Edit (the user's own), and ‹ n / m › where its turn has others."""
    if message.id is None:
        return
    versions = conversation.versions.get(message.id)
    with st.container(horizontal=True, gap="small", vertical_alignment="center"):
        if message.role == "assistant" and message.content:
            copy_button(message.content)
        if message.role == "user":
            edit = f"chat_edit:{message.id}"
            st.button(
                "Edit",
                key=edit,
                icon=":material/edit:",
                type="tertiary",
                on_click=page.session.edit,
                args=(message.id,),
            )
        if versions is not None:
            flip = (page.services.chat, page.user.id, conversation)
            back, on = f"chat_version_back:{message.id}", f"chat_version_on:{message.id}"
            earlier, later = versions.previous, versions.next
            st.button(
                "‹", key=back, type="tertiary", disabled=earlier is None, on_click=show_version, args=(*flip, earlier)
            )
            st.caption(versions.label)
            st.button("›", key=on, type="tertiary", disabled=later is None, on_click=show_version, args=(*flip, later))


def edit_box(page: ChatPage, message: Message) -> None:
    """The user's message as an editable text with Save (sends it as a new version) and Cancel."""
    assert message.id is not None  # only a saved message has an edit button
    st.text_area("Edit your message", value=message.content, key=f"chat_edit_text:{message.id}", height=120)
    if page.session.edit_error:
        st.error(page.session.edit_error)
    with st.container(horizontal=True, gap="small"):
        st.button(
            "Save and send",
            key=f"chat_edit_save:{message.id}",
            type="primary",
            on_click=page.session.request,
            args=("edit",),
        )
        st.button("Cancel", key=f"chat_edit_cancel:{message.id}", on_click=page.session.edit, args=(None,))


@dataclass(frozen=True)
class Edit:
    """An edit saved: the message it is a new version of, and the text as typed."""

    message_id: int
    text: str


def edit_now(session: ChatSession) -> Edit | None:
    """The edit this run is to send (Save was clicked), read before anything is drawn."""
    if session.action != "edit" or session.editing is None:
        return None
    session.take_request()
    return Edit(session.editing, st.session_state.get(f"chat_edit_text:{session.editing}") or "")


def start_edit(page: ChatPage, edit: Edit) -> Turn | None:
    """Send the edited message with the picked model (the page's conversation now ends before it); None when it
    is refused (empty, too long): the reason is shown at its box, which stays open, and nothing changes."""
    try:
        turn = page.services.chat.edit(
            page.user.id, page.conversation, edit.message_id, edit.text, page.picker.chosen()
        )
    except AppError as refused:
        page.session.edit_error = str(refused)
        return None
    page.session.edit(None)
    return turn
