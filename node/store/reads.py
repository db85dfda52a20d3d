"""Plate reads in the node's own store, encrypted at rest per epoch.

A read never holds a plate in the clear: ``plate_ciphertext`` (and the other candidate
strings, and the crop) are sealed under the key of the read's ``(data_class, epoch)``, and
``plate_lookup`` is a keyed tag for finding a plate's reads locally. ``dedup_key`` names
the vehicle pass (camera, stream position, track; or the imported record's id) so that an
interrupted ingest can be run again without duplicates. It MUST NOT contain the plate or
an unkeyed hash of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from node.ids import CameraId, Epoch, ReadId
from node.store.db import insert_ignoring_duplicates, rowcount, table_of, translate_errors
from node.store.epochs import DataClass, require_live
from node.store.models import ReadCropRow, ReadRow

MAX_DEDUP_KEY = 255


@dataclass(frozen=True, slots=True)
class SealedCrop:
    """A plate crop sealed under its own ``(data_class, epoch)`` key: inline, or a
    reference to a sealed file."""

    data_class: DataClass
    epoch: Epoch
    ciphertext: bytes | None = None
    reference: str | None = None

    def __post_init__(self) -> None:
        if self.ciphertext is None and self.reference is None:
            raise ValueError("a crop needs a ciphertext or a reference")


@dataclass(frozen=True, slots=True, kw_only=True)
class NewRead:
    """A read to store."""

    camera_id: CameraId
    time: dt.datetime
    epoch: Epoch
    plate_ciphertext: bytes
    plate_lookup: bytes
    confidence: float
    source: str
    dedup_key: str
    data_class: DataClass = DataClass.READS
    candidates_ciphertext: bytes | None = None
    crop: SealedCrop | None = None

    def __post_init__(self) -> None:
        if self.time.tzinfo is None:
            raise ValueError("read time must be timezone-aware")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence {self.confidence} not in [0, 1]")
        if len(self.plate_lookup) != 32:
            raise ValueError("plate_lookup must be a 32-byte keyed tag")
        if not self.plate_ciphertext:
            raise ValueError("plate_ciphertext is empty")
        if not 0 < len(self.dedup_key) <= MAX_DEDUP_KEY:
            raise ValueError(f"dedup_key must be 1-{MAX_DEDUP_KEY} characters")


@dataclass(frozen=True, slots=True, kw_only=True)
class Read:
    """A stored read (its crop, if any, comes from :meth:`ReadRepository.crop`)."""

    id: ReadId
    camera_id: CameraId
    time: dt.datetime
    data_class: DataClass
    epoch: Epoch
    plate_ciphertext: bytes
    plate_lookup: bytes
    confidence: float
    candidates_ciphertext: bytes | None
    source: str
    dedup_key: str


def _values(read: NewRead) -> dict[str, Any]:
    return {
        "camera_id": read.camera_id,
        "time": read.time,
        "data_class": read.data_class.value,
        "epoch": read.epoch,
        "plate_ciphertext": read.plate_ciphertext,
        "plate_lookup": read.plate_lookup,
        "confidence": read.confidence,
        "candidates_ciphertext": read.candidates_ciphertext,
        "source": read.source,
        "dedup_key": read.dedup_key,
    }


def _read(row: ReadRow) -> Read:
    return Read(
        id=ReadId(row.id),
        camera_id=CameraId(row.camera_id),
        time=row.time,
        data_class=DataClass(row.data_class),
        epoch=Epoch(row.epoch),
        plate_ciphertext=row.plate_ciphertext,
        plate_lookup=row.plate_lookup,
        confidence=row.confidence,
        candidates_ciphertext=row.candidates_ciphertext,
        source=row.source,
        dedup_key=row.dedup_key,
    )


class ReadRepository:
    """Reads and their crops."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, read: NewRead) -> ReadId:
        """Store one read. Raises :class:`DuplicateError` if its ``dedup_key`` is known."""
        self._require_live([read])
        with translate_errors(self._session):
            new_id = self._session.scalar(
                insert(ReadRow).values(**_values(read)).returning(ReadRow.id)
            )
            assert new_id is not None
            self._add_crops([(ReadId(new_id), read)])
        return ReadId(new_id)

    def add_many(self, reads: Sequence[NewRead]) -> list[ReadId | None]:
        """Store reads whose ``dedup_key`` is new, skipping the others (a resumed ingest).

        Returns, for each read in order, its new id or ``None`` if it was a duplicate.
        """
        if not reads:
            return []
        self._require_live(reads)
        stmt = insert_ignoring_duplicates(self._session, ReadRow, ("dedup_key",)).returning(
            ReadRow.id, ReadRow.dedup_key
        )
        with translate_errors(self._session):
            result = self._session.execute(stmt, [_values(r) for r in reads])
            new_ids = {key: ReadId(rid) for rid, key in result}
            ids: list[ReadId | None] = []
            for read in reads:
                ids.append(new_ids.pop(read.dedup_key, None))
            self._add_crops([(i, r) for i, r in zip(ids, reads, strict=True) if i is not None])
        return ids

    def _require_live(self, reads: Sequence[NewRead]) -> None:
        keys = {(r.data_class.value, int(r.epoch)) for r in reads}
        keys |= {(r.crop.data_class.value, int(r.crop.epoch)) for r in reads if r.crop}
        require_live(self._session, keys)

    def _add_crops(self, stored: Sequence[tuple[ReadId, NewRead]]) -> None:
        crops = [
            {
                "read_id": read_id,
                "data_class": r.crop.data_class.value,
                "epoch": r.crop.epoch,
                "ciphertext": r.crop.ciphertext,
                "reference": r.crop.reference,
            }
            for read_id, r in stored
            if r.crop is not None
        ]
        if crops:
            self._session.execute(insert(table_of(ReadCropRow)), crops)

    def get(self, read_id: ReadId) -> Read | None:
        with translate_errors(self._session):
            row = self._session.get(ReadRow, read_id)
        return None if row is None else _read(row)

    def between(
        self,
        since: dt.datetime,
        until: dt.datetime | None = None,
        *,
        camera_id: CameraId | None = None,
        limit: int | None = None,
    ) -> list[Read]:
        """Reads with ``since <= time < until``, oldest first."""
        stmt = select(ReadRow).where(ReadRow.time >= since)
        if until is not None:
            stmt = stmt.where(ReadRow.time < until)
        if camera_id is not None:
            stmt = stmt.where(ReadRow.camera_id == camera_id)
        stmt = stmt.order_by(ReadRow.time, ReadRow.id).limit(limit)
        with translate_errors(self._session):
            return [_read(r) for r in self._session.scalars(stmt)]

    def after_id(self, last_id: int, *, limit: int) -> list[Read]:
        """Reads with ``id > last_id`` in id order (the indexer's feed)."""
        stmt = select(ReadRow).where(ReadRow.id > last_id).order_by(ReadRow.id).limit(limit)
        with translate_errors(self._session):
            return [_read(r) for r in self._session.scalars(stmt)]

    def with_lookup(self, plate_lookup: bytes, *, since: dt.datetime | None = None) -> list[Read]:
        """Reads of the plate whose keyed lookup tag is ``plate_lookup``, oldest first."""
        stmt = select(ReadRow).where(ReadRow.plate_lookup == plate_lookup)
        if since is not None:
            stmt = stmt.where(ReadRow.time >= since)
        with translate_errors(self._session):
            return [_read(r) for r in self._session.scalars(stmt.order_by(ReadRow.time))]

    def in_epoch(self, data_class: DataClass, epoch: Epoch) -> list[Read]:
        """Every read sealed under ``(data_class, epoch)``, in id order."""
        stmt = (
            select(ReadRow)
            .where(ReadRow.data_class == data_class.value)
            .where(ReadRow.epoch == epoch)
            .order_by(ReadRow.id)
        )
        with translate_errors(self._session):
            return [_read(r) for r in self._session.scalars(stmt)]

    def crop(self, read_id: ReadId) -> SealedCrop | None:
        with translate_errors(self._session):
            row = self._session.get(ReadCropRow, read_id)
        if row is None:
            return None
        return SealedCrop(
            DataClass(row.data_class), Epoch(row.epoch), row.ciphertext, row.reference
        )

    def with_crops(self, read_ids: Sequence[ReadId]) -> set[ReadId]:
        """Which of ``read_ids`` have a crop (one query per 500 ids, no ciphertext read)."""
        out: set[ReadId] = set()
        for start in range(0, len(read_ids), 500):
            stmt = select(ReadCropRow.read_id).where(
                ReadCropRow.read_id.in_(read_ids[start : start + 500])
            )
            with translate_errors(self._session):
                out.update(ReadId(i) for i in self._session.scalars(stmt))
        return out

    def count(self) -> int:
        with translate_errors(self._session):
            return self._session.scalar(select(func.count()).select_from(ReadRow)) or 0

    def delete_epoch(self, data_class: DataClass, epoch: Epoch) -> int:
        """Delete the reads sealed under ``(data_class, epoch)`` (and their crops)."""
        stmt = (
            delete(ReadRow)
            .where(ReadRow.data_class == data_class.value)
            .where(ReadRow.epoch == epoch)
        )
        with translate_errors(self._session):
            return rowcount(
                self._session.execute(stmt, execution_options={"synchronize_session": False})
            )

    def delete_crops(self, data_class: DataClass, epoch: Epoch) -> int:
        """Delete the crops sealed under ``(data_class, epoch)``; their reads stay."""
        stmt = (
            delete(ReadCropRow)
            .where(ReadCropRow.data_class == data_class.value)
            .where(ReadCropRow.epoch == epoch)
        )
        with translate_errors(self._session):
            return rowcount(
                self._session.execute(stmt, execution_options={"synchronize_session": False})
            )
