"""Peers suspended by this node's admin, kept apart from peers the directory removed.

On a federated node the directory decides who is a peer, but an admin may still stop
talking to one member: that suspension must survive the next directory refresh, which
reactivates every listed member. Existing rows start unsuspended.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Frozen like 0001: it imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("peers") as batch:
        batch.add_column(
            sa.Column("suspended", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("peers") as batch:
        batch.drop_column("suspended")
