"""The tables of a node's database, as typed SQLAlchemy models.

These rows stay inside ``node.store``: repositories turn them into frozen domain
dataclasses. The schema itself is created by the Alembic migrations in
``node/store/migrations``, never by ``create_all``; a test checks that the two agree.

Rules the database keeps, so that no code path can forget them:

- No plate is ever stored in the clear. A plate is a ``plate_ciphertext`` under the key
  of its ``(data_class, epoch)`` row in ``data_epochs`` plus a ``plate_lookup`` (a keyed
  tag, never an unkeyed or salted hash). Destroying the epoch's key makes every
  ciphertext of that epoch unreadable.
- Secret key material is nullable and paired with a ``destroyed_at`` time: a check
  constraint allows exactly "key and no destruction time" or "destruction time and no key".
- The ledger tables (``ledger_entries``, ``ledger_tree_nodes``, ``checkpoints``,
  ``cosignatures``, ``equivocations``) are append-only: triggers refuse UPDATE and DELETE
  (and TRUNCATE on PostgreSQL).
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from node.store.base import Base, Bytes32, Code, Ident, Index64, IntPk, Name, Timestamp

#: Tables whose rows can never be updated or deleted (enforced by database triggers).
APPEND_ONLY_TABLES = (
    "ledger_entries",
    "ledger_tree_nodes",
    "checkpoints",
    "cosignatures",
    "equivocations",
)


def _len32(column: str) -> CheckConstraint:
    return CheckConstraint(f"length({column}) = 32", name=f"{column}_32_bytes")


def _len16(column: str) -> CheckConstraint:
    return CheckConstraint(f"length({column}) = 16", name=f"{column}_16_bytes")


def _key_xor_destroyed(key: str) -> CheckConstraint:
    return CheckConstraint(
        f"({key} IS NULL) = (destroyed_at IS NOT NULL)", name=f"{key}_or_destroyed"
    )


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=f"{column}_known")


AGENCY_KINDS = ("municipal", "county", "state", "federal", "tribal", "private")
ROLES = ("requester", "responder")
AGREEMENT_STATUSES = ("proposed", "active", "rejected", "revoked", "expired", "superseded")


# -- cameras and reads ---------------------------------------------------------------------


class CameraRow(Base):
    __tablename__ = "cameras"
    __table_args__ = (
        CheckConstraint("lat BETWEEN -90 AND 90", name="lat_range"),
        CheckConstraint("lon BETWEEN -180 AND 180", name="lon_range"),
        CheckConstraint("heading >= 0 AND heading < 360", name="heading_range"),
    )

    id: Mapped[Ident] = mapped_column(primary_key=True)
    name: Mapped[Name]
    lat: Mapped[float]
    lon: Mapped[float]
    heading: Mapped[float | None]
    created: Mapped[Timestamp]


class DataEpochRow(Base):
    """The data key of one class of data (reads, crops, video...) for one epoch."""

    __tablename__ = "data_epochs"
    __table_args__ = (
        CheckConstraint("epoch >= 0", name="epoch_non_negative"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        _key_xor_destroyed("key_material"),
    )

    data_class: Mapped[Code] = mapped_column(primary_key=True)
    epoch: Mapped[int] = mapped_column(primary_key=True)
    starts_at: Mapped[Timestamp]
    ends_at: Mapped[Timestamp]
    key_material: Mapped[bytes | None]
    created: Mapped[Timestamp]
    destroyed_at: Mapped[Timestamp | None]


def _epoch_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["data_class", "epoch"], ["data_epochs.data_class", "data_epochs.epoch"]
    )


class ReadRow(Base):
    __tablename__ = "reads"
    __table_args__ = (
        _epoch_fk(),
        _len32("plate_lookup"),
        CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence_range"),
        Index(None, "time"),
        Index(None, "camera_id", "time"),
        Index(None, "plate_lookup"),
        Index(None, "data_class", "epoch"),
    )

    id: Mapped[IntPk]
    camera_id: Mapped[Ident] = mapped_column(ForeignKey("cameras.id"))
    time: Mapped[Timestamp]
    data_class: Mapped[Code]
    epoch: Mapped[int]
    plate_ciphertext: Mapped[bytes]
    plate_lookup: Mapped[Bytes32]
    confidence: Mapped[float]
    candidates_ciphertext: Mapped[bytes | None]
    source: Mapped[Code]
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)


class ReadCropRow(Base):
    """A read's plate crop: sealed inline, or a reference to a sealed file."""

    __tablename__ = "read_crops"
    __table_args__ = (
        _epoch_fk(),
        CheckConstraint(
            "ciphertext IS NOT NULL OR reference IS NOT NULL", name="ciphertext_or_reference"
        ),
        Index(None, "data_class", "epoch"),
    )

    read_id: Mapped[int] = mapped_column(
        ForeignKey("reads.id", ondelete="CASCADE"), primary_key=True
    )
    data_class: Mapped[Code]
    epoch: Mapped[int]
    ciphertext: Mapped[bytes | None]
    reference: Mapped[str | None] = mapped_column(String(1024))


class IngestCursorRow(Base):
    """How far the ingest of one video source has safely got (see :mod:`node.store.cursors`)."""

    __tablename__ = "ingest_cursors"
    __table_args__ = (CheckConstraint("frame_index >= 0", name="frame_index_non_negative"),)

    camera_id: Mapped[Ident] = mapped_column(ForeignKey("cameras.id"), primary_key=True)
    source_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    frame_index: Mapped[Index64]
    finished: Mapped[bool]
    updated: Mapped[Timestamp]


# -- hotlists ------------------------------------------------------------------------------


class HotlistRow(Base):
    __tablename__ = "hotlists"

    id: Mapped[Ident] = mapped_column(primary_key=True)
    name: Mapped[Name]
    source: Mapped[Name]
    created: Mapped[Timestamp]


class HotlistEntryRow(Base):
    __tablename__ = "hotlist_entries"
    __table_args__ = (
        _epoch_fk(),
        _len32("plate_lookup"),
        UniqueConstraint("hotlist_id", "plate_lookup", "case_number"),
        CheckConstraint("length(case_number) > 0", name="case_number_given"),
        CheckConstraint("length(reason) > 0", name="reason_given"),
        CheckConstraint("length(category) > 0", name="category_given"),
        Index(None, "plate_lookup"),
        Index(None, "expires"),
    )

    id: Mapped[IntPk]
    hotlist_id: Mapped[Ident] = mapped_column(ForeignKey("hotlists.id", ondelete="CASCADE"))
    data_class: Mapped[Code]
    epoch: Mapped[int]
    plate_ciphertext: Mapped[bytes]
    plate_lookup: Mapped[Bytes32]
    region: Mapped[str | None] = mapped_column(String(16))
    case_number: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(64))
    ori: Mapped[str | None] = mapped_column(String(9))
    expires: Mapped[Timestamp]
    added: Mapped[Timestamp]


# -- peers ---------------------------------------------------------------------------------


class PeerRow(Base):
    __tablename__ = "peers"
    __table_args__ = (
        _one_of("kind", AGENCY_KINDS),
        CheckConstraint("length(cert_sha256) = 64", name="cert_sha256_hex"),
        *(_len32(k) for k in ("signing_key", "log_key", "witness_key", "sealing_key")),
    )

    node_id: Mapped[Ident] = mapped_column(primary_key=True)
    name: Mapped[Name]
    ori: Mapped[str] = mapped_column(String(9))
    jurisdiction: Mapped[str] = mapped_column(String(16))
    kind: Mapped[Code]
    endpoint: Mapped[str] = mapped_column(String(255))
    cert_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    cert_pem: Mapped[bytes]
    signing_key: Mapped[Bytes32]
    log_key: Mapped[Bytes32]
    witness_key: Mapped[Bytes32]
    sealing_key: Mapped[Bytes32]
    active: Mapped[bool]
    #: Suspended by this node's admin: stays inactive whatever the directory says.
    suspended: Mapped[bool] = mapped_column(default=False, server_default=false())
    added: Mapped[Timestamp]
    updated: Mapped[Timestamp]


class SeenRequestRow(Base):
    """Replay cache: a peer's request id is accepted once until it expires."""

    __tablename__ = "seen_requests"
    __table_args__ = (Index(None, "expires"),)

    peer_id: Mapped[Ident] = mapped_column(
        ForeignKey("peers.node_id", ondelete="CASCADE"), primary_key=True
    )
    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen: Mapped[Timestamp]
    expires: Mapped[Timestamp]


# -- agreements ----------------------------------------------------------------------------


class AgreementRow(Base):
    """An agreement with one peer, across its versions."""

    __tablename__ = "agreements"
    __table_args__ = (_one_of("role", ROLES),)

    id: Mapped[Ident] = mapped_column(primary_key=True)
    peer_id: Mapped[Ident] = mapped_column(ForeignKey("peers.node_id"))
    role: Mapped[Code]
    created: Mapped[Timestamp]


class AgreementVersionRow(Base):
    __tablename__ = "agreement_versions"
    __table_args__ = (
        _one_of("status", AGREEMENT_STATUSES),
        _len32("digest"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("valid_until > valid_from", name="valid_until_after_from"),
        # At most one version of an agreement is in force.
        Index(
            "uq_agreement_versions_one_active",
            "agreement_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index(None, "status"),
    )

    agreement_id: Mapped[Ident] = mapped_column(ForeignKey("agreements.id"), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    document: Mapped[bytes]
    digest: Mapped[Bytes32] = mapped_column(unique=True)
    status: Mapped[Code]
    valid_from: Mapped[Timestamp]
    valid_until: Mapped[Timestamp]
    created: Mapped[Timestamp]
    status_changed: Mapped[Timestamp]


class AgreementSignatureRow(Base):
    __tablename__ = "agreement_signatures"
    __table_args__ = (
        ForeignKeyConstraint(
            ["agreement_id", "version"],
            ["agreement_versions.agreement_id", "agreement_versions.version"],
            ondelete="CASCADE",
        ),
        _one_of("role", ROLES),
        _len32("signer_key"),
        CheckConstraint("length(signature) = 64", name="signature_64_bytes"),
    )

    agreement_id: Mapped[Ident] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[Code] = mapped_column(primary_key=True)
    signer_key: Mapped[Bytes32]
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    signed_at: Mapped[Timestamp]


class OprfEpochKeyRow(Base):
    """The responder's VOPRF key of one agreement and epoch; its public key is committed
    in the ledger, its secret destroyed with the epoch."""

    __tablename__ = "agreement_epoch_keys"
    __table_args__ = (
        CheckConstraint("epoch >= 0", name="epoch_non_negative"),
        _key_xor_destroyed("secret"),
    )

    agreement_id: Mapped[Ident] = mapped_column(ForeignKey("agreements.id"), primary_key=True)
    epoch: Mapped[int] = mapped_column(primary_key=True)
    secret: Mapped[bytes | None]
    public_key: Mapped[bytes]
    created: Mapped[Timestamp]
    destroyed_at: Mapped[Timestamp | None]


# -- private matching index ----------------------------------------------------------------


class IndexScopeRow(Base):
    """An agreement's stream of index entries, by a small number: each entry and counter
    carries the number, not the agreement's name (the index is most of a node's bytes)."""

    __tablename__ = "index_scopes"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[Ident] = mapped_column(ForeignKey("agreements.id"), unique=True)


class IndexEntryRow(Base):
    """One encrypted index entry this node (as responder) made for an agreement.

    ``id`` is the stream sequence: entries are written by one indexer per node, so ids
    grow in commit order and a peer resuming after sequence ``n`` misses nothing. The one
    secondary index serves the streams; an epoch's entries are found through its span
    (:class:`IndexEpochRow`), not through an index of their own.
    """

    __tablename__ = "index_entries"
    __table_args__ = (_len16("entry_id"), Index(None, "scope_id", "id"))

    id: Mapped[IntPk]
    scope_id: Mapped[int] = mapped_column(ForeignKey("index_scopes.id"))
    epoch: Mapped[int]
    entry_id: Mapped[bytes] = mapped_column(LargeBinary(16))
    label: Mapped[bytes]


class IndexEpochRow(Base):
    """The stream ids an agreement's epoch spans: every entry of the epoch has an id in
    ``[first_id, last_id]``, so expiry deletes a range instead of scanning the table.
    Written in the transaction that adds the entries."""

    __tablename__ = "index_epochs"
    __table_args__ = (CheckConstraint("first_id <= last_id", name="span_ordered"),)

    scope_id: Mapped[int] = mapped_column(ForeignKey("index_scopes.id"), primary_key=True)
    epoch: Mapped[int] = mapped_column(primary_key=True)
    first_id: Mapped[Index64]
    last_id: Mapped[Index64]


class IndexOccurrenceRow(Base):
    """How many entries a plate (by local lookup tag) has in an agreement's epoch: the
    next entry's occurrence number ``j``. One row per plate and day: kept without a rowid
    on SQLite, so the key is stored once."""

    __tablename__ = "index_occurrences"
    __table_args__ = (_len32("plate_lookup"), {"sqlite_with_rowid": False})

    scope_id: Mapped[int] = mapped_column(ForeignKey("index_scopes.id"), primary_key=True)
    epoch: Mapped[int] = mapped_column(primary_key=True)
    plate_lookup: Mapped[Bytes32] = mapped_column(primary_key=True)
    count: Mapped[int]


class IndexProgressRow(Base):
    """The last read the indexer turned into entries for an agreement."""

    __tablename__ = "index_progress"

    agreement_id: Mapped[Ident] = mapped_column(ForeignKey("agreements.id"), primary_key=True)
    last_read_id: Mapped[Index64]
    updated: Mapped[Timestamp]


class PeerIndexStreamRow(Base):
    """A peer's stream of index entries under an agreement, as this node (requester)
    holds it: ``cursor`` is the highest sequence stored, where a resumed stream starts."""

    __tablename__ = "peer_index_streams"
    __table_args__ = (UniqueConstraint("peer_id", "agreement_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    peer_id: Mapped[Ident]
    agreement_id: Mapped[Ident]
    cursor: Mapped[Index64]


class PeerIndexLabelRow(Base):
    """A received entry's label, appended in arrival order (so its pages fill), with the
    peer's sequence of the entry."""

    __tablename__ = "peer_index_labels"

    id: Mapped[IntPk]
    sequence: Mapped[Index64]
    label: Mapped[bytes]


class PeerIndexKeyRow(Base):
    """A received entry, found by the id a query or a hotlist derives: the stream, the
    epoch and the entry id are the key (stored once, without a rowid on SQLite), the
    label lives in :class:`PeerIndexLabelRow`. Keeping the random-ordered key apart from
    the large label keeps both b-trees dense: about 56 bytes a read besides the label."""

    __tablename__ = "peer_index_keys"
    __table_args__ = (_len16("entry_id"), {"sqlite_with_rowid": False})

    stream_id: Mapped[int] = mapped_column(ForeignKey("peer_index_streams.id"), primary_key=True)
    epoch: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    #: Not a foreign key: expiry deletes an epoch's labels (found through the keys) before
    #: its keys, and a cascade would have to look keys up by label.
    label_id: Mapped[Index64]


class PeerIndexEpochRow(Base):
    """The epochs a received stream holds entries of: what retention looks at, without a
    scan of the keys."""

    __tablename__ = "peer_index_epochs"

    stream_id: Mapped[int] = mapped_column(ForeignKey("peer_index_streams.id"), primary_key=True)
    epoch: Mapped[int] = mapped_column(primary_key=True)


class PeerEpochKeyRow(Base):
    """A peer's VOPRF public key for an agreement's epoch, pinned on first use: a later
    answer under another key for the same epoch is refused."""

    __tablename__ = "peer_epoch_keys"
    __table_args__ = (_len32("public_key"),)

    peer_id: Mapped[Ident] = mapped_column(primary_key=True)
    agreement_id: Mapped[Ident] = mapped_column(primary_key=True)
    epoch: Mapped[int] = mapped_column(primary_key=True)
    public_key: Mapped[Bytes32]
    first_seen: Mapped[Timestamp]


class QueryUsageRow(Base):
    """Plates evaluated per agreement and UTC day at the responder: the rate limit."""

    __tablename__ = "query_usage"

    agreement_id: Mapped[Ident] = mapped_column(ForeignKey("agreements.id"), primary_key=True)
    day: Mapped[int] = mapped_column(primary_key=True)
    plates: Mapped[Index64]


# -- ledger (append-only) ------------------------------------------------------------------


class LedgerEntryRow(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("idx >= 0", name="idx_non_negative"),
        _len32("leaf_hash"),
    )

    log_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    idx: Mapped[Index64] = mapped_column(primary_key=True, autoincrement=False)
    entry: Mapped[bytes]
    leaf_hash: Mapped[Bytes32]
    time: Mapped[Timestamp]


class LedgerTreeNodeRow(Base):
    """The hash of the complete subtree of ``2**level`` leaves starting at leaf
    ``idx * 2**level``: what makes every proof O(log n) lookups."""

    __tablename__ = "ledger_tree_nodes"
    __table_args__ = (
        CheckConstraint("level >= 0 AND level < 64", name="level_range"),
        CheckConstraint("idx >= 0", name="idx_non_negative"),
        _len32("hash"),
        {"sqlite_with_rowid": False},
    )

    log_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[Index64] = mapped_column(primary_key=True, autoincrement=False)
    hash: Mapped[Bytes32]


class CheckpointRow(Base):
    __tablename__ = "checkpoints"
    __table_args__ = (
        CheckConstraint("size >= 0", name="size_non_negative"),
        _len32("root"),
        Index(None, "log_id", "size"),
    )

    id: Mapped[IntPk]
    log_id: Mapped[str] = mapped_column(String(255))
    size: Mapped[Index64]
    root: Mapped[Bytes32]
    note: Mapped[bytes]
    time: Mapped[Timestamp]


class CosignatureRow(Base):
    __tablename__ = "cosignatures"
    __table_args__ = (
        UniqueConstraint("checkpoint_id", "line"),
        CheckConstraint("length(key_id) = 4", name="key_id_4_bytes"),
    )

    id: Mapped[IntPk]
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("checkpoints.id"))
    witness_name: Mapped[str] = mapped_column(String(255))
    key_id: Mapped[bytes] = mapped_column(LargeBinary(4))
    line: Mapped[str] = mapped_column(Text)
    time: Mapped[Timestamp]


# -- witnessing peers' logs ----------------------------------------------------------------


class WitnessedCheckpointRow(Base):
    """A peer's checkpoint this node verified (and usually cosigned) as a witness.

    Not append-only: a witness only needs the latest state of each log and may prune.
    """

    __tablename__ = "witnessed_checkpoints"
    __table_args__ = (
        UniqueConstraint("origin", "size", "root"),
        CheckConstraint("size >= 0", name="size_non_negative"),
        _len32("root"),
    )

    id: Mapped[IntPk]
    origin: Mapped[str] = mapped_column(String(255))
    size: Mapped[Index64]
    root: Mapped[Bytes32]
    note: Mapped[bytes]
    cosignature: Mapped[str | None] = mapped_column(Text)
    received: Mapped[Timestamp]


class EquivocationRow(Base):
    """Two signed checkpoints of one log that cannot both be honest: kept forever."""

    __tablename__ = "equivocations"
    __table_args__ = (Index(None, "origin"),)

    id: Mapped[IntPk]
    origin: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(64))
    note_a: Mapped[bytes]
    note_b: Mapped[bytes]
    detected: Mapped[Timestamp]


__all__ = [
    "APPEND_ONLY_TABLES",
    "AgreementRow",
    "AgreementSignatureRow",
    "AgreementVersionRow",
    "Base",
    "CameraRow",
    "CheckpointRow",
    "CosignatureRow",
    "DataEpochRow",
    "EquivocationRow",
    "HotlistEntryRow",
    "HotlistRow",
    "LedgerEntryRow",
    "LedgerTreeNodeRow",
    "OprfEpochKeyRow",
    "PeerRow",
    "ReadCropRow",
    "ReadRow",
    "SeenRequestRow",
    "WitnessedCheckpointRow",
]


# -- retention -----------------------------------------------------------------------------


class RetentionPurgeRow(Base):
    """The intent and progress of deleting one expired ``(data_class, epoch)``.

    Written before anything is deleted, so an interrupted purge resumes where it stopped
    and the ledger gets exactly one ``retention.deleted`` (see :mod:`node.retention.purge`).
    ``counts`` is canonical JSON of token -> count; it names kinds of rows, never a plate.
    """

    __tablename__ = "retention_purges"
    __table_args__ = (
        CheckConstraint("epoch >= 0", name="epoch_non_negative"),
        _len32("deleted_root"),
    )

    data_class: Mapped[Code] = mapped_column(primary_key=True)
    epoch: Mapped[int] = mapped_column(primary_key=True)
    counts: Mapped[str] = mapped_column(Text)
    deleted_root: Mapped[Bytes32]
    started: Mapped[Timestamp]
    #: When the rows were deleted and the keys destroyed (one transaction).
    deleted_at: Mapped[Timestamp | None]
    #: The ledger's size just before ``retention.deleted`` was appended: where to look for
    #: it if the purge stopped before learning its index.
    ledger_from: Mapped[Index64 | None]
    ledger_index: Mapped[Index64 | None]


# -- case holds ----------------------------------------------------------------------------

HOLD_SELECTORS = ("plate", "reads", "camera")


class CaseHoldRow(Base):
    """A case hold: reads kept past their class's age for a case, until ``expires``.

    ``id`` is also the epoch of the hold's own data key (class ``held_reads``): the held
    copies in ``held_reads`` are sealed under it, so releasing one hold destroys exactly
    its copies' key (see :mod:`node.store.holds`). A plate selector is kept as its local
    lookup tag, never as the plate.
    """

    __tablename__ = "case_holds"
    __table_args__ = (
        _one_of("selector", HOLD_SELECTORS),
        _len32("case_salt"),
        CheckConstraint("length(case_number) > 0", name="case_number_given"),
        CheckConstraint("length(approver) > 0", name="approver_given"),
        CheckConstraint("expires > created", name="expires_after_created"),
        CheckConstraint(
            "plate_lookup IS NULL OR length(plate_lookup) = 32", name="plate_lookup_32_bytes"
        ),
        Index(None, "expires"),
    )

    id: Mapped[IntPk]
    case_number: Mapped[str] = mapped_column(String(64))
    #: Salt of the case commitment the ledger records (the case number never goes there).
    case_salt: Mapped[Bytes32]
    approver: Mapped[Name]
    reason: Mapped[str] = mapped_column(Text)
    selector: Mapped[Code]
    plate_lookup: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    camera_id: Mapped[Ident | None]
    from_time: Mapped[Timestamp | None]
    to_time: Mapped[Timestamp | None]
    expires: Mapped[Timestamp]
    created: Mapped[Timestamp]
    released_at: Mapped[Timestamp | None]
    #: The ``admin.action`` ``hold.add`` entry; a hold without one never took effect (the
    #: node stopped before logging it) and is purged like a released one.
    ledger_index: Mapped[Index64 | None]


class HeldReadRow(Base):
    """A copy of one read, re-sealed under its hold's key: it outlives the read's epoch."""

    __tablename__ = "held_reads"
    __table_args__ = (
        _epoch_fk(),
        _len32("plate_lookup"),
        CheckConstraint("epoch = hold_id", name="epoch_is_hold"),
        CheckConstraint("data_class = 'held_reads'", name="held_class"),
        CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence_range"),
        Index(None, "data_class", "epoch"),
    )

    hold_id: Mapped[int] = mapped_column(
        ForeignKey("case_holds.id", ondelete="CASCADE"), primary_key=True
    )
    dedup_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    data_class: Mapped[Code]
    epoch: Mapped[int]
    #: The UTC day the read was made (its original epoch).
    read_epoch: Mapped[int]
    camera_id: Mapped[Ident]
    time: Mapped[Timestamp]
    plate_ciphertext: Mapped[bytes]
    plate_lookup: Mapped[Bytes32]
    confidence: Mapped[float]
    candidates_ciphertext: Mapped[bytes | None]
    crop_ciphertext: Mapped[bytes | None]
    source: Mapped[Code]


class RetentionDeclarationRow(Base):
    """The retention settings this node last declared on its ledger (``admin.action``
    ``retention.set``): a change is logged once, when the node applies it."""

    __tablename__ = "retention_declarations"

    id: Mapped[IntPk]
    detail: Mapped[str] = mapped_column(Text)
    declared: Mapped[Timestamp]
    ledger_index: Mapped[Index64]
