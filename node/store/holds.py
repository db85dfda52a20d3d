"""Case holds and the held copies of their reads, in the node's own store.

A hold copies the reads it covers into ``held_reads``, re-sealed under the hold's own data
key (class ``held_reads``, epoch = the hold's id; see :mod:`node.retention.holds`). The
original reads stay where they were and expire with their day like any other; the copies
expire with the hold. Destroying one day's key therefore never touches a held read, and
releasing one hold destroys exactly that hold's key.

This module keeps the SQL; it never sees a plate: a plate selector is its lookup tag.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from node.ids import CameraId, Epoch
from node.store.db import rowcount, translate_errors
from node.store.epochs import DataClass, DataEpochRepository, require_live
from node.store.errors import NotFoundError
from node.store.models import CaseHoldRow, DataEpochRow, HeldReadRow, ReadCropRow, ReadRow


class HoldSelector(enum.StrEnum):
    """How a hold names its reads."""

    PLATE = "plate"
    READS = "reads"
    CAMERA = "camera"


@dataclass(frozen=True, slots=True, kw_only=True)
class Hold:
    """A stored hold. ``held`` counts its copies still in the store."""

    id: int
    case_number: str
    case_salt: bytes
    approver: str
    reason: str
    selector: HoldSelector
    camera_id: CameraId | None
    from_time: dt.datetime | None
    to_time: dt.datetime | None
    expires: dt.datetime
    created: dt.datetime
    released_at: dt.datetime | None
    ledger_index: int | None
    held: int

    @property
    def epoch(self) -> Epoch:
        """The epoch of the hold's data key in class ``held_reads``."""
        return Epoch(self.id)

    def live(self, now: dt.datetime) -> bool:
        """Whether the hold still keeps its reads: logged, not released, not expired."""
        return self.ledger_index is not None and self.released_at is None and self.expires > now


@dataclass(frozen=True, slots=True, kw_only=True)
class NewHold:
    case_number: str
    case_salt: bytes
    approver: str
    reason: str
    selector: HoldSelector
    plate_lookup: bytes | None = None
    camera_id: CameraId | None = None
    from_time: dt.datetime | None = None
    to_time: dt.datetime | None = None
    expires: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadToHold:
    """A stored read as sealed under its day's key, with its crop: what a hold copies."""

    id: int
    dedup_key: str
    epoch: Epoch
    camera_id: str
    time: dt.datetime
    plate_ciphertext: bytes
    plate_lookup: bytes
    confidence: float
    candidates_ciphertext: bytes | None
    crop_epoch: Epoch | None
    crop_ciphertext: bytes | None
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HeldCopy:
    """One read re-sealed under a hold's key."""

    dedup_key: str
    read_epoch: Epoch
    camera_id: str
    time: dt.datetime
    plate_ciphertext: bytes
    plate_lookup: bytes
    confidence: float
    candidates_ciphertext: bytes | None
    crop_ciphertext: bytes | None
    source: str


class HoldRepository:
    """Holds, the reads they select, and their held copies."""

    def __init__(self, session: Session) -> None:
        self._session = session

    # -- selecting reads -------------------------------------------------------------------

    def reads_to_hold(
        self,
        *,
        plate_lookup: bytes | None = None,
        read_ids: Sequence[int] | None = None,
        camera_id: str | None = None,
        between: tuple[dt.datetime, dt.datetime] | None = None,
    ) -> list[ReadToHold]:
        """Reads of class ``reads`` whose day key is live and that match the selector."""
        stmt = (
            select(ReadRow, ReadCropRow.epoch, ReadCropRow.ciphertext)
            .join(
                DataEpochRow,
                (DataEpochRow.data_class == ReadRow.data_class)
                & (DataEpochRow.epoch == ReadRow.epoch),
            )
            .outerjoin(ReadCropRow, ReadCropRow.read_id == ReadRow.id)
            .where(ReadRow.data_class == DataClass.READS.value)
            .where(DataEpochRow.destroyed_at.is_(None))
            .order_by(ReadRow.id)
        )
        if plate_lookup is not None:
            stmt = stmt.where(ReadRow.plate_lookup == plate_lookup)
        if read_ids is not None:
            stmt = stmt.where(ReadRow.id.in_(list(read_ids)))
        if camera_id is not None:
            stmt = stmt.where(ReadRow.camera_id == camera_id)
        if between is not None:
            stmt = stmt.where(ReadRow.time >= between[0]).where(ReadRow.time < between[1])
        with translate_errors(self._session):
            rows = self._session.execute(stmt).all()
        return [
            ReadToHold(
                id=r.id,
                dedup_key=r.dedup_key,
                epoch=Epoch(r.epoch),
                camera_id=r.camera_id,
                time=r.time,
                plate_ciphertext=r.plate_ciphertext,
                plate_lookup=r.plate_lookup,
                confidence=r.confidence,
                candidates_ciphertext=r.candidates_ciphertext,
                crop_epoch=None if crop_epoch is None else Epoch(crop_epoch),
                crop_ciphertext=crop,
                source=r.source,
            )
            for r, crop_epoch, crop in rows
        ]

    # -- holds -----------------------------------------------------------------------------

    def add(self, hold: NewHold, *, now: dt.datetime) -> int:
        """Store a hold; returns its id (also its key's epoch)."""
        row = CaseHoldRow(
            case_number=hold.case_number,
            case_salt=hold.case_salt,
            approver=hold.approver,
            reason=hold.reason,
            selector=hold.selector.value,
            plate_lookup=hold.plate_lookup,
            camera_id=hold.camera_id,
            from_time=hold.from_time,
            to_time=hold.to_time,
            expires=hold.expires,
            created=now,
            released_at=None,
            ledger_index=None,
        )
        with translate_errors(self._session):
            self._session.add(row)
            self._session.flush()
        return row.id

    def add_copies(self, hold_id: int, copies: Sequence[HeldCopy]) -> None:
        """Store held copies; the hold's key MUST exist (checked, and share-locked)."""
        if not copies:
            return
        require_live(self._session, {(DataClass.HELD_READS.value, hold_id)})
        with translate_errors(self._session):
            self._session.add_all(
                HeldReadRow(
                    hold_id=hold_id,
                    dedup_key=c.dedup_key,
                    data_class=DataClass.HELD_READS.value,
                    epoch=hold_id,
                    read_epoch=c.read_epoch,
                    camera_id=c.camera_id,
                    time=c.time,
                    plate_ciphertext=c.plate_ciphertext,
                    plate_lookup=c.plate_lookup,
                    confidence=c.confidence,
                    candidates_ciphertext=c.candidates_ciphertext,
                    crop_ciphertext=c.crop_ciphertext,
                    source=c.source,
                )
                for c in copies
            )
            self._session.flush()

    def get(self, hold_id: int) -> Hold | None:
        found = self._load(CaseHoldRow.id == hold_id)
        return found[0] if found else None

    def all(self) -> list[Hold]:
        """Every hold, newest first."""
        return self._load()

    def release(self, hold_id: int, *, now: dt.datetime) -> Hold:
        """Mark a hold released (its copies go at the next purge); idempotent."""
        stmt = (
            update(CaseHoldRow)
            .where(CaseHoldRow.id == hold_id)
            .where(CaseHoldRow.released_at.is_(None))
            .values(released_at=now)
        )
        with translate_errors(self._session):
            self._session.execute(stmt, execution_options={"synchronize_session": False})
        found = self.get(hold_id)
        if found is None:
            raise NotFoundError(f"no hold {hold_id}")
        return found

    def mark_logged(self, hold_id: int, ledger_index: int) -> None:
        """The hold's ``hold.add`` entry is durable: from now on the hold is in force."""
        stmt = (
            update(CaseHoldRow).where(CaseHoldRow.id == hold_id).values(ledger_index=ledger_index)
        )
        with translate_errors(self._session):
            self._session.execute(stmt, execution_options={"synchronize_session": False})

    def due(self, *, now: dt.datetime, created_before: dt.datetime) -> list[Epoch]:
        """Epochs (hold ids) whose key is live and whose hold ended: released, expired,
        made before ``created_before`` (older than the ``held_reads`` setting allows), or
        never logged (the node stopped between storing and logging it)."""
        stmt = (
            select(CaseHoldRow.id)
            .join(
                DataEpochRow,
                (DataEpochRow.data_class == DataClass.HELD_READS.value)
                & (DataEpochRow.epoch == CaseHoldRow.id),
            )
            .where(DataEpochRow.destroyed_at.is_(None))
            .where(
                or_(
                    CaseHoldRow.released_at.is_not(None),
                    CaseHoldRow.expires <= now,
                    CaseHoldRow.created <= created_before,
                    CaseHoldRow.ledger_index.is_(None),
                )
            )
            .order_by(CaseHoldRow.id)
        )
        with translate_errors(self._session):
            return [Epoch(i) for i in self._session.scalars(stmt)]

    def delete_copies(self, hold_id: int) -> int:
        stmt = delete(HeldReadRow).where(HeldReadRow.hold_id == hold_id)
        with translate_errors(self._session):
            return rowcount(
                self._session.execute(stmt, execution_options={"synchronize_session": False})
            )

    def copies(self, hold_id: int) -> list[HeldReadRow]:
        """The held copies of a hold, as stored (for the hold's own opener)."""
        stmt = (
            select(HeldReadRow)
            .where(HeldReadRow.hold_id == hold_id)
            .order_by(HeldReadRow.time, HeldReadRow.dedup_key)
        )
        with translate_errors(self._session):
            return list(self._session.scalars(stmt))

    def key(self, hold_id: int) -> bytes | None:
        found = DataEpochRepository(self._session).get(DataClass.HELD_READS, Epoch(hold_id))
        return None if found is None else found.key

    def _load(self, *criteria: object) -> list[Hold]:
        held = (
            select(HeldReadRow.hold_id, func.count().label("n"))
            .group_by(HeldReadRow.hold_id)
            .subquery()
        )
        stmt = (
            select(CaseHoldRow, held.c.n)
            .outerjoin(held, held.c.hold_id == CaseHoldRow.id)
            .where(*criteria)  # type: ignore[arg-type]
            .order_by(CaseHoldRow.id.desc())
            .execution_options(populate_existing=True)
        )
        with translate_errors(self._session):
            rows = self._session.execute(stmt).all()
        return [
            Hold(
                id=r.id,
                case_number=r.case_number,
                case_salt=r.case_salt,
                approver=r.approver,
                reason=r.reason,
                selector=HoldSelector(r.selector),
                camera_id=None if r.camera_id is None else CameraId(r.camera_id),
                from_time=r.from_time,
                to_time=r.to_time,
                expires=r.expires,
                created=r.created,
                released_at=r.released_at,
                ledger_index=r.ledger_index,
                held=n or 0,
            )
            for r, n in rows
        ]
