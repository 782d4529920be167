"""Chat's state for one signed-in user, kept between runs: one typed object in session state instead of many keys."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import streamlit as st

from core.accounts.users import UserPublic
from core.chat.compare import Comparison
from core.chat.conversations import Conversation, ConversationNotFound
from core.chat.paging import PAGE_SIZE, above
from core.services import Services


class Finishable(Protocol):
    """A comparison streaming into the page; `finish()` stops and keeps it, once."""

    def finish(self) -> Any: ...


@dataclass
class ChatSession:
    """What Chat remembers for one user across runs and page visits (keyed by their id: a later sign-in in the same
    browser never sees it). Callbacks change it before the page draws; the page reads it."""

    user_id: int
    conversation_id: int | None = None  # the saved conversation open; None: the draft (a new chat)
    older: int = 0  # messages drawn above its last page (each "Show older messages" adds a page; 0 when opened)
    draft: Conversation | None = None  # the new chat, until its first message is saved
    model: str | None = None  # the picker's choice, remembered (widget values are dropped on leaving the page)
    typed_model: str | None = None  # the last ID typed that is none of the catalog's, kept in the picker's list
    requested_model: str | None = None  # the model the address asked the picker to select, until it has
    asked_model: str | None = None  # the model the address asked this new chat for (kept in it, see address.py)
    address: dict[str, str] = field(default_factory=dict)  # the address last read or written (see address.py)
    compare_picks: list[str] = field(default_factory=list)  # the models last picked to compare
    comparison: Comparison | None = None  # the last comparison, shown (and finished) by the runs after it
    notices: list[str] = field(default_factory=list)  # toasts for the next run (callbacks run before it draws)
    in_flight: Finishable | None = None  # a comparison streaming into a run that may be interrupted
    action: str | None = None  # a button's request for the run its click starts (e.g. "regenerate", "edit")
    editing: int | None = None  # the user's message whose edit box is open
    edit_error: str | None = None  # why the last edit saved was refused, shown at its box
    confirm_delete: int | None = None  # the conversation whose Delete was clicked once
    rename_errors: dict[int, str] = field(default_factory=dict)  # a refused title, by conversation

    @staticmethod
    def key(user_id: int) -> str:
        return f"chat_session:{user_id}"

    @classmethod
    def of(cls, user: UserPublic) -> ChatSession:
        """The user's chat session, made on first use."""
        key = cls.key(user.id)
        found = st.session_state.get(key)
        if not isinstance(found, cls):
            found = st.session_state[key] = cls(user_id=user.id)
        return found

    def conversation(self, services: Services) -> Conversation:
        """The conversation the user has open: a saved one, or the new chat they have not sent anything in yet."""
        if self.conversation_id is None and self.draft is not None and self.draft.id is not None:
            # Its first message was saved by a reply whose run ended before it could open the chat (a click, Stop).
            self.open(self.draft.id)
        if self.conversation_id is not None:
            try:
                return self._shown(services, self.conversation_id)
            except ConversationNotFound as gone:
                self.notify(str(gone))
                self.conversation_id = None
        if self.draft is None:  # a new chat starts with the user's defaults (Profile → New chat defaults)
            self.draft = Conversation(settings=services.chat_defaults.get(self.user_id))
        return self.draft

    def _shown(self, services: Services, conversation_id: int) -> Conversation:
        """The saved conversation's last page (core/chat/paging.py), under the `older` messages asked for."""
        last = services.conversations.page(self.user_id, conversation_id)
        if not self.older or not last.earlier:
            return last
        first = last.messages[0].id
        return above(services.conversations.page(self.user_id, conversation_id, first, self.older), last)

    def show_older(self) -> None:
        """Button callback: draw the page before the messages shown, above them."""
        self.older += PAGE_SIZE

    def open(self, conversation_id: int | None) -> None:
        """Switch to a saved conversation (None: a new chat), its last page shown; also a button callback."""
        self.conversation_id, self.older = conversation_id, 0
        self.confirm_delete = None
        self.draft = None
        self.asked_model = None
        self.edit(None)

    def edit(self, message_id: int | None) -> None:
        """Open the edit box of the user's message `message_id` (None: close it); also a button callback."""
        self.editing, self.edit_error = message_id, None

    def take_requested_model(self) -> str | None:
        """The model the address asked Chat to select, once."""
        requested, self.requested_model = self.requested_model, None
        return requested

    def request(self, action: str) -> None:
        """Button callback: remember an action (e.g. regenerate) for the run the click starts."""
        self.action = action

    def take_request(self) -> str | None:
        action, self.action = self.action, None
        return action

    def notify(self, text: str) -> None:
        """A confirmation to show as a toast on the next run; also a button callback."""
        self.notices.append(text)

    def show_notices(self) -> None:
        notices, self.notices = self.notices, []
        for text in notices:
            st.toast(text)

    def settle_in_flight(self) -> None:
        """Repair what a run that was stopped mid-stream left: the comparison it streamed is finished and kept.

        (A chat's reply is not the session's: it streams on whoever watches, and the next run attaches to it.)
        """
        work, self.in_flight = self.in_flight, None
        if work is not None:
            work.finish()

    @contextmanager
    def streaming(self, work: Finishable) -> Iterator[Finishable]:
        """Stream `work` into the page; however the run ends (done, Stop, another click), it is finished and kept.

        A click during the stream ends this run at its next Streamlit call; `finish()` then runs here, before any
        other Streamlit call, and the next run's `settle_in_flight` covers a run stopped before reaching it.
        """
        self.in_flight = work
        try:
            yield work
        finally:
            work.finish()
            if self.in_flight is work:
                self.in_flight = None


def keep_responsive() -> None:
    """Called while a reply is quiet: reading session state is a point where Streamlit acts on a click (Stop)."""
    st.session_state.get("chat_stop")
