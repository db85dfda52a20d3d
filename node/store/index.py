"""The private matching index in the store: entries this node made, and entries received.

Responder side (:class:`IndexRepository`): the encrypted entries of each agreement, in
stream order (``sequence``), the per-plate occurrence counters that number them, how far
the indexer has got through the reads, and the plates evaluated per day (rate limit).

Requester side (:class:`PeerIndexRepository`): a replica of each peer's entries under an
agreement, found by entry id when a query or a hotlist derives the ids of its plates, and
the peer's epoch public keys pinned on first use.

Nothing here is a plate: entry ids and labels are opaque without an OPRF output, and
``plate_lookup`` is the node's own keyed tag, which never leaves it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from node.ids import AgreementId, Epoch, NodeId
from node.store.db import insert_ignoring_duplicates, table_of, translate_errors
from node.store.errors import ConstraintViolationError
from node.store.models import (
    IndexEntryRow,
    IndexOccurrenceRow,
    IndexProgressRow,
    PeerEpochKeyRow,
    PeerIndexEntryRow,
    QueryUsageRow,
)

#: Most entries one page of a fetch or stream returns.
MAX_PAGE = 10_000


@dataclass(frozen=True, slots=True)
class IndexRecord:
    """An index entry with its place in the agreement's stream."""

    sequence: int
    epoch: Epoch
    entry_id: bytes
    label: bytes


class PeerKeyChangedError(ConstraintViolationError):
    """A peer answered for an epoch under another public key than the one pinned."""


class IndexRepository:
    """This node's own index entries, as responder."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def claim_occurrences(
        self, agreement_id: AgreementId, epoch: Epoch, lookups: Sequence[bytes]
    ) -> list[int]:
        """The occurrence number of each of ``lookups`` in order, counting repeats within
        the call, and store the new counts. One indexer per node calls this."""
        wanted = sorted(set(lookups))
        with translate_errors(self._session):
            found: dict[bytes, int] = {
                row.plate_lookup: row.count
                for row in self._session.scalars(
                    select(IndexOccurrenceRow)
                    .where(IndexOccurrenceRow.agreement_id == agreement_id)
                    .where(IndexOccurrenceRow.epoch == epoch)
                    .where(IndexOccurrenceRow.plate_lookup.in_(wanted))
                )
            }
            counts = dict(found)
            out = []
            for lookup in lookups:
                n = counts.get(lookup, 0)
                out.append(n)
                counts[lookup] = n + 1
            new = [
                {"agreement_id": agreement_id, "epoch": epoch, "plate_lookup": k, "count": v}
                for k, v in counts.items()
                if k not in found
            ]
            changed = [
                {"a": agreement_id, "e": epoch, "k": k, "v": v}
                for k, v in counts.items()
                if k in found and found[k] != v
            ]
            if new:
                self._session.execute(insert(table_of(IndexOccurrenceRow)), new)
            if changed:
                table = table_of(IndexOccurrenceRow)
                self._session.execute(
                    update(table)
                    .where(table.c.agreement_id == bindparam("a"))
                    .where(table.c.epoch == bindparam("e"))
                    .where(table.c.plate_lookup == bindparam("k"))
                    .values(count=bindparam("v")),
                    changed,
                )
        return out

    def add_entries(
        self,
        agreement_id: AgreementId,
        entries: Iterable[tuple[Epoch, bytes, bytes]],
        *,
        now: dt.datetime,
    ) -> None:
        """Append ``(epoch, entry_id, label)`` entries to the agreement's stream."""
        rows = [
            {
                "agreement_id": agreement_id,
                "epoch": epoch,
                "entry_id": entry_id,
                "label": label,
                "created": now,
            }
            for epoch, entry_id, label in entries
        ]
        if rows:
            with translate_errors(self._session):
                self._session.execute(insert(table_of(IndexEntryRow)), rows)

    def after(
        self,
        agreement_id: AgreementId,
        cursor: int,
        *,
        limit: int = MAX_PAGE,
        epochs: Sequence[int] | None = None,
    ) -> list[IndexRecord]:
        """Entries of the agreement with ``sequence > cursor``, in order."""
        stmt = (
            select(IndexEntryRow)
            .where(IndexEntryRow.agreement_id == agreement_id)
            .where(IndexEntryRow.id > cursor)
        )
        if epochs is not None:
            stmt = stmt.where(IndexEntryRow.epoch.in_(list(epochs)))
        stmt = stmt.order_by(IndexEntryRow.id).limit(min(limit, MAX_PAGE))
        with translate_errors(self._session):
            return [
                IndexRecord(r.id, Epoch(r.epoch), r.entry_id, r.label)
                for r in self._session.scalars(stmt)
            ]

    def count(self, agreement_id: AgreementId) -> int:
        stmt = select(func.count()).where(IndexEntryRow.agreement_id == agreement_id)
        with translate_errors(self._session):
            return self._session.scalar(stmt) or 0

    def progress(self, agreement_id: AgreementId) -> int:
        """The id of the last read indexed for the agreement (0: none yet)."""
        with translate_errors(self._session):
            row = self._session.get(IndexProgressRow, agreement_id)
        return 0 if row is None else row.last_read_id

    def set_progress(
        self, agreement_id: AgreementId, last_read_id: int, *, now: dt.datetime
    ) -> None:
        with translate_errors(self._session):
            row = self._session.get(IndexProgressRow, agreement_id)
            if row is None:
                self._session.add(
                    IndexProgressRow(
                        agreement_id=agreement_id, last_read_id=last_read_id, updated=now
                    )
                )
            else:
                row.last_read_id = max(row.last_read_id, last_read_id)
                row.updated = now
            self._session.flush()

    def used(self, agreement_id: AgreementId, day: int) -> int:
        """Plates evaluated under the agreement on UTC day ``day``."""
        with translate_errors(self._session):
            row = self._session.get(QueryUsageRow, (agreement_id, day), with_for_update=True)
        return 0 if row is None else row.plates

    def add_usage(self, agreement_id: AgreementId, day: int, plates: int) -> None:
        with translate_errors(self._session):
            row = self._session.get(QueryUsageRow, (agreement_id, day), with_for_update=True)
            if row is None:
                self._session.add(QueryUsageRow(agreement_id=agreement_id, day=day, plates=plates))
            else:
                row.plates += plates
            self._session.flush()


class PeerIndexRepository:
    """Peers' index entries received by this node, as requester."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
        self,
        peer_id: NodeId,
        agreement_id: AgreementId,
        records: Sequence[IndexRecord],
        *,
        now: dt.datetime,
    ) -> int:
        """Store received entries (those already held are skipped); returns how many new."""
        if not records:
            return 0
        stmt = insert_ignoring_duplicates(
            self._session, PeerIndexEntryRow, ("peer_id", "agreement_id", "sequence")
        ).returning(PeerIndexEntryRow.sequence)
        rows = [
            {
                "peer_id": peer_id,
                "agreement_id": agreement_id,
                "sequence": r.sequence,
                "epoch": r.epoch,
                "entry_id": r.entry_id,
                "label": r.label,
                "received": now,
            }
            for r in records
        ]
        with translate_errors(self._session):
            return len(self._session.execute(stmt, rows).all())

    def cursor(self, peer_id: NodeId, agreement_id: AgreementId) -> int:
        """The highest sequence held of the peer's stream for the agreement (0: none)."""
        stmt = (
            select(func.max(PeerIndexEntryRow.sequence))
            .where(PeerIndexEntryRow.peer_id == peer_id)
            .where(PeerIndexEntryRow.agreement_id == agreement_id)
        )
        with translate_errors(self._session):
            return self._session.scalar(stmt) or 0

    def find(
        self, peer_id: NodeId, agreement_id: AgreementId, entry_ids: Sequence[bytes]
    ) -> Mapping[bytes, IndexRecord]:
        """The held entries among ``entry_ids``, by id."""
        out: dict[bytes, IndexRecord] = {}
        ids = list(set(entry_ids))
        for start in range(0, len(ids), 500):
            stmt = (
                select(PeerIndexEntryRow)
                .where(PeerIndexEntryRow.peer_id == peer_id)
                .where(PeerIndexEntryRow.agreement_id == agreement_id)
                .where(PeerIndexEntryRow.entry_id.in_(ids[start : start + 500]))
            )
            with translate_errors(self._session):
                for r in self._session.scalars(stmt):
                    out[r.entry_id] = IndexRecord(r.sequence, Epoch(r.epoch), r.entry_id, r.label)
        return out

    def pin_epoch_key(
        self,
        peer_id: NodeId,
        agreement_id: AgreementId,
        epoch: Epoch,
        public_key: bytes,
        *,
        now: dt.datetime,
    ) -> None:
        """Pin the peer's public key for an epoch, or check it against the pinned one."""
        stmt = insert_ignoring_duplicates(
            self._session, PeerEpochKeyRow, ("peer_id", "agreement_id", "epoch")
        ).values(
            peer_id=peer_id,
            agreement_id=agreement_id,
            epoch=epoch,
            public_key=public_key,
            first_seen=now,
        )
        with translate_errors(self._session):
            self._session.execute(stmt)
            pinned = self._session.get(PeerEpochKeyRow, (peer_id, agreement_id, epoch))
        if pinned is None or pinned.public_key != public_key:
            raise PeerKeyChangedError(
                f"{peer_id} answered for epoch {epoch} of {agreement_id} under a key other "
                "than the one it used before"
            )
