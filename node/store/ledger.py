"""Storage of this node's own ledger: entries, stored tree hashes, checkpoints, cosignatures.

Every table here is append-only in the database itself (triggers refuse UPDATE and
DELETE), so a bug or a careless admin cannot rewrite history; the Merkle tree and the
witnesses' cosignatures make any rewrite by a hostile admin detectable.

The ledger engine (``node.ledger``) follows sequence -> integrate -> publish:

- :meth:`LedgerRepository.append` MUST be called by the log's single sequencer; entries
  extend the log contiguously and are durable once the caller's transaction commits;
- :meth:`LedgerRepository.put_tree_nodes` stores the hash of each complete subtree (level
  ``l``, index ``i`` covers leaves ``[i * 2**l, (i + 1) * 2**l)``), so that any inclusion
  or consistency proof is a handful of primary-key lookups
  (:meth:`LedgerRepository.tree_nodes`);
- :meth:`LedgerRepository.add_checkpoint` and :meth:`LedgerRepository.add_cosignature`
  keep the full history of signed checkpoints and the witnesses' cosignatures.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from node.ids import CheckpointId, LogId
from node.store.db import table_of, translate_errors
from node.store.errors import LedgerSequenceError
from node.store.models import CheckpointRow, CosignatureRow, LedgerEntryRow, LedgerTreeNodeRow

#: Tree nodes fetched per query (keeps well under every dialect's parameter limit).
_LOOKUP_CHUNK = 500
# On SQLite one primary-key lookup per node (its planner scans for a row-value IN); on
# PostgreSQL one query per chunk, the coordinates passed as two arrays.
_SQLITE_NODE_AT = "SELECT hash FROM ledger_tree_nodes WHERE log_id = ? AND level = ? AND idx = ?"
_PG_NODES_AT = (
    "SELECT t.level, t.idx, t.hash FROM ledger_tree_nodes AS t"
    " JOIN unnest(%s::smallint[], %s::bigint[]) AS c(level, idx)"
    " ON t.level = c.level AND t.idx = c.idx WHERE t.log_id = %s"
)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """Entry ``index`` of log ``log_id``: its canonical bytes and RFC 9162 leaf hash."""

    log_id: LogId
    index: int
    entry: bytes
    leaf_hash: bytes
    time: dt.datetime


@dataclass(frozen=True, slots=True)
class TreeNode:
    """The hash of the complete subtree at ``level`` and ``index``."""

    level: int
    index: int
    hash: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredCheckpoint:
    """A signed checkpoint of this node's log: ``note`` is the signed-note bytes."""

    id: CheckpointId
    log_id: LogId
    size: int
    root: bytes
    note: bytes
    time: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Cosignature:
    """A witness's cosignature line on one of our checkpoints."""

    checkpoint_id: CheckpointId
    witness_name: str
    key_id: bytes
    line: str
    time: dt.datetime


def _entry(row: LedgerEntryRow) -> LedgerEntry:
    return LedgerEntry(LogId(row.log_id), row.idx, row.entry, row.leaf_hash, row.time)


def _checkpoint(row: CheckpointRow) -> StoredCheckpoint:
    return StoredCheckpoint(
        id=CheckpointId(row.id),
        log_id=LogId(row.log_id),
        size=row.size,
        root=row.root,
        note=row.note,
        time=row.time,
    )


def _cosignature(row: CosignatureRow) -> Cosignature:
    return Cosignature(
        checkpoint_id=CheckpointId(row.checkpoint_id),
        witness_name=row.witness_name,
        key_id=row.key_id,
        line=row.line,
        time=row.time,
    )


def _bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows in one round trip: COPY on PostgreSQL, executemany on SQLite.

    COPY is several times faster than a multi-row INSERT on PostgreSQL and still runs
    inside the caller's transaction, so the all-or-nothing batch contract holds. Values
    are already UTC-aware datetimes, bytes and ints, which psycopg adapts as the column
    types expect; the append-only triggers fire for COPY as for INSERT.
    """
    conn = session.connection()
    columns = list(rows[0])
    if conn.dialect.name == "sqlite":
        _sqlite_executemany(conn, table, columns, rows)
        return
    if conn.dialect.name != "postgresql":  # pragma: no cover - the two supported dialects
        session.execute(insert(table), rows)
        return
    driver = conn.connection.driver_connection
    assert driver is not None
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(tuple(row[c] for c in columns))
    except Exception as e:
        if getattr(e, "sqlstate", None) is None:
            raise
        # Hand the driver error to translate_errors like any other statement's.
        raise sa_exc.DBAPIError(statement, None, e) from e


def _sqlite_executemany(
    conn: Connection, table: Table, columns: list[str], rows: list[dict[str, Any]]
) -> None:
    """One ``executemany`` on the driver, in the caller's transaction.

    The ORM's executemany processes every value of every row in Python; a ledger batch is
    a thousand rows of bytes, ints and one timestamp, so the driver takes them as they are
    (timestamps in the text form SQLAlchemy's SQLite dialect writes and reads: naive UTC,
    ``YYYY-MM-DD HH:MM:SS.ffffff``).
    """

    def plain(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                raise ValueError("naive datetime given to the store: use an aware UTC time")
            return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        return value

    # Table and column names come from our own models, never from input.
    names, marks = ", ".join(columns), ", ".join("?" for _ in columns)
    statement = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608
    raw = conn.connection.dbapi_connection
    assert raw is not None
    try:
        raw.executemany(statement, [tuple(plain(row[c]) for c in columns) for row in rows])
    except sqlite3.Error as e:
        # As SQLAlchemy would raise it (IntegrityError for a clash...), for translate_errors.
        raise sa_exc.DBAPIError.instance(statement, None, e, sqlite3.Error) from e


class LedgerRepository:
    """The append-only tables of this node's logs."""

    def __init__(self, session: Session) -> None:
        self._session = session

    # -- sequence ----------------------------------------------------------------------------

    def size(self, log_id: LogId) -> int:
        """How many entries log ``log_id`` holds."""
        stmt = select(func.max(LedgerEntryRow.idx)).where(LedgerEntryRow.log_id == log_id)
        with translate_errors(self._session):
            last = self._session.scalar(stmt)
        return 0 if last is None else last + 1

    def append(self, entries: Sequence[LedgerEntry]) -> int:
        """Append entries of one log, which MUST continue it without a gap; returns the
        new size. A batch is written with one multi-row INSERT (group commit)."""
        if not entries:
            raise ValueError("nothing to append")
        log_id = entries[0].log_id
        start = self.size(log_id)
        for offset, e in enumerate(entries):
            if e.log_id != log_id or e.index != start + offset:
                raise LedgerSequenceError(
                    f"log {log_id} has {start} entries: the batch must hold indexes "
                    f"{start}..{start + len(entries) - 1} of that log, in order"
                )
        rows = [
            {
                "log_id": e.log_id,
                "idx": e.index,
                "entry": e.entry,
                "leaf_hash": e.leaf_hash,
                "time": e.time,
            }
            for e in entries
        ]
        with translate_errors(self._session):
            _bulk_insert(self._session, table_of(LedgerEntryRow), rows)
        return start + len(entries)

    def entries(self, log_id: LogId, start: int, end: int) -> list[LedgerEntry]:
        """Entries ``start <= index < end``, in order."""
        stmt = (
            select(LedgerEntryRow)
            .where(LedgerEntryRow.log_id == log_id)
            .where(LedgerEntryRow.idx >= start)
            .where(LedgerEntryRow.idx < end)
            .order_by(LedgerEntryRow.idx)
        )
        with translate_errors(self._session):
            return [_entry(r) for r in self._session.scalars(stmt)]

    def leaf_hashes(self, log_id: LogId, start: int, end: int) -> list[bytes]:
        """Leaf hashes of entries ``start <= index < end``, in order (no entry bytes)."""
        stmt = (
            select(LedgerEntryRow.leaf_hash)
            .where(LedgerEntryRow.log_id == log_id)
            .where(LedgerEntryRow.idx >= start)
            .where(LedgerEntryRow.idx < end)
            .order_by(LedgerEntryRow.idx)
        )
        with translate_errors(self._session):
            return list(self._session.scalars(stmt))

    # -- integrate ---------------------------------------------------------------------------

    def put_tree_nodes(self, log_id: LogId, nodes: Sequence[TreeNode]) -> None:
        """Store hashes of newly completed subtrees. A node is written once, ever."""
        if not nodes:
            return
        rows = [{"log_id": log_id, "level": n.level, "idx": n.index, "hash": n.hash} for n in nodes]
        with translate_errors(self._session):
            _bulk_insert(self._session, table_of(LedgerTreeNodeRow), rows)

    def tree_nodes(
        self, log_id: LogId, coordinates: Iterable[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        """Stored hashes at the given ``(level, index)`` coordinates; missing ones are absent.

        On PostgreSQL one query per few hundred coordinates (a row-value IN, which uses the
        primary key); on SQLite, where that IN is planned as a scan, one primary-key
        lookup per coordinate through the same prepared statement (about 20 us each).
        """
        wanted = list(dict.fromkeys(coordinates))
        found: dict[tuple[int, int], bytes] = {}
        with translate_errors(self._session):
            conn = self._session.connection()
            # The driver's own cursor: a proof is ~20 primary-key lookups, and the ORM's
            # per-statement overhead (tens of microseconds each) would be most of its cost.
            raw = conn.connection.dbapi_connection
            assert raw is not None
            if conn.dialect.name == "sqlite":
                for level, index in wanted:
                    row = raw.execute(_SQLITE_NODE_AT, (log_id, level, index)).fetchone()
                    if row is not None:
                        found[(level, index)] = bytes(row[0])
                return found
            cursor = raw.cursor()
            try:
                for i in range(0, len(wanted), _LOOKUP_CHUNK):
                    chunk = wanted[i : i + _LOOKUP_CHUNK]
                    levels = [level for level, _ in chunk]
                    indexes = [index for _, index in chunk]
                    cursor.execute(_PG_NODES_AT, (levels, indexes, log_id))
                    for level, index, digest in cursor.fetchall():
                        found[(level, index)] = bytes(digest)
            finally:
                cursor.close()
        return found

    def tree_level(self, log_id: LogId, level: int, start: int, end: int) -> list[bytes]:
        """Stored hashes at ``level`` with ``start <= index < end``, in index order (one
        range scan of the primary key: how tiles are exported)."""
        stmt = (
            select(LedgerTreeNodeRow.hash)
            .where(LedgerTreeNodeRow.log_id == log_id)
            .where(LedgerTreeNodeRow.level == level)
            .where(LedgerTreeNodeRow.idx >= start)
            .where(LedgerTreeNodeRow.idx < end)
            .order_by(LedgerTreeNodeRow.idx)
        )
        with translate_errors(self._session):
            return list(self._session.scalars(stmt))

    # -- publish -----------------------------------------------------------------------------

    def add_checkpoint(
        self, log_id: LogId, *, size: int, root: bytes, note: bytes, time: dt.datetime
    ) -> StoredCheckpoint:
        """Record a signed checkpoint. Its size MUST NOT exceed the entries stored, nor
        fall below the latest checkpoint's (a log never shrinks)."""
        stored = self.size(log_id)
        latest = self.latest_checkpoint(log_id)
        if size > stored or (latest is not None and size < latest.size):
            floor = latest.size if latest else 0
            raise LedgerSequenceError(
                f"checkpoint of size {size} for log {log_id}: must be between {floor} "
                f"(latest checkpoint) and {stored} (entries stored)"
            )
        row = CheckpointRow(log_id=log_id, size=size, root=root, note=note, time=time)
        with translate_errors(self._session):
            self._session.add(row)
            self._session.flush()
        return _checkpoint(row)

    def latest_checkpoint(self, log_id: LogId) -> StoredCheckpoint | None:
        """The largest checkpoint, the most recent one among equals."""
        stmt = (
            select(CheckpointRow)
            .where(CheckpointRow.log_id == log_id)
            .order_by(CheckpointRow.size.desc(), CheckpointRow.id.desc())
            .limit(1)
        )
        with translate_errors(self._session):
            row = self._session.scalars(stmt).first()
        return None if row is None else _checkpoint(row)

    def checkpoints(self, log_id: LogId) -> list[StoredCheckpoint]:
        """The whole history of the log's checkpoints, oldest first."""
        stmt = select(CheckpointRow).where(CheckpointRow.log_id == log_id).order_by("id")
        with translate_errors(self._session):
            return [_checkpoint(r) for r in self._session.scalars(stmt)]

    def add_cosignature(
        self,
        checkpoint_id: CheckpointId,
        *,
        witness_name: str,
        key_id: bytes,
        line: str,
        time: dt.datetime,
    ) -> Cosignature:
        """Record a witness's cosignature. :class:`DuplicateError` for the same line twice."""
        row = CosignatureRow(
            checkpoint_id=checkpoint_id,
            witness_name=witness_name,
            key_id=key_id,
            line=line,
            time=time,
        )
        with translate_errors(self._session):
            self._session.add(row)
            self._session.flush()
        return _cosignature(row)

    def cosignatures(self, checkpoint_id: CheckpointId) -> list[Cosignature]:
        stmt = (
            select(CosignatureRow)
            .where(CosignatureRow.checkpoint_id == checkpoint_id)
            .order_by(CosignatureRow.id)
        )
        with translate_errors(self._session):
            return [_cosignature(r) for r in self._session.scalars(stmt)]
