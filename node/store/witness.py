"""What this node keeps as a witness of its peers' logs.

For each peer log (by checkpoint origin) the witness stores the checkpoints it verified
and cosigned; it only needs the latest to check that the next one is consistent, so old
ones may be pruned. Two signed checkpoints that cannot both be honest (same size,
different roots; or no consistency between them) are kept as equivocation evidence,
append-only and forever.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from node.store.db import insert_ignoring_duplicates, rowcount, translate_errors
from node.store.models import EquivocationRow, WitnessedCheckpointRow


@dataclass(frozen=True, slots=True, kw_only=True)
class WitnessedCheckpoint:
    """A peer's checkpoint we verified; ``cosignature`` is the line we signed, if any."""

    origin: str
    size: int
    root: bytes
    note: bytes
    cosignature: str | None
    received: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Equivocation:
    """Two conflicting signed checkpoints of one log, and why they conflict."""

    id: int
    origin: str
    reason: str
    note_a: bytes
    note_b: bytes
    detected: dt.datetime


def _witnessed(row: WitnessedCheckpointRow) -> WitnessedCheckpoint:
    return WitnessedCheckpoint(
        origin=row.origin,
        size=row.size,
        root=row.root,
        note=row.note,
        cosignature=row.cosignature,
        received=row.received,
    )


def _equivocation(row: EquivocationRow) -> Equivocation:
    return Equivocation(
        id=row.id,
        origin=row.origin,
        reason=row.reason,
        note_a=row.note_a,
        note_b=row.note_b,
        detected=row.detected,
    )


class WitnessRepository:
    """Peer checkpoints witnessed, and equivocation evidence."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def record(self, checkpoint: WitnessedCheckpoint) -> bool:
        """Store a verified checkpoint; ``False`` if this tree state (origin, size, root)
        was already stored."""
        stmt = (
            insert_ignoring_duplicates(
                self._session, WitnessedCheckpointRow, ("origin", "size", "root")
            )
            .values(
                origin=checkpoint.origin,
                size=checkpoint.size,
                root=checkpoint.root,
                note=checkpoint.note,
                cosignature=checkpoint.cosignature,
                received=checkpoint.received,
            )
            .returning(WitnessedCheckpointRow.id)
        )
        with translate_errors(self._session):
            return self._session.execute(stmt).first() is not None

    def latest(self, origin: str) -> WitnessedCheckpoint | None:
        """The largest checkpoint witnessed for ``origin``: where the next one must extend."""
        stmt = (
            select(WitnessedCheckpointRow)
            .where(WitnessedCheckpointRow.origin == origin)
            .order_by(WitnessedCheckpointRow.size.desc(), WitnessedCheckpointRow.id.desc())
            .limit(1)
        )
        with translate_errors(self._session):
            row = self._session.scalars(stmt).first()
        return None if row is None else _witnessed(row)

    def history(self, origin: str) -> list[WitnessedCheckpoint]:
        """Every stored checkpoint of ``origin``, smallest first."""
        stmt = (
            select(WitnessedCheckpointRow)
            .where(WitnessedCheckpointRow.origin == origin)
            .order_by(WitnessedCheckpointRow.size, WitnessedCheckpointRow.id)
        )
        with translate_errors(self._session):
            return [_witnessed(r) for r in self._session.scalars(stmt)]

    def prune(self, origin: str) -> int:
        """Delete all but the latest checkpoint of ``origin``; returns how many."""
        latest = (
            select(WitnessedCheckpointRow.id)
            .where(WitnessedCheckpointRow.origin == origin)
            .order_by(WitnessedCheckpointRow.size.desc(), WitnessedCheckpointRow.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        stmt = (
            delete(WitnessedCheckpointRow)
            .where(WitnessedCheckpointRow.origin == origin)
            .where(WitnessedCheckpointRow.id != latest)
        )
        with translate_errors(self._session):
            return rowcount(
                self._session.execute(stmt, execution_options={"synchronize_session": False})
            )

    def add_equivocation(
        self, origin: str, *, reason: str, note_a: bytes, note_b: bytes, detected: dt.datetime
    ) -> Equivocation:
        """Keep two conflicting signed notes of ``origin`` as evidence (append-only)."""
        row = EquivocationRow(
            origin=origin, reason=reason, note_a=note_a, note_b=note_b, detected=detected
        )
        with translate_errors(self._session):
            self._session.add(row)
            self._session.flush()
        return _equivocation(row)

    def equivocations(self, origin: str | None = None) -> list[Equivocation]:
        stmt = select(EquivocationRow).order_by(EquivocationRow.id)
        if origin is not None:
            stmt = stmt.where(EquivocationRow.origin == origin)
        with translate_errors(self._session):
            return [_equivocation(r) for r in self._session.scalars(stmt)]
