"""Retention purges: the intent row that makes deleting an expired epoch resumable.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Frozen like 0001: it imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "retention_purges",
        sa.Column("data_class", sa.String(32), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("deleted_root", sa.LargeBinary(32), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ledger_from", sa.BigInteger(), nullable=True),
        sa.Column("ledger_index", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("epoch >= 0", name="ck_retention_purges_epoch_non_negative"),
        sa.CheckConstraint(
            "length(deleted_root) = 32", name="ck_retention_purges_deleted_root_32_bytes"
        ),
        sa.PrimaryKeyConstraint("data_class", "epoch", name="pk_retention_purges"),
    )


def downgrade() -> None:
    op.drop_table("retention_purges")
