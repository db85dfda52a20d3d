"""The private matching index, stored compactly: most of a node's bytes are index entries.

Responder: entries and occurrence counters carry an agreement's small ``index_scopes``
number instead of its name; the ``created`` time (the epoch is what retention uses) and
the unique (agreement, entry id) index (ids are unique by construction) go; an epoch's
entries are found through its span of stream ids (``index_epochs``). Requester: a
received entry is split into its key (stream, epoch, entry id; one b-tree without a
rowid on SQLite) and its label (appended in arrival order), so that neither the random
key order nor a second copy of the key costs label-sized pages; the stream's cursor is
kept with the stream.

Existing entries are copied, not dropped: a peer's replica and this node's stream keep
their sequences, so no peer has to fetch again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Frozen like 0001: it imports nothing from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _set_aside(table: str, *, serial: bool = False) -> str:
    """Rename ``table`` out of the way of its successor. PostgreSQL names a primary key's
    index and a serial column's sequence after the table, and both names are unique per
    schema there."""
    old = f"{table}_0006"
    op.rename_table(table, old)
    if _postgresql():
        op.execute(f"ALTER INDEX pk_{table} RENAME TO pk_{old}")
        if serial:
            op.execute(f"ALTER SEQUENCE {table}_id_seq RENAME TO {old}_id_seq")
    return old


def _restart_ids(table: str) -> None:
    """After copying explicit ids into a PostgreSQL serial column, continue after them."""
    if _postgresql():
        op.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )


def _time(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    _responder_up()
    _requester_up()


def _responder_up() -> None:
    op.create_table(
        "index_scopes",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("agreement_id", sa.String(128), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["agreements.id"], name="fk_index_scopes_agreement_id_agreements"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_index_scopes"),
        sa.UniqueConstraint("agreement_id", name="uq_index_scopes_agreement_id"),
    )
    op.execute(
        "INSERT INTO index_scopes (agreement_id) SELECT agreement_id FROM ("
        " SELECT agreement_id FROM index_entries UNION"
        " SELECT agreement_id FROM index_occurrences) AS used ORDER BY agreement_id"
    )
    entries = _set_aside("index_entries", serial=True)
    op.create_table(
        "index_entries",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.LargeBinary(16), nullable=False),
        sa.Column("label", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("length(entry_id) = 16", name="ck_index_entries_entry_id_16_bytes"),
        sa.ForeignKeyConstraint(
            ["scope_id"], ["index_scopes.id"], name="fk_index_entries_scope_id_index_scopes"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_index_entries"),
    )
    op.execute(
        "INSERT INTO index_entries (id, scope_id, epoch, entry_id, label)"
        " SELECT e.id, s.id, e.epoch, e.entry_id, e.label"
        f" FROM {entries} AS e JOIN index_scopes AS s ON s.agreement_id = e.agreement_id"
        " ORDER BY e.id"
    )
    _restart_ids("index_entries")
    op.drop_table(entries)
    op.create_index("ix_index_entries_scope_id_id", "index_entries", ["scope_id", "id"])
    op.create_table(
        "index_epochs",
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("first_id", sa.BigInteger(), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("first_id <= last_id", name="ck_index_epochs_span_ordered"),
        sa.ForeignKeyConstraint(
            ["scope_id"], ["index_scopes.id"], name="fk_index_epochs_scope_id_index_scopes"
        ),
        sa.PrimaryKeyConstraint("scope_id", "epoch", name="pk_index_epochs"),
    )
    op.execute(
        "INSERT INTO index_epochs (scope_id, epoch, first_id, last_id)"
        " SELECT scope_id, epoch, MIN(id), MAX(id) FROM index_entries GROUP BY scope_id, epoch"
    )
    counters = _set_aside("index_occurrences")
    op.create_table(
        "index_occurrences",
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("plate_lookup", sa.LargeBinary(32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "length(plate_lookup) = 32", name="ck_index_occurrences_plate_lookup_32_bytes"
        ),
        sa.ForeignKeyConstraint(
            ["scope_id"], ["index_scopes.id"], name="fk_index_occurrences_scope_id_index_scopes"
        ),
        sa.PrimaryKeyConstraint("scope_id", "epoch", "plate_lookup", name="pk_index_occurrences"),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO index_occurrences (scope_id, epoch, plate_lookup, count)"
        " SELECT s.id, o.epoch, o.plate_lookup, o.count"
        f" FROM {counters} AS o JOIN index_scopes AS s ON s.agreement_id = o.agreement_id"
    )
    op.drop_table(counters)


def _requester_up() -> None:
    op.create_table(
        "peer_index_streams",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("peer_id", sa.String(128), nullable=False),
        sa.Column("agreement_id", sa.String(128), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_peer_index_streams"),
        sa.UniqueConstraint(
            "peer_id", "agreement_id", name="uq_peer_index_streams_peer_id_agreement_id"
        ),
    )
    op.execute(
        "INSERT INTO peer_index_streams (peer_id, agreement_id, cursor)"
        " SELECT peer_id, agreement_id, MAX(sequence) FROM peer_index_entries"
        " GROUP BY peer_id, agreement_id ORDER BY peer_id, agreement_id"
    )
    op.create_table(
        "peer_index_labels",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("label", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_peer_index_labels"),
    )
    op.create_table(
        "peer_index_keys",
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.LargeBinary(16), nullable=False),
        sa.Column("label_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "length(entry_id) = 16", name="ck_peer_index_keys_entry_id_16_bytes"
        ),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["peer_index_streams.id"],
            name="fk_peer_index_keys_stream_id_peer_index_streams",
        ),
        sa.PrimaryKeyConstraint("stream_id", "epoch", "entry_id", name="pk_peer_index_keys"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "peer_index_epochs",
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["peer_index_streams.id"],
            name="fk_peer_index_epochs_stream_id_peer_index_streams",
        ),
        sa.PrimaryKeyConstraint("stream_id", "epoch", name="pk_peer_index_epochs"),
    )
    # One numbering for both copies: an entry's label id is its rank in the old key order.
    ranked = (
        "SELECT ROW_NUMBER() OVER (ORDER BY e.peer_id, e.agreement_id, e.sequence) AS rank,"
        " s.id AS stream_id, e.sequence, e.epoch, e.entry_id, e.label"
        " FROM peer_index_entries AS e JOIN peer_index_streams AS s"
        " ON s.peer_id = e.peer_id AND s.agreement_id = e.agreement_id"
    )
    op.execute(
        "INSERT INTO peer_index_labels (id, sequence, label)"
        f" SELECT rank, sequence, label FROM ({ranked}) AS r ORDER BY rank"
    )
    op.execute(
        "INSERT INTO peer_index_keys (stream_id, epoch, entry_id, label_id)"
        f" SELECT stream_id, epoch, entry_id, rank FROM ({ranked}) AS r"
    )
    op.execute(
        "INSERT INTO peer_index_epochs (stream_id, epoch)"
        " SELECT DISTINCT stream_id, epoch FROM peer_index_keys"
    )
    _restart_ids("peer_index_labels")
    op.drop_table("peer_index_entries")


def downgrade() -> None:
    """Back to 0006's tables, with every entry copied back (times as of the downgrade)."""
    _requester_down()
    _responder_down()


def _requester_down() -> None:
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
    op.execute(
        "INSERT INTO peer_index_entries"
        " (peer_id, agreement_id, sequence, epoch, entry_id, label, received)"
        " SELECT s.peer_id, s.agreement_id, l.sequence, k.epoch, k.entry_id, l.label,"
        " CURRENT_TIMESTAMP"
        " FROM peer_index_keys AS k JOIN peer_index_streams AS s ON s.id = k.stream_id"
        " JOIN peer_index_labels AS l ON l.id = k.label_id"
    )
    for table in ("peer_index_epochs", "peer_index_keys", "peer_index_labels"):
        op.drop_table(table)
    op.drop_table("peer_index_streams")


def _responder_down() -> None:
    counters = _set_aside("index_occurrences")
    op.create_table(
        "index_occurrences",
        sa.Column("agreement_id", sa.String(128), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("plate_lookup", sa.LargeBinary(32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "length(plate_lookup) = 32", name="ck_index_occurrences_plate_lookup_32_bytes"
        ),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["agreements.id"], name="fk_index_occurrences_agreement_id_agreements"
        ),
        sa.PrimaryKeyConstraint(
            "agreement_id", "epoch", "plate_lookup", name="pk_index_occurrences"
        ),
    )
    op.execute(
        "INSERT INTO index_occurrences (agreement_id, epoch, plate_lookup, count)"
        " SELECT s.agreement_id, o.epoch, o.plate_lookup, o.count"
        f" FROM {counters} AS o JOIN index_scopes AS s ON s.id = o.scope_id"
    )
    op.drop_table(counters)
    op.drop_table("index_epochs")
    entries = _set_aside("index_entries", serial=True)
    op.create_table(
        "index_entries",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("agreement_id", sa.String(128), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.LargeBinary(16), nullable=False),
        sa.Column("label", sa.LargeBinary(), nullable=False),
        _time("created"),
        sa.CheckConstraint("length(entry_id) = 16", name="ck_index_entries_entry_id_16_bytes"),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["agreements.id"], name="fk_index_entries_agreement_id_agreements"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_index_entries"),
        sa.UniqueConstraint(
            "agreement_id", "entry_id", name="uq_index_entries_agreement_id_entry_id"
        ),
    )
    op.create_index("ix_index_entries_agreement_id_id", "index_entries", ["agreement_id", "id"])
    op.create_index(
        "ix_index_entries_agreement_id_epoch", "index_entries", ["agreement_id", "epoch"]
    )
    op.execute(
        "INSERT INTO index_entries (id, agreement_id, epoch, entry_id, label, created)"
        " SELECT e.id, s.agreement_id, e.epoch, e.entry_id, e.label, CURRENT_TIMESTAMP"
        f" FROM {entries} AS e JOIN index_scopes AS s ON s.id = e.scope_id ORDER BY e.id"
    )
    _restart_ids("index_entries")
    op.drop_table(entries)
    op.drop_table("index_scopes")
