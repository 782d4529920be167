"""What one Chat run knows, handed to each part of the page: the user, the services, their chat session, the
picker and the conversation open."""

from __future__ import annotations

from dataclasses import dataclass

from core.accounts.users import UserPublic
from core.chat.conversations import Conversation
from core.services import Services
from ui.chat.picker import Picker
from ui.chat.session import ChatSession


@dataclass(frozen=True)
class ChatPage:
    user: UserPublic
    services: Services
    session: ChatSession
    picker: Picker
    conversation: Conversation  # its id is set while the run goes on when a reply saves a new chat's message
