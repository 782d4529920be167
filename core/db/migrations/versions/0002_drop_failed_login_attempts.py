"""Drop `user.failed_login_attempts`, a column streamlit-authenticator wrote before sign-in was the app's own.

It was kept only so that rows could still be added to databases made then (the column is NOT NULL there); with
migrations it can go. On SQLite this rebuilds the `user` table, the parent of every credential, chat and session:
`core.db.migrate` turns foreign keys off around it, or dropping the old table would delete them all.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild() -> Literal["always", "auto"]:
    """SQLite rebuilds the table (older SQLite has no DROP COLUMN); PostgreSQL alters it in place."""
    return "always" if op.get_bind().dialect.name == "sqlite" else "auto"


def upgrade() -> None:
    with op.batch_alter_table("user", recreate=_rebuild()) as batch:
        batch.drop_column("failed_login_attempts")


def downgrade() -> None:
    with op.batch_alter_table("user", recreate=_rebuild()) as batch:
        batch.add_column(sa.Column("failed_login_attempts", sa.Integer(), nullable=False, server_default="0"))
