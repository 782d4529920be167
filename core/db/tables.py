"""The database tables. Only the table models hold secrets (as ciphertext); pages see public views."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db.types import UTCDateTime, utcnow


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, max_length=64)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    password_hash: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Credential(SQLModel, table=True):
    """One provider credential of one user; every field value lives in `ciphertext`."""

    __table_args__ = (UniqueConstraint("user_id", "provider"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("user.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    provider: str = Field(max_length=32)
    ciphertext: str
    key_id: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CredentialStatus(SQLModel, table=True):
    """What the app last learned about a credential: its key test and its last use in a chat (nothing secret)."""

    __tablename__ = "credential_status"

    credential_id: int = Field(
        sa_column=Column(Integer, ForeignKey("credential.id", ondelete="CASCADE"), primary_key=True)
    )
    tested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    test_result: str | None = Field(default=None, max_length=32)
    test_detail: str | None = Field(default=None, max_length=500)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = Field(default=None, max_length=500)


class Setting(SQLModel, table=True):
    """Non-secret facts about the deployment, e.g. the fingerprint of the master key rows were written with."""

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=500)


class SignInSession(SQLModel, table=True):
    """One signed-in browser: the cookie holds a random token, the database only its SHA-256.

    Ending a session deletes its row, so the cookie stops working at once on every app process. `handoff_hash`
    is a one-time code (valid for a minute) that the browser trades at `/auth/session` for the cookie itself,
    which the server sets HttpOnly: the token never passes through the page or its scripts.
    """

    __tablename__ = "sign_in_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("user.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    token_hash: str | None = Field(default=None, max_length=64, unique=True, index=True)
    handoff_hash: str | None = Field(default=None, max_length=64, unique=True, index=True)
    handoff_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    user_agent: str = Field(default="", max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class SignInFailure(SQLModel, table=True):
    """Failed sign-ins per user name (existing or not), to slow down password guessing."""

    __tablename__ = "sign_in_failure"

    username: str = Field(primary_key=True, max_length=200)
    failures: int = 0
    last_failure_at: datetime = Field(default_factory=utcnow, index=True, sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ModelListing(SQLModel, table=True):
    """The models a provider last listed for one saved credential (public data); dropped with the credential.

    `models` holds the last successful listing (JSON); a failed attempt keeps it, as the baseline the next
    listing's new and dropped models are found against, and records its user-safe `error`.
    """

    __tablename__ = "model_listing"

    credential_id: int = Field(
        sa_column=Column(Integer, ForeignKey("credential.id", ondelete="CASCADE"), primary_key=True)
    )
    credential_updated_at: datetime = Field(sa_type=UTCDateTime)
    models: str = "[]"
    new_ids: str = "[]"
    dropped_ids: str = "[]"
    refreshed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    error: str | None = Field(default=None, max_length=500)
    error_kind: str | None = Field(default=None, max_length=32)


class Deployment(SQLModel, table=True):
    """A deployment name a user added for their resource (Azure); dropped with the credential it belongs to."""

    __table_args__ = (UniqueConstraint("credential_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    credential_id: int = Field(
        sa_column=Column(Integer, ForeignKey("credential.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    name: str = Field(max_length=64)
    added_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ChatConversation(SQLModel, table=True):
    """One user's conversation with its per-chat generation settings; deleted with its user."""

    __tablename__ = "chat_conversation"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("user.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    title: str = Field(default="", max_length=200)
    system_prompt: str = ""
    temperature: float | None = None
    max_tokens: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, index=True, sa_type=UTCDateTime)


class ChatDefaults(SQLModel, table=True):
    """One user's settings for a new chat (a chat's own settings then override them); deleted with the user."""

    __tablename__ = "chat_defaults"

    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, nullable=False)
    )
    system_prompt: str = ""
    temperature: float | None = None
    max_tokens: int | None = None  # None: the model's own output limit
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ChatMessage(SQLModel, table=True):
    """A message of a conversation; an assistant message records the model that wrote it and what it cost.

    `parent_id` is the message it follows (None: the first). Messages that follow the same one are the versions
    of one turn (a regenerated reply, an edited message), `active` marking the one shown (core/chat/versions.py).
    The index on (conversation_id, parent_id, active, id) finds a turn's versions and its shown one: the walk down a
    chat's active path in SQL.
    """

    __tablename__ = "chat_message"
    # The walk of the active path reads each step off this index (migration 0008).
    __table_args__ = (Index("ix_chat_message_shown", "conversation_id", "parent_id", "active", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(
        sa_column=Column(Integer, ForeignKey("chat_conversation.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    role: str = Field(max_length=16)
    content: str = ""
    model: str | None = Field(default=None, max_length=200)
    error: str | None = None
    error_kind: str | None = Field(default=None, max_length=32)
    interrupted: bool = False
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    parent_id: int | None = None  # a message of the same conversation, deleted with it: no foreign key needed
    active: bool = True


class ChatAttachment(SQLModel, table=True):
    """A file attached to a user's message, kept with it (and deleted with it, its chat, its user): a text file's
    or PDF's text (`text`, what later turns send again), an image's bytes (`data`); `size` is the file's own."""

    __tablename__ = "chat_attachment"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(
        sa_column=Column(Integer, ForeignKey("chat_message.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    name: str = Field(max_length=200)
    media_type: str = Field(max_length=100)
    size: int
    text: str | None = None
    data: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LocalModel(SQLModel, table=True):
    """A model downloaded from Hugging Face into the models folder: one copy per repo, whoever downloaded it."""

    __tablename__ = "local_model"

    id: int | None = Field(default=None, primary_key=True)
    repo_id: str = Field(max_length=200, unique=True, index=True)
    folder: str = Field(max_length=1000)
    runtime: str = Field(max_length=32)
    size_bytes: int = 0
    gated: bool = False
    downloaded_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL"), nullable=True)
    )
    downloaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LocalModelUser(SQLModel, table=True):
    """A local model on one user's list (added when they start or join its download); deleted with the user."""

    __tablename__ = "local_model_user"
    __table_args__ = (UniqueConstraint("user_id", "repo_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("user.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    repo_id: str = Field(max_length=200, index=True)
    added_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class HubAccess(SQLModel, table=True):
    """What the Hub last answered about one user's access to one model, asked with their own token.

    `token_saved_at` marks which of their tokens answered (when it was saved; None: no token), so a new token is
    asked again at once. The answer is trusted for minutes; a grant also carries a chat through a Hub outage.
    """

    __tablename__ = "hub_access"
    __table_args__ = (UniqueConstraint("user_id", "repo_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("user.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    repo_id: str = Field(max_length=200)
    granted: bool = False
    gated: bool = False
    token_saved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = Field(default=None, max_length=500)
    error_kind: str | None = Field(default=None, max_length=32)
    checked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ApiToken(SQLModel, table=True):
    """A personal access token for the HTTP API: only its HMAC-SHA256 (under the server's token key) is kept.

    `last4` is what lists show of it. The per-token rate limit counts requests in a fixed window: `rate_window` is the
    minute (since the epoch) that `rate_count` counts, both written by one atomic UPDATE per request.
    """

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("user.id", ondelete="CASCADE"), index=True, nullable=False)
    )
    name: str = Field(max_length=64)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    last4: str = Field(max_length=4)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rate_window: int | None = None
    rate_count: int = 0
