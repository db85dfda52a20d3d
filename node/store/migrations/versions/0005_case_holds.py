"""Case holds, the held copies of their reads, and the retention settings declared.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Frozen like 0001: it imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "case_holds",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("case_number", sa.String(64), nullable=False),
        sa.Column("case_salt", sa.LargeBinary(32), nullable=False),
        sa.Column("approver", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("selector", sa.String(32), nullable=False),
        sa.Column("plate_lookup", sa.LargeBinary(32), nullable=True),
        sa.Column("camera_id", sa.String(128), nullable=True),
        _time("from_time", nullable=True),
        _time("to_time", nullable=True),
        _time("expires"),
        _time("created"),
        _time("released_at", nullable=True),
        sa.Column("ledger_index", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "selector IN ('plate', 'reads', 'camera')", name="ck_case_holds_selector_known"
        ),
        sa.CheckConstraint("length(case_salt) = 32", name="ck_case_holds_case_salt_32_bytes"),
        sa.CheckConstraint("length(case_number) > 0", name="ck_case_holds_case_number_given"),
        sa.CheckConstraint("length(approver) > 0", name="ck_case_holds_approver_given"),
        sa.CheckConstraint("expires > created", name="ck_case_holds_expires_after_created"),
        sa.CheckConstraint(
            "plate_lookup IS NULL OR length(plate_lookup) = 32",
            name="ck_case_holds_plate_lookup_32_bytes",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_case_holds"),
    )
    op.create_index("ix_case_holds_expires", "case_holds", ["expires"])
    op.create_table(
        "held_reads",
        sa.Column("hold_id", _ID, nullable=False),
        sa.Column("dedup_key", sa.String(255), nullable=False),
        sa.Column("data_class", sa.String(32), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("read_epoch", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.String(128), nullable=False),
        _time("time"),
        sa.Column("plate_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("plate_lookup", sa.LargeBinary(32), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("candidates_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("crop_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.CheckConstraint("epoch = hold_id", name="ck_held_reads_epoch_is_hold"),
        sa.CheckConstraint("data_class = 'held_reads'", name="ck_held_reads_held_class"),
        sa.CheckConstraint(
            "confidence >= 0 AND confidence <= 1", name="ck_held_reads_confidence_range"
        ),
        sa.CheckConstraint("length(plate_lookup) = 32", name="ck_held_reads_plate_lookup_32_bytes"),
        sa.ForeignKeyConstraint(
            ["data_class", "epoch"],
            ["data_epochs.data_class", "data_epochs.epoch"],
            name="fk_held_reads_data_class_data_epochs",
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"],
            ["case_holds.id"],
            name="fk_held_reads_hold_id_case_holds",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("hold_id", "dedup_key", name="pk_held_reads"),
    )
    op.create_index("ix_held_reads_data_class_epoch", "held_reads", ["data_class", "epoch"])
    op.create_table(
        "retention_declarations",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("detail", sa.Text(), nullable=False),
        _time("declared"),
        sa.Column("ledger_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_retention_declarations"),
    )


def downgrade() -> None:
    op.drop_table("retention_declarations")
    op.drop_index("ix_held_reads_data_class_epoch", table_name="held_reads")
    op.drop_table("held_reads")
    op.drop_index("ix_case_holds_expires", table_name="case_holds")
    op.drop_table("case_holds")
