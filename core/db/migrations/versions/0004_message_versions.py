"""Versions of a chat's turns: `chat_message.parent_id` (the message a message follows) and `active` (the version
shown), so that a regenerated reply or an edited message keeps the older versions.

Existing messages are adopted as one line of turns, each the only version of its turn: every message follows the
one before it in its conversation.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each message's parent: the conversation's message just before it (ids grow in the order messages were saved).
ADOPT = """
UPDATE chat_message SET parent_id = (
    SELECT MAX(earlier.id) FROM chat_message AS earlier
    WHERE earlier.conversation_id = chat_message.conversation_id AND earlier.id < chat_message.id
)
"""


def upgrade() -> None:
    op.add_column("chat_message", sa.Column("parent_id", sa.Integer(), nullable=True))
    op.add_column("chat_message", sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.execute(ADOPT)


# What the older schema can hold: each chat's active path (the versions shown, from its first message on).
NOT_SHOWN = """
WITH RECURSIVE shown(id) AS (
    SELECT id FROM chat_message WHERE parent_id IS NULL AND active
    UNION ALL
    SELECT message.id FROM chat_message AS message JOIN shown ON message.parent_id = shown.id WHERE message.active
)
DELETE FROM chat_message WHERE id NOT IN (SELECT id FROM shown)
"""


def downgrade() -> None:
    """Back to one line of messages per chat: the versions not shown (and what followed them) are deleted."""
    op.execute(NOT_SHOWN)
    with op.batch_alter_table("chat_message") as batch:
        batch.drop_column("active")
        batch.drop_column("parent_id")
