"""Case holds: keep the reads of a case past their class's age, under the hold's own key.

A hold needs a case number, an approver and an expiry, and names its reads by plate, by
read ids, or by camera and time range. Adding one copies every matching read (and its
crop) into ``held_reads``, re-sealed under a fresh data key of class ``held_reads`` whose
epoch is the hold's number. Why copies under a key of their own, and not the day's key
kept alive:

- destroying a day's key must destroy everything of that day that is *not* held: a day
  key kept for one held read would keep every other read of the day decryptable in
  every backup;
- two holds may cover the same read and end at different times; with a copy per hold,
  releasing one destroys exactly its key and leaves the other whole.

The originals expire with their day as if nothing were held. When a hold is released
or expires, its reads are due under the normal class: the copies and the hold's key go
at the next purge (``retention.deleted`` with class ``held_reads`` and the hold's number
as epoch), and an original still inside its own class's age stays until that age.

A hold takes effect once ``admin.action`` ``hold.add`` is on the ledger; releasing one
logs ``hold.release`` first. Neither names the plate, the approver or the case number:
the case appears as a salted commitment, the approver as a keyed pseudonym. Holds are
added and released under the purge's lock, so no purge sees a hold half-made.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from crypto.at_rest import open_sealed, plate_lookup, seal
from node.ids import CameraId, Epoch
from node.ledger.recorder import Recorder
from node.plates import normalise
from node.retention.errors import HoldNotFoundError, HoldStateError, InvalidHoldError
from node.retention.settings import RetentionSettings
from node.store.db import session_scope
from node.store.epochs import DataClass, DataEpochRepository
from node.store.holds import HeldCopy, Hold, HoldRepository, HoldSelector, NewHold, ReadToHold

#: The commitment the ledgers use for case numbers (as in hit queries): SHA-256 over this
#: tag, a 32-byte salt the node keeps, and the case number.
CASE_COMMIT_TAG = b"accord/case-commit/v1\n"
#: Fields of a sealed read, as :mod:`node.sealed_reads` names them.
_PLATE, _CANDIDATES, _CROP = b"plate", b"candidates", b"crop"
MAX_CASE_NUMBER = 64
MAX_APPROVER = 200
MAX_REASON = 1000
MAX_READ_IDS = 10_000


def case_commit(salt: bytes, case_number: str) -> str:
    """The hex commitment to ``case_number`` that the ledger records."""
    return hashlib.sha256(CASE_COMMIT_TAG + salt + case_number.encode()).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldRequest:
    """What an admin asks for; exactly one selector: plate, read ids, or camera + range."""

    case_number: str
    approver: str
    reason: str
    expires: dt.datetime | None
    plate: str | None = None
    read_ids: tuple[int, ...] = ()
    camera_id: str | None = None
    from_time: dt.datetime | None = None
    to_time: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class AddedHold:
    hold: Hold
    ledger_index: int


@dataclass(frozen=True, slots=True, kw_only=True)
class HeldRead:
    """A held copy, opened: for this node's own admins only."""

    dedup_key: str
    camera_id: str
    time: dt.datetime
    plate: str
    has_crop: bool


def check_request(
    request: HoldRequest, *, now: dt.datetime, settings: RetentionSettings
) -> HoldSelector:
    """The request's selector, or :class:`InvalidHoldError` naming what is wrong."""
    _text(request.case_number, "a case number (--case)", MAX_CASE_NUMBER)
    _text(request.approver, "an approver (--approver)", MAX_APPROVER)
    _text(request.reason, "a reason (--reason)", MAX_REASON)
    if request.expires is None:
        raise InvalidHoldError("a hold needs an expiry (--expires)")
    if request.expires <= now:
        raise InvalidHoldError(
            f"the hold's expiry {request.expires.isoformat()} is not in the future"
        )
    longest = settings.max_age[DataClass.HELD_READS]
    if request.expires > now + longest:
        raise InvalidHoldError(
            f"the hold's expiry is beyond the held_reads setting of {longest.days} days; "
            "renew the hold when it nears its end instead"
        )
    chosen = [
        s
        for s, given in (
            (HoldSelector.PLATE, request.plate is not None),
            (HoldSelector.READS, bool(request.read_ids)),
            (
                HoldSelector.CAMERA,
                any(v is not None for v in (request.camera_id, request.from_time, request.to_time)),
            ),
        )
        if given
    ]
    if len(chosen) != 1:
        raise InvalidHoldError(
            "a hold names its reads one way: --plate, --read-id, or --camera with --from/--to"
        )
    selector = chosen[0]
    if selector is HoldSelector.PLATE and not normalise(request.plate or ""):
        raise InvalidHoldError("the plate to hold is empty")
    if selector is HoldSelector.READS and len(request.read_ids) > MAX_READ_IDS:
        raise InvalidHoldError(f"a hold names at most {MAX_READ_IDS} read ids")
    if selector is HoldSelector.CAMERA:
        if request.camera_id is None or request.from_time is None or request.to_time is None:
            raise InvalidHoldError("a camera hold needs --camera, --from and --to")
        if request.to_time <= request.from_time:
            raise InvalidHoldError("a camera hold's --to must be after its --from")
    return selector


def _text(value: str, what: str, longest: int) -> None:
    if not value.strip():
        raise InvalidHoldError(f"a hold needs {what}")
    if len(value) > longest or not value.isprintable():
        raise InvalidHoldError(f"{what} must be printable, at most {longest} characters")


class HoldDesk:
    """Adds, lists and releases the holds of one node."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        recorder: Recorder,
        lookup_key: bytes,
        settings: Callable[[], RetentionSettings],
        lock: asyncio.Lock,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._sessions = sessions
        self._recorder = recorder
        self._lookup_key = lookup_key
        self._settings = settings
        #: The purge's lock: a purge never runs while a hold is being added or released.
        self._lock = lock
        self._clock = clock

    async def add(self, request: HoldRequest) -> AddedHold:
        """Store the hold and its copies, log ``hold.add``, then put the hold in force."""
        now = self._clock()
        selector = check_request(request, now=now, settings=self._settings())
        async with self._lock:
            hold = await asyncio.to_thread(self._store, request, selector, now)
            index = await self._recorder.record(
                "admin.action",
                action="hold.add",
                actor=self._recorder.actor(request.approver),
                detail=(
                    f"hold.add hold={hold.id} "
                    f"case_commit={case_commit(hold.case_salt, hold.case_number)} "
                    f"selector={hold.selector.value} reads={hold.held} "
                    f"expires={_utc(hold.expires)}"
                ),
            )
            await asyncio.to_thread(self._mark_logged, hold.id, index)
        return AddedHold(_with_index(hold, index), index)

    async def release(self, hold_id: int, *, admin: str) -> tuple[Hold, int]:
        """Log ``hold.release`` and release the hold; its copies go at the next purge."""
        async with self._lock:
            hold = await asyncio.to_thread(self._get, hold_id)
            if hold.released_at is not None or hold.ledger_index is None:
                raise HoldStateError(f"hold {hold_id} was already released")
            index = await self._recorder.record(
                "admin.action",
                action="hold.release",
                actor=self._recorder.actor(admin),
                detail=(
                    f"hold.release hold={hold.id} "
                    f"case_commit={case_commit(hold.case_salt, hold.case_number)} "
                    f"reads={hold.held}"
                ),
            )
            released = await asyncio.to_thread(self._release, hold_id)
        return released, index

    def all(self) -> list[Hold]:
        """Every hold, newest first."""
        with session_scope(self._sessions) as s:
            return HoldRepository(s).all()

    # -- in a worker thread ----------------------------------------------------------------

    def _store(self, request: HoldRequest, selector: HoldSelector, now: dt.datetime) -> Hold:
        assert request.expires is not None
        lookup = None
        if selector is HoldSelector.PLATE:
            lookup = plate_lookup(self._lookup_key, normalise(request.plate or ""))
        with session_scope(self._sessions) as s:
            repo = HoldRepository(s)
            reads = repo.reads_to_hold(
                plate_lookup=lookup,
                read_ids=request.read_ids or None,
                camera_id=request.camera_id,
                between=(
                    (request.from_time, request.to_time)
                    if request.from_time is not None and request.to_time is not None
                    else None
                ),
            )
            if selector is HoldSelector.READS:
                missing = sorted(set(request.read_ids) - {r.id for r in reads})
                if missing:
                    shown = ", ".join(str(i) for i in missing[:5])
                    raise InvalidHoldError(f"no stored read with id {shown}")
            if not reads:
                raise InvalidHoldError("no stored read matches the hold: nothing to keep")
            hold_id = repo.add(
                NewHold(
                    case_number=request.case_number,
                    case_salt=os.urandom(32),
                    approver=request.approver,
                    reason=request.reason,
                    selector=selector,
                    plate_lookup=lookup,
                    camera_id=None if request.camera_id is None else CameraId(request.camera_id),
                    from_time=request.from_time,
                    to_time=request.to_time,
                    expires=request.expires,
                ),
                now=now,
            )
            epochs = DataEpochRepository(s)
            key = os.urandom(32)
            epochs.ensure(
                DataClass.HELD_READS,
                Epoch(hold_id),
                starts_at=now,
                ends_at=request.expires,
                key=key,
                now=now,
            )
            repo.add_copies(hold_id, _resealed(epochs, reads, hold_id, key))
            hold = repo.get(hold_id)
        assert hold is not None
        return hold

    def _mark_logged(self, hold_id: int, index: int) -> None:
        with session_scope(self._sessions) as s:
            HoldRepository(s).mark_logged(hold_id, index)

    def _get(self, hold_id: int) -> Hold:
        with session_scope(self._sessions) as s:
            hold = HoldRepository(s).get(hold_id)
        if hold is None:
            raise HoldNotFoundError(f"no hold {hold_id}")
        return hold

    def _release(self, hold_id: int) -> Hold:
        with session_scope(self._sessions) as s:
            return HoldRepository(s).release(hold_id, now=self._clock())


def _resealed(
    epochs: DataEpochRepository, reads: Sequence[ReadToHold], hold_id: int, key: bytes
) -> list[HeldCopy]:
    """Open each read under its day's keys and seal it under the hold's key."""
    day_keys: dict[tuple[DataClass, Epoch], bytes | None] = {}

    def day_key(data_class: DataClass, epoch: Epoch) -> bytes | None:
        if (data_class, epoch) not in day_keys:
            found = epochs.get(data_class, epoch)
            day_keys[(data_class, epoch)] = None if found is None else found.key
        return day_keys[(data_class, epoch)]

    copies = []
    for r in reads:
        read_key = day_key(DataClass.READS, r.epoch)
        assert read_key is not None  # reads_to_hold selects reads of live days only
        as_read = _Sealed(read_key, DataClass.READS, r.epoch, r.dedup_key)
        crop = None
        if r.crop_ciphertext is not None and r.crop_epoch is not None:
            crop_key = day_key(DataClass.CROPS, r.crop_epoch)
            if crop_key is not None:
                as_crop = _Sealed(crop_key, DataClass.CROPS, r.crop_epoch, r.dedup_key)
                crop = as_crop.moved(_CROP, r.crop_ciphertext, key, hold_id)
        candidates = r.candidates_ciphertext
        copies.append(
            HeldCopy(
                dedup_key=r.dedup_key,
                read_epoch=r.epoch,
                camera_id=r.camera_id,
                time=r.time,
                plate_ciphertext=as_read.moved(_PLATE, r.plate_ciphertext, key, hold_id),
                plate_lookup=r.plate_lookup,
                confidence=r.confidence,
                candidates_ciphertext=(
                    None
                    if candidates is None
                    else as_read.moved(_CANDIDATES, candidates, key, hold_id)
                ),
                crop_ciphertext=crop,
                source=r.source,
            )
        )
    return copies


@dataclass(frozen=True, slots=True)
class _Sealed:
    """Where a sealed value lives now: key, class, epoch and record of its binding."""

    key: bytes
    data_class: DataClass
    epoch: Epoch
    record: str

    def moved(self, purpose: bytes, sealed: bytes, hold_key: bytes, hold_id: int) -> bytes:
        """The same plaintext, sealed for the same field of the record in the hold."""
        clear = open_sealed(
            self.key, purpose, self.data_class.value, self.epoch, self.record, sealed
        )
        return seal(hold_key, purpose, DataClass.HELD_READS.value, hold_id, self.record, clear)


def held_reads(session: Session, hold_id: int) -> list[HeldRead]:
    """The copies a hold keeps, opened under its key; empty once the key is destroyed."""
    repo = HoldRepository(session)
    key = repo.key(hold_id)
    if key is None:
        return []
    cls = DataClass.HELD_READS.value
    return [
        HeldRead(
            dedup_key=row.dedup_key,
            camera_id=row.camera_id,
            time=row.time,
            plate=open_sealed(
                key, _PLATE, cls, hold_id, row.dedup_key, row.plate_ciphertext
            ).decode(),
            has_crop=row.crop_ciphertext is not None,
        )
        for row in repo.copies(hold_id)
    ]


def _utc(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _with_index(hold: Hold, index: int) -> Hold:
    return dataclasses.replace(hold, ledger_index=index)
