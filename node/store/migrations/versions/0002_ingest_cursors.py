"""Ingest cursors: where a stopped video ingest resumes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Frozen like 0001: it imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ingest_cursors",
        sa.Column("camera_id", sa.String(128), nullable=False),
        sa.Column("source_key", sa.String(255), nullable=False),
        sa.Column("frame_index", sa.BigInteger(), nullable=False),
        sa.Column("finished", sa.Boolean(), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "frame_index >= 0", name="ck_ingest_cursors_frame_index_non_negative"
        ),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name="fk_ingest_cursors_camera_id_cameras"
        ),
        sa.PrimaryKeyConstraint("camera_id", "source_key", name="pk_ingest_cursors"),
    )


def downgrade() -> None:
    op.drop_table("ingest_cursors")
