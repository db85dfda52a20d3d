"""The private matching index: entries made (responder) and received (requester).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

Frozen like 0001: it imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _agreement_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["agreement_id"], ["agreements.id"], name=f"fk_{table}_agreement_id_agreements"
    )


def upgrade() -> None:
    op.create_table(
        "index_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("agreement_id", sa.String(128), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.LargeBinary(16), nullable=False),
        sa.Column("label", sa.LargeBinary(), nullable=False),
        _time("created"),
        sa.CheckConstraint("length(entry_id) = 16", name="ck_index_entries_entry_id_16_bytes"),
        _agreement_fk("index_entries"),
        sa.PrimaryKeyConstraint("id", name="pk_index_entries"),
        sa.UniqueConstraint(
            "agreement_id", "entry_id", name="uq_index_entries_agreement_id_entry_id"
        ),
    )
    op.create_index("ix_index_entries_agreement_id_id", "index_entries", ["agreement_id", "id"])
    op.create_index(
        "ix_index_entries_agreement_id_epoch", "index_entries", ["agreement_id", "epoch"]
    )
    op.create_table(
        "index_occurrences",
        sa.Column("agreement_id", sa.String(128), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("plate_lookup", sa.LargeBinary(32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "length(plate_lookup) = 32", name="ck_index_occurrences_plate_lookup_32_bytes"
        ),
        _agreement_fk("index_occurrences"),
        sa.PrimaryKeyConstraint(
            "agreement_id", "epoch", "plate_lookup", name="pk_index_occurrences"
        ),
    )
    op.create_table(
        "index_progress",
        sa.Column("agreement_id", sa.String(128), nullable=False),
        sa.Column("last_read_id", sa.BigInteger(), nullable=False),
        _time("updated"),
        _agreement_fk("index_progress"),
        sa.PrimaryKeyConstraint("agreement_id", name="pk_index_progress"),
    )
    op.create_table(
        "peer_index_entries",
        sa.Column("peer_id", sa.String(128), nullable=False),
        sa.Column("agreement_id", sa.String(128), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.LargeBinary(16), nullable=False),
        sa.Column("label", sa.LargeBinary(), nullable=False),
        _time("received"),
        sa.CheckConstraint("length(entry_id) = 16", name="ck_peer_index_entries_entry_id_16_bytes"),
        sa.PrimaryKeyConstraint(
            "peer_id", "agreement_id", "sequence", name="pk_peer_index_entries"
        ),
        sa.UniqueConstraint(
            "peer_id",
            "agreement_id",
            "entry_id",
            name="uq_peer_index_entries_peer_id_agreement_id_entry_id",
        ),
    )
    op.create_index(
        "ix_peer_index_entries_peer_id_agreement_id_epoch",
        "peer_index_entries",
        ["peer_id", "agreement_id", "epoch"],
    )
    op.create_table(
        "peer_epoch_keys",
        sa.Column("peer_id", sa.String(128), nullable=False),
        sa.Column("agreement_id", sa.String(128), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        _time("first_seen"),
        sa.CheckConstraint(
            "length(public_key) = 32", name="ck_peer_epoch_keys_public_key_32_bytes"
        ),
        sa.PrimaryKeyConstraint("peer_id", "agreement_id", "epoch", name="pk_peer_epoch_keys"),
    )
    op.create_table(
        "query_usage",
        sa.Column("agreement_id", sa.String(128), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("plates", sa.BigInteger(), nullable=False),
        _agreement_fk("query_usage"),
        sa.PrimaryKeyConstraint("agreement_id", "day", name="pk_query_usage"),
    )


def downgrade() -> None:
    for table in (
        "query_usage",
        "peer_epoch_keys",
        "peer_index_entries",
        "index_progress",
        "index_occurrences",
        "index_entries",
    ):
        op.drop_table(table)
