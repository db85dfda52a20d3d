"""The node's read store seen in the clear: seal reads on the way in, open them on the way out.

:mod:`node.store.reads` keeps only ciphertext and keyed tags. This module is the one place
that turns an :class:`~node.ingest.observed.ObservedRead` into sealed columns and back:

- the read's epoch is its UTC day; the data keys of ``reads`` and ``crops`` for that day
  are created on first use (:class:`~node.store.epochs.DataEpochRepository`);
- the plate, the candidate list (with raw strings) and the crop are sealed with
  :func:`crypto.at_rest.seal`, bound to the read's dedup key, epoch and field;
- ``plate_lookup`` is the node-local keyed tag of the plate (:func:`crypto.at_rest.plate_lookup`);
- the dedup key names the record (source, camera, the source's own id) and never the
  plate: with no source id it uses the time and the first 8 bytes of the keyed tag.

Storing the same observed reads twice stores nothing the second time, which is what makes
an interrupted ingest or import safe to run again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from crypto.at_rest import open_sealed, plate_lookup, seal
from node.alpr.reads import Candidate
from node.ids import CameraId, Epoch, ReadId
from node.ingest.errors import UnknownCameraError
from node.ingest.observed import ObservedRead
from node.plates import normalise
from node.store.cameras import CameraRepository
from node.store.epochs import DataClass, DataEpochRepository
from node.store.reads import NewRead, Read, ReadRepository, SealedCrop

_DAY = dt.timedelta(days=1)
_UNIX = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_PLATE = b"plate"
_CANDIDATES = b"candidates"
_CROP = b"crop"


def day_epoch(at: dt.datetime) -> Epoch:
    """The epoch (UTC day number since 1970-01-01) that ``at`` falls in."""
    return Epoch((at.astimezone(dt.UTC) - _UNIX) // _DAY)


def epoch_bounds(epoch: Epoch) -> tuple[dt.datetime, dt.datetime]:
    start = _UNIX + epoch * _DAY
    return start, start + _DAY


def ensure_day_key(
    epochs: DataEpochRepository, data_class: DataClass, epoch: Epoch, *, now: dt.datetime
) -> bytes:
    """The data key of ``(data_class, epoch)`` for a UTC-day epoch, made at random on first use.

    For other sealed stores (hotlists) that follow the same key rules as reads. Raises
    :class:`~node.store.errors.EpochDestroyedError` if retention destroyed the key.
    """
    start, end = epoch_bounds(epoch)
    found = epochs.ensure(
        data_class, epoch, starts_at=start, ends_at=end, key=os.urandom(32), now=now
    )
    assert found.key is not None  # ensure() raises rather than return a destroyed epoch
    return found.key


@dataclass(frozen=True, slots=True)
class StoreResult:
    """How many observed reads were stored, and how many were already there."""

    stored: int
    duplicates: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadView:
    """A stored read, opened: for this node's own admins and analysts only."""

    id: ReadId
    camera_id: CameraId
    time: dt.datetime
    candidates: tuple[Candidate, ...]
    source: str
    has_crop: bool

    @property
    def text(self) -> str:
        return self.candidates[0].text

    @property
    def confidence(self) -> float:
        return self.candidates[0].confidence


class SealedReads:
    """Seals observed reads into the store and opens stored ones, within one session."""

    def __init__(self, session: Session, lookup_key: bytes) -> None:
        self._session = session
        self._lookup_key = lookup_key
        self._reads = ReadRepository(session)
        self._epochs = DataEpochRepository(session)
        self._keys: dict[tuple[DataClass, Epoch], bytes] = {}

    def store(self, observed: Sequence[ObservedRead], *, now: dt.datetime) -> StoreResult:
        """Seal and store ``observed``, skipping those whose record is already stored.

        Raises :class:`UnknownCameraError` (and stores nothing) if any read names a camera
        this node does not have.
        """
        if not observed:
            return StoreResult(0, 0)
        cameras = CameraRepository(self._session)
        for camera_id in sorted({o.camera_id for o in observed}):
            if cameras.get(camera_id) is None:
                raise UnknownCameraError(camera_id)
        new = [self._sealed(o, now=now) for o in observed]
        ids = self._reads.add_many(new)
        stored = sum(1 for i in ids if i is not None)
        return StoreResult(stored, len(ids) - stored)

    def between(
        self,
        since: dt.datetime,
        until: dt.datetime | None = None,
        *,
        camera_id: CameraId | None = None,
        limit: int | None = None,
    ) -> list[ReadView]:
        """Stored reads with ``since <= time < until``, oldest first, opened.

        Reads of an epoch whose key was destroyed are gone from the answer: retention has
        made them unreadable, and they are about to be deleted.
        """
        found = self._reads.between(since, until, camera_id=camera_id, limit=limit)
        cropped = self._reads.with_crops([r.id for r in found])
        return [view for r in found if (view := self._opened(r, r.id in cropped)) is not None]

    def after_id(self, last_id: int, *, limit: int) -> list[tuple[Read, ReadView | None]]:
        """Reads with ``id > last_id``, in id order, each with its opened view (``None``
        when its epoch key is destroyed)."""
        found = self._reads.after_id(last_id, limit=limit)
        cropped = self._reads.with_crops([r.id for r in found])
        return [(r, self._opened(r, r.id in cropped)) for r in found]

    def crop_jpeg(self, read: ReadView | Read) -> bytes | None:
        """The plate crop of a stored read, opened; ``None`` if it has none or it expired."""
        stored = self._reads.get(read.id) if isinstance(read, ReadView) else read
        crop = self._reads.crop(read.id)
        if stored is None or crop is None or crop.ciphertext is None:
            return None
        key = self._key(crop.data_class, crop.epoch, create=False)
        if key is None:
            return None
        return open_sealed(
            key, _CROP, crop.data_class.value, crop.epoch, stored.dedup_key, crop.ciphertext
        )

    # -- sealing ---------------------------------------------------------------------------

    def _sealed(self, o: ObservedRead, *, now: dt.datetime) -> NewRead:
        epoch = day_epoch(o.time)
        key = self._key(DataClass.READS, epoch, create=True, now=now)
        assert key is not None
        lookup = plate_lookup(self._lookup_key, normalise(o.text))
        dedup = dedup_key(o, lookup)
        cls = DataClass.READS.value
        crop = None
        if o.crop_jpeg is not None:
            crop_key = self._key(DataClass.CROPS, epoch, create=True, now=now)
            assert crop_key is not None
            crop = SealedCrop(
                DataClass.CROPS,
                epoch,
                ciphertext=seal(crop_key, _CROP, DataClass.CROPS.value, epoch, dedup, o.crop_jpeg),
            )
        return NewRead(
            camera_id=o.camera_id,
            time=o.time,
            epoch=epoch,
            plate_ciphertext=seal(key, _PLATE, cls, epoch, dedup, o.text.encode()),
            plate_lookup=lookup,
            confidence=o.confidence,
            source=o.source,
            dedup_key=dedup,
            candidates_ciphertext=seal(
                key, _CANDIDATES, cls, epoch, dedup, _encode_candidates(o.candidates)
            ),
            crop=crop,
        )

    def _key(
        self,
        data_class: DataClass,
        epoch: Epoch,
        *,
        create: bool,
        now: dt.datetime | None = None,
    ) -> bytes | None:
        cached = self._keys.get((data_class, epoch))
        if cached is not None:
            return cached
        if create:
            assert now is not None
            start, end = epoch_bounds(epoch)
            found = self._epochs.ensure(
                data_class, epoch, starts_at=start, ends_at=end, key=os.urandom(32), now=now
            )
        else:
            maybe = self._epochs.get(data_class, epoch)
            if maybe is None:
                return None
            found = maybe
        if found.key is None:
            return None
        self._keys[(data_class, epoch)] = found.key
        return found.key

    # -- opening ---------------------------------------------------------------------------

    def _opened(self, r: Read, has_crop: bool) -> ReadView | None:
        key = self._key(r.data_class, r.epoch, create=False)
        if key is None:
            return None
        cls = r.data_class.value
        if r.candidates_ciphertext is not None:
            blob = open_sealed(key, _CANDIDATES, cls, r.epoch, r.dedup_key, r.candidates_ciphertext)
            candidates = _decode_candidates(blob)
        else:
            plate = open_sealed(key, _PLATE, cls, r.epoch, r.dedup_key, r.plate_ciphertext).decode()
            candidates = (Candidate(plate, plate, r.confidence),)
        return ReadView(
            id=r.id,
            camera_id=r.camera_id,
            time=r.time,
            candidates=candidates,
            source=r.source,
            has_crop=has_crop,
        )


def dedup_key(o: ObservedRead, lookup: bytes) -> str:
    """The record's stable name: source, camera and the source's id, never the plate."""
    if o.external_id is not None:
        return f"{o.source}:{o.camera_id}:{o.external_id}"
    millis = (o.time - _UNIX) // dt.timedelta(milliseconds=1)
    return f"{o.source}:{o.camera_id}:{millis}:{lookup[:8].hex()}"


def _encode_candidates(candidates: Iterable[Candidate]) -> bytes:
    rows = [[c.text, c.raw, round(c.confidence, 6)] for c in candidates]
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False).encode()


def _decode_candidates(blob: bytes) -> tuple[Candidate, ...]:
    rows = json.loads(blob)
    return tuple(Candidate(str(t), str(raw), float(c)) for t, raw, c in rows)
