"""Saved conversations with their messages' attachments: a user's message and its files are saved in one
transaction, read back with the conversation, and deleted with the message (the database cascades it from the
chat and from the user). Every read goes through the conversation's owner, as the conversation store's do."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from sqlmodel import Session, col, select

from core.chat.attachments import AttachedMessage, Attachment, attached, attachments_of
from core.chat.conversations import Conversation, ConversationStore, Message
from core.db.engine import session
from core.db.tables import ChatAttachment, ChatConversation, ChatMessage


def _attachment(row: ChatAttachment) -> Attachment:
    return Attachment(row.name, row.media_type, row.size, text=row.text, data=row.data, id=row.id)


class ConversationStoreWithAttachments(ConversationStore):
    """The conversation store, each user message's attachments kept with it (see `AttachedMessage`)."""

    @classmethod
    def _append_all(
        cls, db: Session, conversation: ChatConversation, messages: Sequence[Message], parent_id: int | None
    ) -> Sequence[Message]:
        """The conversation store's append (in the caller's transaction), then each message's attachments."""
        saved = ConversationStore._append_all(db, conversation, messages, parent_id)
        return [cls._attach(db, message, row) for message, row in zip(messages, saved, strict=True)]

    @staticmethod
    def _attach(db: Session, message: Message, saved: Message) -> Message:
        """Add the attachments of `message` (saved as `saved`) to the session; the saved message with them."""
        files = attachments_of(message)
        if not files:
            return saved
        assert saved.id is not None  # flushed by the append
        rows = [
            ChatAttachment(
                message_id=saved.id, name=f.name, media_type=f.media_type, size=f.size, text=f.text, data=f.data
            )
            for f in files
        ]
        db.add_all(rows)
        db.flush()  # their ids
        assert isinstance(saved, AttachedMessage)  # `replace` keeps the message's class
        return replace(saved, attachments=tuple(_attachment(row) for row in rows))

    def get(self, user_id: int, conversation_id: int) -> Conversation:
        """The conversation with its messages in order, each with its attachments; ConversationNotFound when it is
        not the user's."""
        conversation = super().get(user_id, conversation_id)
        files = self.attachments(user_id, conversation_id)
        conversation.messages = [attached(m, files.get(m.id or 0, ())) for m in conversation.messages]
        return conversation

    def attachments(self, user_id: int, conversation_id: int) -> dict[int, list[Attachment]]:
        """The attachments of a conversation of the user's, by message id, in the order they were attached; nothing
        for a conversation that is not theirs."""
        with session(self._engine) as db:
            rows = db.exec(
                select(ChatAttachment)
                .join(ChatMessage, col(ChatMessage.id) == col(ChatAttachment.message_id))
                .join(ChatConversation, col(ChatConversation.id) == col(ChatMessage.conversation_id))
                .where(col(ChatConversation.id) == conversation_id, col(ChatConversation.user_id) == user_id)
                .order_by(col(ChatAttachment.id))
            ).all()
        found: dict[int, list[Attachment]] = defaultdict(list)
        for row in rows:
            found[row.message_id].append(_attachment(row))
        return dict(found)
