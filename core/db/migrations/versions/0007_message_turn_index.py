"""An index on `chat_message` (conversation_id, parent_id): a turn's versions found at once, so that a long chat's
last messages are read by walking its active path in SQL (core/chat/versions.py) without scanning the chat per turn.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_chat_message_turn", "chat_message", ["conversation_id", "parent_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_chat_message_turn", table_name="chat_message")
