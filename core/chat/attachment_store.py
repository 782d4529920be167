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
from core.chat.paging import PAGE_SIZE, PagedConversationStore
from core.db.engine import session
from core.db.tables import ChatAttachment, ChatConversation, ChatMessage


def _attachment(row: ChatAttachment) -> Attachment:
    return Attachment(row.name, row.media_type, row.size, text=row.text, data=row.data, id=row.id)


class ConversationStoreWithAttachments(PagedConversationStore):
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
        return self._with_files(user_id, super().get(user_id, conversation_id), None)

    def page(
        self, user_id: int, conversation_id: int, before: int | None = None, limit: int = PAGE_SIZE
    ) -> Conversation:
        """A page of the conversation (see core/chat/paging.py), its messages with their attachments."""
        conversation = super().page(user_id, conversation_id, before, limit)
        return self._with_files(user_id, conversation, [m.id for m in conversation.messages if m.id is not None])

    def _with_files(self, user_id: int, conversation: Conversation, among: Sequence[int] | None) -> Conversation:
        assert conversation.id is not None  # read from the table
        files = self.attachments(user_id, conversation.id, among)
        conversation.messages = [attached(m, files.get(m.id or 0, ())) for m in conversation.messages]
        return conversation

    def attachments(
        self, user_id: int, conversation_id: int, among: Sequence[int] | None = None
    ) -> dict[int, list[Attachment]]:
        """The attachments of a conversation of the user's (of its messages `among`, when given), by message id, in
        the order they were attached; nothing for a conversation that is not theirs."""
        statement = (
            select(ChatAttachment)
            .join(ChatMessage, col(ChatMessage.id) == col(ChatAttachment.message_id))
            .join(ChatConversation, col(ChatConversation.id) == col(ChatMessage.conversation_id))
            .where(col(ChatConversation.id) == conversation_id, col(ChatConversation.user_id) == user_id)
        )
        if among is not None:
            statement = statement.where(col(ChatAttachment.message_id).in_(among))
        with session(self._engine) as db:
            rows = db.exec(statement.order_by(col(ChatAttachment.id))).all()
        found: dict[int, list[Attachment]] = defaultdict(list)
        for row in rows:
            found[row.message_id].append(_attachment(row))
        return dict(found)
