"""The private matching index in the store: entries this node made, and entries received.

Responder side (:class:`IndexRepository`): the encrypted entries of each agreement, in
stream order (``sequence``), the per-plate occurrence counters that number them, how far
the indexer has got through the reads, and the plates evaluated per day (rate limit).

Requester side (:class:`PeerIndexRepository`): a replica of each peer's entries under an
agreement, found by (epoch, entry id) when a query or a hotlist derives the ids of its
plates, and the peer's epoch public keys pinned on first use.

The index is most of a node's bytes, so its rows are lean (ADR 0014): an agreement's
entries carry a small scope number, a received entry's key and label are kept in two
dense tables, and each epoch's place is recorded (a span of stream ids, or a row per
received stream) so that expiry deletes an epoch without scanning.

Nothing here is a plate: entry ids and labels are opaque without an OPRF output, and
``plate_lookup`` is the node's own keyed tag, which never leaves it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Select, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from node.ids import AgreementId, Epoch, NodeId
from node.store.db import insert_ignoring_duplicates, table_of, translate_errors
from node.store.errors import ConstraintViolationError
from node.store.models import (
    IndexEntryRow,
    IndexEpochRow,
    IndexOccurrenceRow,
    IndexProgressRow,
    IndexScopeRow,
    PeerEpochKeyRow,
    PeerIndexEpochRow,
    PeerIndexKeyRow,
    PeerIndexLabelRow,
    PeerIndexStreamRow,
    QueryUsageRow,
)

#: Most entries one page of a fetch or stream returns.
MAX_PAGE = 10_000
#: Most values in one ``IN (...)`` list.
_CHUNK = 500


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
        self._scopes: dict[AgreementId, int] = {}

    def _scope(self, agreement_id: AgreementId, *, create: bool) -> int | None:
        """The agreement's scope number; made on first use when ``create``."""
        found = self._scopes.get(agreement_id)
        if found is not None:
            return found
        lookup = select(IndexScopeRow.id).where(IndexScopeRow.agreement_id == agreement_id)
        with translate_errors(self._session):
            found = self._session.scalar(lookup)
            if found is None and create:
                self._session.execute(
                    insert_ignoring_duplicates(
                        self._session, IndexScopeRow, ("agreement_id",)
                    ).values(agreement_id=agreement_id)
                )
                found = self._session.scalar(lookup)
        if found is not None:
            self._scopes[agreement_id] = found
        return found

    def claim_occurrences(
        self, agreement_id: AgreementId, epoch: Epoch, lookups: Sequence[bytes]
    ) -> list[int]:
        """The occurrence number of each of ``lookups`` in order, counting repeats within
        the call, and store the new counts. One indexer per node calls this."""
        scope = self._scope(agreement_id, create=True)
        wanted = sorted(set(lookups))
        with translate_errors(self._session):
            found: dict[bytes, int] = {}
            for start in range(0, len(wanted), _CHUNK):
                found.update(
                    (row.plate_lookup, row.count)
                    for row in self._session.scalars(
                        select(IndexOccurrenceRow)
                        .where(IndexOccurrenceRow.scope_id == scope)
                        .where(IndexOccurrenceRow.epoch == epoch)
                        .where(IndexOccurrenceRow.plate_lookup.in_(wanted[start : start + _CHUNK]))
                    )
                )
            counts = dict(found)
            out = []
            for lookup in lookups:
                n = counts.get(lookup, 0)
                out.append(n)
                counts[lookup] = n + 1
            new = [
                {"scope_id": scope, "epoch": epoch, "plate_lookup": k, "count": v}
                for k, v in counts.items()
                if k not in found
            ]
            changed = [
                {"s": scope, "e": epoch, "k": k, "v": v}
                for k, v in counts.items()
                if k in found and found[k] != v
            ]
            if new:
                self._session.execute(insert(table_of(IndexOccurrenceRow)), new)
            if changed:
                table = table_of(IndexOccurrenceRow)
                self._session.execute(
                    update(table)
                    .where(table.c.scope_id == bindparam("s"))
                    .where(table.c.epoch == bindparam("e"))
                    .where(table.c.plate_lookup == bindparam("k"))
                    .values(count=bindparam("v")),
                    changed,
                )
        return out

    def add_entries(
        self, agreement_id: AgreementId, entries: Iterable[tuple[Epoch, bytes, bytes]]
    ) -> None:
        """Append ``(epoch, entry_id, label)`` entries to the agreement's stream, and widen
        each epoch's span to cover them."""
        scope = self._scope(agreement_id, create=True)
        assert scope is not None
        rows = [
            {"scope_id": scope, "epoch": epoch, "entry_id": entry_id, "label": label}
            for epoch, entry_id, label in entries
        ]
        if not rows:
            return
        stmt = insert(IndexEntryRow).returning(
            IndexEntryRow.id, IndexEntryRow.epoch, sort_by_parameter_order=True
        )
        spans: dict[int, tuple[int, int]] = {}
        with translate_errors(self._session):
            for entry, epoch in self._session.execute(stmt, rows):
                lo, hi = spans.get(epoch, (entry, entry))
                spans[epoch] = (min(lo, entry), max(hi, entry))
            for epoch, (lo, hi) in spans.items():
                span = self._session.get(IndexEpochRow, (scope, epoch))
                if span is None:
                    self._session.add(
                        IndexEpochRow(scope_id=scope, epoch=epoch, first_id=lo, last_id=hi)
                    )
                else:
                    span.first_id, span.last_id = min(span.first_id, lo), max(span.last_id, hi)
            self._session.flush()

    def after(
        self,
        agreement_id: AgreementId,
        cursor: int,
        *,
        limit: int = MAX_PAGE,
        epochs: Sequence[int] | None = None,
    ) -> list[IndexRecord]:
        """Entries of the agreement with ``sequence > cursor``, in order."""
        scope = self._scope(agreement_id, create=False)
        if scope is None:
            return []
        stmt = (
            select(
                IndexEntryRow.id, IndexEntryRow.epoch, IndexEntryRow.entry_id, IndexEntryRow.label
            )
            .where(IndexEntryRow.scope_id == scope)
            .where(IndexEntryRow.id > cursor)
        )
        if epochs is not None:
            stmt = stmt.where(IndexEntryRow.epoch.in_(list(epochs)))
        stmt = stmt.order_by(IndexEntryRow.id).limit(min(limit, MAX_PAGE))
        with translate_errors(self._session):
            return [
                IndexRecord(sequence, Epoch(epoch), entry_id, label)
                for sequence, epoch, entry_id, label in self._session.execute(stmt)
            ]

    def count(self, agreement_id: AgreementId) -> int:
        scope = self._scope(agreement_id, create=False)
        stmt = select(func.count()).where(IndexEntryRow.scope_id == scope)
        with translate_errors(self._session):
            return 0 if scope is None else self._session.scalar(stmt) or 0

    # -- expiry ----------------------------------------------------------------------------

    def _spans(self, epoch: int) -> list[IndexEpochRow]:
        with translate_errors(self._session):
            return list(
                self._session.scalars(select(IndexEpochRow).where(IndexEpochRow.epoch == epoch))
            )

    def entries_of(self, epoch: int) -> list[tuple[str, bytes]]:
        """``(agreement id, entry id)`` of every entry of ``epoch``, through its spans."""
        out: list[tuple[str, bytes]] = []
        for span in self._spans(epoch):
            stmt = (
                select(IndexScopeRow.agreement_id, IndexEntryRow.entry_id)
                .join(IndexScopeRow, IndexScopeRow.id == IndexEntryRow.scope_id)
                .where(IndexEntryRow.scope_id == span.scope_id)
                .where(IndexEntryRow.id.between(span.first_id, span.last_id))
                .where(IndexEntryRow.epoch == epoch)
                .order_by(IndexEntryRow.id)
            )
            with translate_errors(self._session):
                out.extend(self._session.execute(stmt))
        return out

    def counters_of(self, epoch: int) -> list[tuple[str, bytes]]:
        """``(agreement id, plate lookup)`` of every occurrence counter of ``epoch``."""
        stmt = (
            select(IndexScopeRow.agreement_id, IndexOccurrenceRow.plate_lookup)
            .join(IndexScopeRow, IndexScopeRow.id == IndexOccurrenceRow.scope_id)
            .where(IndexOccurrenceRow.scope_id.in_(select(IndexScopeRow.id)))
            .where(IndexOccurrenceRow.epoch == epoch)
        )
        with translate_errors(self._session):
            return list(self._session.execute(stmt))

    def delete_epoch(self, epoch: int) -> None:
        """Delete every entry, span and counter of ``epoch``, by its spans."""
        spans = self._spans(epoch)
        with translate_errors(self._session):
            for span in spans:
                self._session.execute(
                    delete(IndexEntryRow)
                    .where(IndexEntryRow.scope_id == span.scope_id)
                    .where(IndexEntryRow.id.between(span.first_id, span.last_id))
                    .where(IndexEntryRow.epoch == epoch),
                    execution_options={"synchronize_session": False},
                )
            self._session.execute(
                delete(IndexEpochRow).where(IndexEpochRow.epoch == epoch),
                execution_options={"synchronize_session": False},
            )
            self._session.execute(
                delete(IndexOccurrenceRow)
                .where(IndexOccurrenceRow.scope_id.in_(select(IndexScopeRow.id)))
                .where(IndexOccurrenceRow.epoch == epoch),
                execution_options={"synchronize_session": False},
            )

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

    def _stream(self, peer_id: NodeId, agreement_id: AgreementId) -> PeerIndexStreamRow | None:
        stmt = (
            select(PeerIndexStreamRow)
            .where(PeerIndexStreamRow.peer_id == peer_id)
            .where(PeerIndexStreamRow.agreement_id == agreement_id)
        )
        with translate_errors(self._session):
            return self._session.scalar(stmt)

    def add(
        self, peer_id: NodeId, agreement_id: AgreementId, records: Sequence[IndexRecord]
    ) -> int:
        """Store received entries (those already held are skipped); returns how many new.

        The stream's row is claimed first (SQLite's transactions take the write lock when
        they begin; PostgreSQL locks the row), so the alert watcher and a query's sync,
        which may add the same entries at once, never both store one. Held means: at or
        below the stream's cursor, or with a key already stored (a peer that sends an
        entry id twice gets it kept once).
        """
        if not records:
            return 0
        claim = insert_ignoring_duplicates(
            self._session, PeerIndexStreamRow, ("peer_id", "agreement_id")
        ).values(peer_id=peer_id, agreement_id=agreement_id, cursor=0)
        with translate_errors(self._session):
            self._session.execute(claim)
            stream = self._session.scalar(
                select(PeerIndexStreamRow)
                .where(PeerIndexStreamRow.peer_id == peer_id)
                .where(PeerIndexStreamRow.agreement_id == agreement_id)
                .with_for_update()
            )
            assert stream is not None
            fresh: dict[tuple[int, bytes], IndexRecord] = {}
            for r in records:
                if r.sequence > stream.cursor:
                    fresh.setdefault((r.epoch, r.entry_id), r)
            by_epoch: dict[int, list[bytes]] = {}
            for epoch, entry_id in fresh:
                by_epoch.setdefault(epoch, []).append(entry_id)
            for epoch, ids in by_epoch.items():
                for start in range(0, len(ids), _CHUNK):
                    held = (
                        select(PeerIndexKeyRow.entry_id)
                        .where(PeerIndexKeyRow.stream_id == stream.id)
                        .where(PeerIndexKeyRow.epoch == epoch)
                        .where(PeerIndexKeyRow.entry_id.in_(ids[start : start + _CHUNK]))
                    )
                    for entry_id in self._session.scalars(held):
                        del fresh[(epoch, entry_id)]
            new = list(fresh.values())
            if new:
                labels = self._session.execute(
                    insert(PeerIndexLabelRow).returning(
                        PeerIndexLabelRow.id, sort_by_parameter_order=True
                    ),
                    [{"sequence": r.sequence, "label": r.label} for r in new],
                ).scalars()
                self._session.execute(
                    insert(table_of(PeerIndexKeyRow)),
                    [
                        {
                            "stream_id": stream.id,
                            "epoch": r.epoch,
                            "entry_id": r.entry_id,
                            "label_id": label_id,
                        }
                        for r, label_id in zip(new, labels, strict=True)
                    ],
                )
                self._session.execute(
                    insert_ignoring_duplicates(
                        self._session, PeerIndexEpochRow, ("stream_id", "epoch")
                    ),
                    [{"stream_id": stream.id, "epoch": e} for e in sorted({r.epoch for r in new})],
                )
            stream.cursor = max(stream.cursor, max(r.sequence for r in records))
            self._session.flush()
        return len(new)

    def cursor(self, peer_id: NodeId, agreement_id: AgreementId) -> int:
        """The highest sequence held of the peer's stream for the agreement (0: none)."""
        stream = self._stream(peer_id, agreement_id)
        return 0 if stream is None else stream.cursor

    def find(
        self,
        peer_id: NodeId,
        agreement_id: AgreementId,
        epoch: Epoch,
        entry_ids: Sequence[bytes],
    ) -> Mapping[bytes, IndexRecord]:
        """The held entries of ``epoch`` among ``entry_ids``, by id."""
        stream = self._stream(peer_id, agreement_id)
        out: dict[bytes, IndexRecord] = {}
        if stream is None:
            return out
        ids = sorted(set(entry_ids))
        for start in range(0, len(ids), _CHUNK):
            stmt = (
                select(
                    PeerIndexKeyRow.entry_id, PeerIndexLabelRow.sequence, PeerIndexLabelRow.label
                )
                .join(PeerIndexLabelRow, PeerIndexLabelRow.id == PeerIndexKeyRow.label_id)
                .where(PeerIndexKeyRow.stream_id == stream.id)
                .where(PeerIndexKeyRow.epoch == epoch)
                .where(PeerIndexKeyRow.entry_id.in_(ids[start : start + _CHUNK]))
            )
            with translate_errors(self._session):
                for entry_id, sequence, label in self._session.execute(stmt):
                    out[entry_id] = IndexRecord(sequence, epoch, entry_id, label)
        return out

    def count(self, peer_id: NodeId, agreement_id: AgreementId) -> int:
        """How many of the peer's entries under the agreement are held."""
        stream = self._stream(peer_id, agreement_id)
        if stream is None:
            return 0
        stmt = select(func.count()).where(PeerIndexKeyRow.stream_id == stream.id)
        with translate_errors(self._session):
            return self._session.scalar(stmt) or 0

    # -- expiry ----------------------------------------------------------------------------

    def epochs(self, *, ended_by: int) -> dict[Epoch, set[str]]:
        """Epochs below ``ended_by`` of which entries are held, with their agreements."""
        stmt = (
            select(PeerIndexEpochRow.epoch, PeerIndexStreamRow.agreement_id)
            .join(PeerIndexStreamRow, PeerIndexStreamRow.id == PeerIndexEpochRow.stream_id)
            .where(PeerIndexEpochRow.epoch < ended_by)
        )
        out: dict[Epoch, set[str]] = {}
        with translate_errors(self._session):
            for epoch, agreement_id in self._session.execute(stmt):
                out.setdefault(Epoch(epoch), set()).add(agreement_id)
        return out

    def _keys_of(self, epoch: int) -> Select[int, str, str]:
        return (
            select(
                PeerIndexStreamRow.id, PeerIndexStreamRow.peer_id, PeerIndexStreamRow.agreement_id
            )
            .join(PeerIndexEpochRow, PeerIndexEpochRow.stream_id == PeerIndexStreamRow.id)
            .where(PeerIndexEpochRow.epoch == epoch)
            .order_by(PeerIndexStreamRow.id)
        )

    def entries_of(self, epoch: int) -> list[tuple[str, str, bytes]]:
        """``(peer, agreement id, entry id)`` of every held entry of ``epoch``."""
        out: list[tuple[str, str, bytes]] = []
        with translate_errors(self._session):
            for stream_id, peer_id, agreement_id in self._session.execute(self._keys_of(epoch)):
                ids = self._session.scalars(
                    select(PeerIndexKeyRow.entry_id)
                    .where(PeerIndexKeyRow.stream_id == stream_id)
                    .where(PeerIndexKeyRow.epoch == epoch)
                )
                out.extend((peer_id, agreement_id, entry_id) for entry_id in ids)
        return out

    def delete_epoch(self, epoch: int) -> None:
        """Delete every held entry of ``epoch``: its labels, then its keys."""
        options = {"synchronize_session": False}
        with translate_errors(self._session):
            streams = [row[0] for row in self._session.execute(self._keys_of(epoch))]
            for stream_id in streams:
                of_epoch = (PeerIndexKeyRow.stream_id == stream_id) & (
                    PeerIndexKeyRow.epoch == epoch
                )
                self._session.execute(
                    delete(PeerIndexLabelRow).where(
                        PeerIndexLabelRow.id.in_(select(PeerIndexKeyRow.label_id).where(of_epoch))
                    ),
                    execution_options=options,
                )
                self._session.execute(
                    delete(PeerIndexKeyRow).where(of_epoch), execution_options=options
                )
            self._session.execute(
                delete(PeerIndexEpochRow).where(PeerIndexEpochRow.epoch == epoch),
                execution_options=options,
            )

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
