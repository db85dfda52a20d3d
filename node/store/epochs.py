"""Data epochs and their keys: what makes deletion reach every copy.

Each class of data (reads, crops, video...) is encrypted at rest per epoch (a UTC day by
default) under that epoch's data key. Retention destroys the key when the epoch
expires: the key column is set to NULL (overwritten on disk, see
:mod:`node.store.db`) and ``destroyed_at`` records when. Rows that still carry
ciphertext of that epoch are then unreadable by anyone; the store refuses new data for
a destroyed epoch (:class:`EpochDestroyedError`).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from node.ids import Epoch
from node.store.db import insert_ignoring_duplicates, translate_errors
from node.store.errors import EpochDestroyedError, NotFoundError
from node.store.models import DataEpochRow


class DataClass(enum.StrEnum):
    """A class of data with its own retention period and its own epoch keys."""

    READS = "reads"
    HELD_READS = "held_reads"
    CROPS = "crops"
    VIDEO = "video"
    HOTLISTS = "hotlists"
    QUERY_RECORDS = "query_records"
    RECEIVED_HITS = "received_hits"


@dataclass(frozen=True, slots=True)
class DataEpoch:
    """One epoch of one data class. ``key`` is ``None`` once destroyed."""

    data_class: DataClass
    epoch: Epoch
    starts_at: dt.datetime
    ends_at: dt.datetime
    key: bytes | None
    created: dt.datetime
    destroyed_at: dt.datetime | None

    @property
    def destroyed(self) -> bool:
        return self.destroyed_at is not None


def _epoch(row: DataEpochRow) -> DataEpoch:
    return DataEpoch(
        DataClass(row.data_class),
        Epoch(row.epoch),
        row.starts_at,
        row.ends_at,
        row.key_material,
        row.created,
        row.destroyed_at,
    )


class DataEpochRepository:
    """Data keys per (class, epoch)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def ensure(
        self,
        data_class: DataClass,
        epoch: Epoch,
        *,
        starts_at: dt.datetime,
        ends_at: dt.datetime,
        key: bytes,
        now: dt.datetime,
    ) -> DataEpoch:
        """The live epoch, created with ``key`` if it did not exist yet.

        Safe when several writers race to create the same epoch: one key wins and all
        get it. Raises :class:`EpochDestroyedError` if the epoch's key was destroyed.
        """
        stmt = insert_ignoring_duplicates(
            self._session, DataEpochRow, ("data_class", "epoch")
        ).values(
            data_class=data_class.value,
            epoch=epoch,
            starts_at=starts_at,
            ends_at=ends_at,
            key_material=key,
            created=now,
            destroyed_at=None,
        )
        with translate_errors(self._session):
            self._session.execute(stmt)
        found = self.get(data_class, epoch)
        assert found is not None
        if found.destroyed:
            raise EpochDestroyedError(f"the {data_class} key of epoch {epoch} was destroyed")
        return found

    def get(self, data_class: DataClass, epoch: Epoch) -> DataEpoch | None:
        with translate_errors(self._session):
            row = self._session.get(DataEpochRow, (data_class.value, epoch), populate_existing=True)
        return None if row is None else _epoch(row)

    def live(self, data_class: DataClass) -> list[DataEpoch]:
        """Epochs of ``data_class`` whose key still exists, oldest first."""
        stmt = (
            select(DataEpochRow)
            .where(DataEpochRow.data_class == data_class.value)
            .where(DataEpochRow.destroyed_at.is_(None))
            .order_by(DataEpochRow.epoch)
        )
        with translate_errors(self._session):
            return [_epoch(r) for r in self._session.scalars(stmt)]

    def ended_before(self, data_class: DataClass, cutoff: dt.datetime) -> list[DataEpoch]:
        """Live epochs of ``data_class`` that ended at or before ``cutoff``: due for deletion."""
        stmt = (
            select(DataEpochRow)
            .where(DataEpochRow.data_class == data_class.value)
            .where(DataEpochRow.destroyed_at.is_(None))
            .where(DataEpochRow.ends_at <= cutoff)
            .order_by(DataEpochRow.epoch)
        )
        with translate_errors(self._session):
            return [_epoch(r) for r in self._session.scalars(stmt)]

    def destroy(self, data_class: DataClass, epoch: Epoch, *, now: dt.datetime) -> DataEpoch:
        """Destroy the epoch's key. Idempotent: a second call keeps the first time."""
        stmt = (
            update(DataEpochRow)
            .where(DataEpochRow.data_class == data_class.value)
            .where(DataEpochRow.epoch == epoch)
            .where(DataEpochRow.destroyed_at.is_(None))
            .values(key_material=None, destroyed_at=now)
        )
        with translate_errors(self._session):
            self._session.execute(stmt, execution_options={"synchronize_session": False})
        found = self.get(data_class, epoch)
        if found is None:
            raise NotFoundError(f"no {data_class} epoch {epoch}")
        return found


def require_live(session: Session, keys: set[tuple[str, int]]) -> None:
    """Raise :class:`EpochDestroyedError` unless every ``(data_class, epoch)`` has its key.

    On PostgreSQL the epoch rows are share-locked until the transaction ends, so the key
    cannot be destroyed between this check and the caller's insert; on SQLite, writers
    are serialised and a concurrent destroy makes our commit fail instead.
    """
    for data_class, epoch in sorted(keys):
        stmt = (
            select(DataEpochRow.destroyed_at)
            .where(DataEpochRow.data_class == data_class)
            .where(DataEpochRow.epoch == epoch)
            .with_for_update(read=True)
        )
        with translate_errors(session):
            found = session.execute(stmt).first()
        if found is None:
            raise NotFoundError(f"no {data_class} epoch {epoch}: create its key first")
        if found[0] is not None:
            raise EpochDestroyedError(f"the {data_class} key of epoch {epoch} was destroyed")
