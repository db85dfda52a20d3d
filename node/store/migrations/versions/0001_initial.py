"""Initial schema: cameras, reads, data epochs, hotlists, peers, agreements, the ledger.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Written by hand from the models and reviewed on SQLite and PostgreSQL. Frozen: it imports
nothing from the application, so later changes to the models cannot change what it does.

The ledger tables are append-only: triggers refuse UPDATE and DELETE on both dialects
(and TRUNCATE on PostgreSQL). A later migration that rebuilds one of these tables in
SQLite batch mode MUST recreate its triggers.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_TABLES = (
    "ledger_entries",
    "ledger_tree_nodes",
    "checkpoints",
    "cosignatures",
    "equivocations",
)
_PG_FUNCTION = "accord_refuse_ledger_change"


def _id() -> sa.Column:
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=True,
        nullable=False,
    )


def _time(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _len32(table: str, column: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"length({column}) = 32", name=f"ck_{table}_{column}_32_bytes")


def _key_or_destroyed(table: str, key: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(
        f"({key} IS NULL) = (destroyed_at IS NOT NULL)", name=f"ck_{table}_{key}_or_destroyed"
    )


def _one_of(table: str, column: str, values: Sequence[str]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=f"ck_{table}_{column}_known")


def _epoch_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["data_class", "epoch"],
        ["data_epochs.data_class", "data_epochs.epoch"],
        name=f"fk_{table}_data_class_data_epochs",
    )


def upgrade() -> None:
    _cameras_and_reads()
    _hotlists()
    _peers_and_agreements()
    _ledger()
    _append_only_triggers()


def _cameras_and_reads() -> None:
    op.create_table(
        "cameras",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("lon", sa.Double(), nullable=False),
        sa.Column("heading", sa.Double(), nullable=True),
        _time("created"),
        sa.CheckConstraint("lat BETWEEN -90 AND 90", name="ck_cameras_lat_range"),
        sa.CheckConstraint("lon BETWEEN -180 AND 180", name="ck_cameras_lon_range"),
        sa.CheckConstraint("heading >= 0 AND heading < 360", name="ck_cameras_heading_range"),
        sa.PrimaryKeyConstraint("id", name="pk_cameras"),
    )
    op.create_table(
        "data_epochs",
        sa.Column("data_class", sa.String(32), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        _time("starts_at"),
        _time("ends_at"),
        sa.Column("key_material", sa.LargeBinary(), nullable=True),
        _time("created"),
        _time("destroyed_at", nullable=True),
        sa.CheckConstraint("epoch >= 0", name="ck_data_epochs_epoch_non_negative"),
        sa.CheckConstraint("ends_at > starts_at", name="ck_data_epochs_ends_after_start"),
        _key_or_destroyed("data_epochs", "key_material"),
        sa.PrimaryKeyConstraint("data_class", "epoch", name="pk_data_epochs"),
    )
    op.create_table(
        "reads",
        _id(),
        sa.Column("camera_id", sa.String(128), nullable=False),
        _time("time"),
        sa.Column("data_class", sa.String(32), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("plate_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("plate_lookup", sa.LargeBinary(32), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("candidates_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("dedup_key", sa.String(255), nullable=False),
        sa.CheckConstraint("confidence >= 0 AND confidence <= 1", name="ck_reads_confidence_range"),
        _len32("reads", "plate_lookup"),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], name="fk_reads_camera_id_cameras"),
        _epoch_fk("reads"),
        sa.PrimaryKeyConstraint("id", name="pk_reads"),
        sa.UniqueConstraint("dedup_key", name="uq_reads_dedup_key"),
    )
    op.create_index("ix_reads_time", "reads", ["time"])
    op.create_index("ix_reads_camera_id_time", "reads", ["camera_id", "time"])
    op.create_index("ix_reads_plate_lookup", "reads", ["plate_lookup"])
    op.create_index("ix_reads_data_class_epoch", "reads", ["data_class", "epoch"])
    op.create_table(
        "read_crops",
        sa.Column("read_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("data_class", sa.String(32), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("reference", sa.String(1024), nullable=True),
        sa.CheckConstraint(
            "ciphertext IS NOT NULL OR reference IS NOT NULL",
            name="ck_read_crops_ciphertext_or_reference",
        ),
        sa.ForeignKeyConstraint(
            ["read_id"], ["reads.id"], name="fk_read_crops_read_id_reads", ondelete="CASCADE"
        ),
        _epoch_fk("read_crops"),
        sa.PrimaryKeyConstraint("read_id", name="pk_read_crops"),
    )
    op.create_index("ix_read_crops_data_class_epoch", "read_crops", ["data_class", "epoch"])


def _hotlists() -> None:
    op.create_table(
        "hotlists",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        _time("created"),
        sa.PrimaryKeyConstraint("id", name="pk_hotlists"),
    )
    op.create_table(
        "hotlist_entries",
        _id(),
        sa.Column("hotlist_id", sa.String(128), nullable=False),
        sa.Column("data_class", sa.String(32), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("plate_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("plate_lookup", sa.LargeBinary(32), nullable=False),
        sa.Column("region", sa.String(16), nullable=True),
        sa.Column("case_number", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("ori", sa.String(9), nullable=True),
        _time("expires"),
        _time("added"),
        _len32("hotlist_entries", "plate_lookup"),
        sa.CheckConstraint("length(case_number) > 0", name="ck_hotlist_entries_case_number_given"),
        sa.CheckConstraint("length(reason) > 0", name="ck_hotlist_entries_reason_given"),
        sa.CheckConstraint("length(category) > 0", name="ck_hotlist_entries_category_given"),
        sa.ForeignKeyConstraint(
            ["hotlist_id"],
            ["hotlists.id"],
            name="fk_hotlist_entries_hotlist_id_hotlists",
            ondelete="CASCADE",
        ),
        _epoch_fk("hotlist_entries"),
        sa.PrimaryKeyConstraint("id", name="pk_hotlist_entries"),
        sa.UniqueConstraint(
            "hotlist_id",
            "plate_lookup",
            "case_number",
            name="uq_hotlist_entries_hotlist_id_plate_lookup_case_number",
        ),
    )
    op.create_index("ix_hotlist_entries_plate_lookup", "hotlist_entries", ["plate_lookup"])
    op.create_index("ix_hotlist_entries_expires", "hotlist_entries", ["expires"])


def _peers_and_agreements() -> None:
    kinds = ("municipal", "county", "state", "federal", "tribal", "private")
    roles = ("requester", "responder")
    statuses = ("proposed", "active", "rejected", "revoked", "expired", "superseded")
    op.create_table(
        "peers",
        sa.Column("node_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("ori", sa.String(9), nullable=False),
        sa.Column("jurisdiction", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("endpoint", sa.String(255), nullable=False),
        sa.Column("cert_sha256", sa.String(64), nullable=False),
        sa.Column("cert_pem", sa.LargeBinary(), nullable=False),
        sa.Column("signing_key", sa.LargeBinary(32), nullable=False),
        sa.Column("log_key", sa.LargeBinary(32), nullable=False),
        sa.Column("witness_key", sa.LargeBinary(32), nullable=False),
        sa.Column("sealing_key", sa.LargeBinary(32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _time("added"),
        _time("updated"),
        _one_of("peers", "kind", kinds),
        sa.CheckConstraint("length(cert_sha256) = 64", name="ck_peers_cert_sha256_hex"),
        *(_len32("peers", k) for k in ("signing_key", "log_key", "witness_key", "sealing_key")),
        sa.PrimaryKeyConstraint("node_id", name="pk_peers"),
        sa.UniqueConstraint("cert_sha256", name="uq_peers_cert_sha256"),
    )
    op.create_table(
        "seen_requests",
        sa.Column("peer_id", sa.String(128), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        _time("seen"),
        _time("expires"),
        sa.ForeignKeyConstraint(
            ["peer_id"],
            ["peers.node_id"],
            name="fk_seen_requests_peer_id_peers",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("peer_id", "request_id", name="pk_seen_requests"),
    )
    op.create_index("ix_seen_requests_expires", "seen_requests", ["expires"])
    op.create_table(
        "agreements",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("peer_id", sa.String(128), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        _time("created"),
        _one_of("agreements", "role", roles),
        sa.ForeignKeyConstraint(["peer_id"], ["peers.node_id"], name="fk_agreements_peer_id_peers"),
        sa.PrimaryKeyConstraint("id", name="pk_agreements"),
    )
    op.create_table(
        "agreement_versions",
        sa.Column("agreement_id", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("digest", sa.LargeBinary(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        _time("valid_from"),
        _time("valid_until"),
        _time("created"),
        _time("status_changed"),
        _one_of("agreement_versions", "status", statuses),
        _len32("agreement_versions", "digest"),
        sa.CheckConstraint("version >= 1", name="ck_agreement_versions_version_positive"),
        sa.CheckConstraint(
            "valid_until > valid_from", name="ck_agreement_versions_valid_until_after_from"
        ),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name="fk_agreement_versions_agreement_id_agreements",
        ),
        sa.PrimaryKeyConstraint("agreement_id", "version", name="pk_agreement_versions"),
        sa.UniqueConstraint("digest", name="uq_agreement_versions_digest"),
    )
    op.create_index("ix_agreement_versions_status", "agreement_versions", ["status"])
    # At most one version of an agreement is in force.
    op.create_index(
        "uq_agreement_versions_one_active",
        "agreement_versions",
        ["agreement_id"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "agreement_signatures",
        sa.Column("agreement_id", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("signer_key", sa.LargeBinary(32), nullable=False),
        sa.Column("signature", sa.LargeBinary(64), nullable=False),
        _time("signed_at"),
        _one_of("agreement_signatures", "role", roles),
        _len32("agreement_signatures", "signer_key"),
        sa.CheckConstraint(
            "length(signature) = 64", name="ck_agreement_signatures_signature_64_bytes"
        ),
        sa.ForeignKeyConstraint(
            ["agreement_id", "version"],
            ["agreement_versions.agreement_id", "agreement_versions.version"],
            name="fk_agreement_signatures_agreement_id_agreement_versions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agreement_id", "version", "role", name="pk_agreement_signatures"),
    )
    op.create_table(
        "agreement_epoch_keys",
        sa.Column("agreement_id", sa.String(128), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=True),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        _time("created"),
        _time("destroyed_at", nullable=True),
        sa.CheckConstraint("epoch >= 0", name="ck_agreement_epoch_keys_epoch_non_negative"),
        _key_or_destroyed("agreement_epoch_keys", "secret"),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name="fk_agreement_epoch_keys_agreement_id_agreements",
        ),
        sa.PrimaryKeyConstraint("agreement_id", "epoch", name="pk_agreement_epoch_keys"),
    )


def _ledger() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("log_id", sa.String(255), nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        _time("time"),
        sa.CheckConstraint("idx >= 0", name="ck_ledger_entries_idx_non_negative"),
        _len32("ledger_entries", "leaf_hash"),
        sa.PrimaryKeyConstraint("log_id", "idx", name="pk_ledger_entries"),
    )
    op.create_table(
        "ledger_tree_nodes",
        sa.Column("log_id", sa.String(255), nullable=False),
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.CheckConstraint("level >= 0 AND level < 64", name="ck_ledger_tree_nodes_level_range"),
        sa.CheckConstraint("idx >= 0", name="ck_ledger_tree_nodes_idx_non_negative"),
        _len32("ledger_tree_nodes", "hash"),
        sa.PrimaryKeyConstraint("log_id", "level", "idx", name="pk_ledger_tree_nodes"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "checkpoints",
        _id(),
        sa.Column("log_id", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.LargeBinary(), nullable=False),
        _time("time"),
        sa.CheckConstraint("size >= 0", name="ck_checkpoints_size_non_negative"),
        _len32("checkpoints", "root"),
        sa.PrimaryKeyConstraint("id", name="pk_checkpoints"),
    )
    op.create_index("ix_checkpoints_log_id_size", "checkpoints", ["log_id", "size"])
    op.create_table(
        "cosignatures",
        _id(),
        sa.Column(
            "checkpoint_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("witness_name", sa.String(255), nullable=False),
        sa.Column("key_id", sa.LargeBinary(4), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        _time("time"),
        sa.CheckConstraint("length(key_id) = 4", name="ck_cosignatures_key_id_4_bytes"),
        sa.ForeignKeyConstraint(
            ["checkpoint_id"],
            ["checkpoints.id"],
            name="fk_cosignatures_checkpoint_id_checkpoints",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_cosignatures"),
        sa.UniqueConstraint("checkpoint_id", "line", name="uq_cosignatures_checkpoint_id_line"),
    )
    op.create_table(
        "witnessed_checkpoints",
        _id(),
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.LargeBinary(), nullable=False),
        sa.Column("cosignature", sa.Text(), nullable=True),
        _time("received"),
        sa.CheckConstraint("size >= 0", name="ck_witnessed_checkpoints_size_non_negative"),
        _len32("witnessed_checkpoints", "root"),
        sa.PrimaryKeyConstraint("id", name="pk_witnessed_checkpoints"),
        sa.UniqueConstraint(
            "origin", "size", "root", name="uq_witnessed_checkpoints_origin_size_root"
        ),
    )
    op.create_table(
        "equivocations",
        _id(),
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("note_a", sa.LargeBinary(), nullable=False),
        sa.Column("note_b", sa.LargeBinary(), nullable=False),
        _time("detected"),
        sa.PrimaryKeyConstraint("id", name="pk_equivocations"),
    )
    op.create_index("ix_equivocations_origin", "equivocations", ["origin"])


def _append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in APPEND_ONLY_TABLES:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'accord-append-only: {table}'); END"
                )
    elif dialect == "postgresql":
        op.execute(
            f"CREATE FUNCTION {_PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION USING MESSAGE = 'accord-append-only: ' || TG_TABLE_NAME, "
            "ERRCODE = 'restrict_violation'; END $$"
        )
        for table in APPEND_ONLY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {_PG_FUNCTION}()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {_PG_FUNCTION}()"
            )
    else:
        raise NotImplementedError(f"no append-only triggers for {dialect}")


def downgrade() -> None:
    # Dropping a table drops its triggers; only the PostgreSQL function remains.
    for table in (
        "equivocations",
        "witnessed_checkpoints",
        "cosignatures",
        "checkpoints",
        "ledger_tree_nodes",
        "ledger_entries",
        "agreement_epoch_keys",
        "agreement_signatures",
        "agreement_versions",
        "agreements",
        "seen_requests",
        "peers",
        "hotlist_entries",
        "hotlists",
        "read_crops",
        "reads",
        "data_epochs",
        "cameras",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {_PG_FUNCTION}()")
