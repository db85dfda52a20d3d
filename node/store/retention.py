"""What an expired epoch holds, deleting it, and the intent rows that make that resumable.

:mod:`node.retention.purge` drives these; this module keeps the SQL. For one
``(data_class, epoch)`` the *inventory* lists every row and key that expiry removes, by a
token naming its kind (``reads``, ``crops``, ``index_entries``...) and an identifier that
names the record, never its content: a read's dedup key, an entry's id, an agreement id.
The identifiers are only ever hashed into the commitment root of ``retention.deleted``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.orm import Session

from node.ids import Epoch
from node.store.db import insert_ignoring_duplicates, translate_errors
from node.store.epochs import DataClass, DataEpochRepository
from node.store.index import IndexRepository, PeerIndexRepository
from node.store.models import (
    CaseHoldRow,
    HeldReadRow,
    HotlistEntryRow,
    OprfEpochKeyRow,
    QueryUsageRow,
    ReadCropRow,
    ReadRow,
    RetentionDeclarationRow,
    RetentionPurgeRow,
    SeenRequestRow,
)

#: Classes whose rows are reads (with their crops). Held reads are copies in their own
#: table (:mod:`node.store.holds`), one epoch per hold.
READ_CLASSES = frozenset({DataClass.READS})
#: Classes of which the node keeps nothing: no rows, no files, nothing to purge. Video is
#: read from the file or stream it arrives in and never copied (ADR 0007).
NOT_STORED = frozenset({DataClass.VIDEO})

Inventory = Mapping[str, list[bytes]]


@dataclass(frozen=True, slots=True)
class PurgeIntent:
    """A purge of one epoch, as far as it got."""

    data_class: DataClass
    epoch: Epoch
    counts: Mapping[str, int]
    deleted_root: bytes
    started: dt.datetime
    deleted_at: dt.datetime | None
    ledger_from: int | None
    ledger_index: int | None


def _intent(row: RetentionPurgeRow) -> PurgeIntent:
    return PurgeIntent(
        DataClass(row.data_class),
        Epoch(row.epoch),
        json.loads(row.counts),
        row.deleted_root,
        row.started,
        row.deleted_at,
        row.ledger_from,
        row.ledger_index,
    )


def _reads_of(data_class: DataClass, epoch: Epoch) -> ColumnElement[bool]:
    return (ReadRow.data_class == data_class.value) & (ReadRow.epoch == epoch)


_UNIX = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_DAY = dt.timedelta(days=1)


def _day(epoch: Epoch) -> tuple[dt.datetime, dt.datetime]:
    start = _UNIX + epoch * _DAY
    return start, start + _DAY


def _seen_in(epoch: Epoch) -> ColumnElement[bool]:
    start, end = _day(epoch)
    return (SeenRequestRow.seen >= start) & (SeenRequestRow.seen < end)


class RetentionRepository:
    """Inventory, deletion and intent rows of expired epochs."""

    def __init__(self, session: Session) -> None:
        self._session = session

    # -- what is there -------------------------------------------------------------------

    def inventory(self, data_class: DataClass, epoch: Epoch) -> Inventory:
        """Identifiers of everything expiry of ``(data_class, epoch)`` removes, by kind."""
        s = self._session
        out: dict[str, list[bytes]] = {}

        def add(token: str, stmt: object) -> None:
            with translate_errors(s):
                rows = s.execute(stmt).all()  # type: ignore[call-overload]
            listed(token, rows)

        def listed(token: str, rows: Sequence[Sequence[object]]) -> None:
            out[token] = [b"\x00".join(_bytes(v) for v in r) for r in rows]

        if data_class in READ_CLASSES:
            read_ids = select(ReadRow.id).where(_reads_of(data_class, epoch))
            add("reads", select(ReadRow.dedup_key).where(_reads_of(data_class, epoch)))
            add("crops", select(ReadCropRow.read_id).where(ReadCropRow.read_id.in_(read_ids)))
        if data_class is DataClass.READS:
            listed("index_entries", IndexRepository(s).entries_of(epoch))
            listed("index_counters", IndexRepository(s).counters_of(epoch))
            listed("replica_entries", PeerIndexRepository(s).entries_of(epoch))
            add(
                "oprf_keys",
                select(OprfEpochKeyRow.agreement_id)
                .where(OprfEpochKeyRow.epoch == epoch)
                .where(OprfEpochKeyRow.destroyed_at.is_(None)),
            )
        if data_class is DataClass.CROPS:
            add(
                "crops",
                select(ReadCropRow.read_id)
                .where(ReadCropRow.data_class == data_class.value)
                .where(ReadCropRow.epoch == epoch),
            )
        if data_class is DataClass.HELD_READS:
            add("held_reads", select(HeldReadRow.dedup_key).where(HeldReadRow.hold_id == epoch))
        if data_class is DataClass.QUERY_RECORDS:
            add(
                "query_usage",
                select(QueryUsageRow.agreement_id).where(QueryUsageRow.day == epoch),
            )
            add(
                "seen_requests",
                select(SeenRequestRow.peer_id, SeenRequestRow.request_id).where(_seen_in(epoch)),
            )
        if data_class is DataClass.RECEIVED_HITS:
            listed("replica_entries", PeerIndexRepository(s).entries_of(epoch))
        if data_class is DataClass.HOTLISTS:
            add(
                "hotlist_entries",
                select(HotlistEntryRow.id)
                .where(HotlistEntryRow.data_class == data_class.value)
                .where(HotlistEntryRow.epoch == epoch),
            )
        found = DataEpochRepository(s).get(data_class, epoch)
        live = found is not None and not found.destroyed
        out["data_keys"] = [f"{data_class.value}:{epoch}".encode()] if live else []
        return out

    def indexed_epochs(self, *, ended_by: Epoch) -> list[Epoch]:
        """Epochs below ``ended_by`` that still have an OPRF key or a peer's index entry.

        A key can exist for a day with no reads (a query answered for it), and a requester
        holds peers' entries for days it has no reads of its own, so the reads purge looks
        here as well as at the data epochs.
        """
        keys = (
            select(OprfEpochKeyRow.epoch)
            .where(OprfEpochKeyRow.destroyed_at.is_(None))
            .where(OprfEpochKeyRow.epoch < ended_by)
            .distinct()
        )
        with translate_errors(self._session):
            found = {Epoch(e) for e in self._session.scalars(keys)}
        found |= set(PeerIndexRepository(self._session).epochs(ended_by=ended_by))
        return sorted(found)

    def query_record_days(self, *, ended_by: Epoch) -> list[Epoch]:
        """Days below ``ended_by`` with a plate count or a remembered request id."""
        usage = select(QueryUsageRow.day).where(QueryUsageRow.day < ended_by).distinct()
        seen = select(SeenRequestRow.seen).where(SeenRequestRow.seen < _day(ended_by)[0])
        with translate_errors(self._session):
            days = {Epoch(d) for d in self._session.scalars(usage)}
            days |= {Epoch((t - _UNIX) // _DAY) for t in self._session.scalars(seen)}
        return sorted(days)

    def received_epochs(self, *, ended_by: Epoch) -> dict[Epoch, set[str]]:
        """Epochs below ``ended_by`` of peers' replicated entries, with their agreements."""
        return PeerIndexRepository(self._session).epochs(ended_by=ended_by)

    # -- deleting it ---------------------------------------------------------------------

    def delete(self, data_class: DataClass, epoch: Epoch, *, now: dt.datetime) -> None:
        """Delete what :meth:`inventory` lists and destroy the keys; idempotent.

        The data key is destroyed *first*: from then on the store refuses new rows for the
        epoch (:func:`node.store.epochs.require_live`), so nothing arrives behind the
        deletes within this transaction.
        """
        s = self._session
        epochs = DataEpochRepository(s)
        if epochs.get(data_class, epoch) is not None:
            epochs.destroy(data_class, epoch, now=now)
        stmts: list[object] = []
        if data_class in READ_CLASSES:
            read_ids = select(ReadRow.id).where(_reads_of(data_class, epoch))
            stmts.append(delete(ReadCropRow).where(ReadCropRow.read_id.in_(read_ids)))
            stmts.append(delete(ReadRow).where(_reads_of(data_class, epoch)))
        if data_class is DataClass.READS:
            IndexRepository(s).delete_epoch(epoch)
            PeerIndexRepository(s).delete_epoch(epoch)
            stmts.append(
                update(OprfEpochKeyRow)
                .where(OprfEpochKeyRow.epoch == epoch)
                .where(OprfEpochKeyRow.destroyed_at.is_(None))
                .values(secret=None, destroyed_at=now)
            )
        if data_class is DataClass.CROPS:
            stmts.append(
                delete(ReadCropRow)
                .where(ReadCropRow.data_class == data_class.value)
                .where(ReadCropRow.epoch == epoch)
            )
        if data_class is DataClass.HELD_READS:
            stmts.append(delete(HeldReadRow).where(HeldReadRow.hold_id == epoch))
            # The hold's record stays (its case, approver and dates); its plate tag goes.
            stmts.append(
                update(CaseHoldRow).where(CaseHoldRow.id == epoch).values(plate_lookup=None)
            )
        if data_class is DataClass.QUERY_RECORDS:
            stmts.append(delete(QueryUsageRow).where(QueryUsageRow.day == epoch))
            stmts.append(delete(SeenRequestRow).where(_seen_in(epoch)))
        if data_class is DataClass.RECEIVED_HITS:
            PeerIndexRepository(s).delete_epoch(epoch)
        if data_class is DataClass.HOTLISTS:
            stmts.append(
                delete(HotlistEntryRow)
                .where(HotlistEntryRow.data_class == data_class.value)
                .where(HotlistEntryRow.epoch == epoch)
            )
        with translate_errors(s):
            for stmt in stmts:
                s.execute(stmt, execution_options={"synchronize_session": False})  # type: ignore[call-overload]

    # -- intent rows ---------------------------------------------------------------------

    def get(self, data_class: DataClass, epoch: Epoch) -> PurgeIntent | None:
        with translate_errors(self._session):
            row = self._session.get(
                RetentionPurgeRow, (data_class.value, epoch), populate_existing=True
            )
        return None if row is None else _intent(row)

    def start(
        self,
        data_class: DataClass,
        epoch: Epoch,
        *,
        counts: Mapping[str, int],
        deleted_root: bytes,
        now: dt.datetime,
    ) -> PurgeIntent:
        """Record the intent to purge (a no-op if one is recorded); returns the stored one."""
        stmt = insert_ignoring_duplicates(
            self._session, RetentionPurgeRow, ("data_class", "epoch")
        ).values(
            data_class=data_class.value,
            epoch=epoch,
            counts=_json(counts),
            deleted_root=deleted_root,
            started=now,
            deleted_at=None,
            ledger_from=None,
            ledger_index=None,
        )
        with translate_errors(self._session):
            self._session.execute(stmt)
        found = self.get(data_class, epoch)
        assert found is not None
        return found

    def mark_deleted(
        self,
        data_class: DataClass,
        epoch: Epoch,
        *,
        counts: Mapping[str, int],
        deleted_root: bytes,
        now: dt.datetime,
    ) -> None:
        """The rows are gone and the keys destroyed: fix what was actually deleted."""
        self._update(
            data_class, epoch, counts=_json(counts), deleted_root=deleted_root, deleted_at=now
        )

    def set_ledger_from(self, data_class: DataClass, epoch: Epoch, size: int) -> None:
        self._update(data_class, epoch, ledger_from=size)

    def mark_recorded(self, data_class: DataClass, epoch: Epoch, index: int) -> None:
        self._update(data_class, epoch, ledger_index=index)

    def unfinished(self) -> list[PurgeIntent]:
        """Purges without their ledger entry yet, oldest epoch first."""
        stmt = (
            select(RetentionPurgeRow)
            .where(RetentionPurgeRow.ledger_index.is_(None))
            .order_by(RetentionPurgeRow.epoch, RetentionPurgeRow.data_class)
            .execution_options(populate_existing=True)
        )
        with translate_errors(self._session):
            return [_intent(r) for r in self._session.scalars(stmt)]

    def _update(self, data_class: DataClass, epoch: Epoch, **values: object) -> None:
        stmt = (
            update(RetentionPurgeRow)
            .where(RetentionPurgeRow.data_class == data_class.value)
            .where(RetentionPurgeRow.epoch == epoch)
            .values(**values)
        )
        with translate_errors(self._session):
            self._session.execute(stmt, execution_options={"synchronize_session": False})


def _bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def _json(counts: Mapping[str, int]) -> str:
    return json.dumps(dict(counts), sort_keys=True, separators=(",", ":"))


class DeclarationRepository:
    """The retention settings this node last declared on its ledger."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def latest(self) -> str | None:
        """The detail of the latest declaration, or ``None`` before the first."""
        stmt = (
            select(RetentionDeclarationRow.detail)
            .order_by(RetentionDeclarationRow.id.desc())
            .limit(1)
        )
        with translate_errors(self._session):
            return self._session.scalars(stmt).first()

    def add(self, detail: str, *, ledger_index: int, now: dt.datetime) -> None:
        with translate_errors(self._session):
            self._session.add(
                RetentionDeclarationRow(detail=detail, declared=now, ledger_index=ledger_index)
            )
            self._session.flush()
