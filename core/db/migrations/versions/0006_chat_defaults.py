"""Each user's defaults for a new chat: `chat_defaults`. Chats saved with the old fixed 4,096 max output tokens
(the default until now) are set to no max: the model's own limit.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_DEFAULT_MAX_TOKENS = 4096


def upgrade() -> None:
    op.create_table(
        "chat_defaults",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("system_prompt", sa.String(), nullable=False),
        sa.Column("temperature", sa.Float(), nullable=True),
        sa.Column("max_tokens", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    # 4,096 was not chosen but the default every chat got; it cut reasoning models' replies short.
    conversation = sa.table("chat_conversation", sa.column("max_tokens", sa.Integer()))
    op.execute(conversation.update().where(conversation.c.max_tokens == OLD_DEFAULT_MAX_TOKENS).values(max_tokens=None))


def downgrade() -> None:
    conversation = sa.table("chat_conversation", sa.column("max_tokens", sa.Integer()))
    op.execute(
        conversation.update().where(conversation.c.max_tokens.is_(None)).values(max_tokens=OLD_DEFAULT_MAX_TOKENS)
    )
    op.drop_table("chat_defaults")
