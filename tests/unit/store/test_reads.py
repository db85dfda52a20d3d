"""Cameras, data epochs and reads: round trips, dedup, keys destroyed, nothing in the clear."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from node.ids import CameraId, Epoch, ReadId
from node.store.cameras import CameraRepository
from node.store.db import translate_errors
from node.store.epochs import DataClass, DataEpochRepository
from node.store.errors import (
    ConstraintViolationError,
    DuplicateError,
    EpochDestroyedError,
    NotFoundError,
    ReferenceViolationError,
)
from node.store.reads import NewRead, ReadRepository, SealedCrop
from tests.unit.store import _builders as b
from tests.unit.store.conftest import NOW


@pytest.fixture
def reads(session: Session) -> ReadRepository:
    b.add_camera(session)
    b.epoch(session)
    return ReadRepository(session)


# -- cameras -------------------------------------------------------------------------------


def test_cameras_round_trip(session: Session) -> None:
    repo = CameraRepository(session)
    pier = repo.add(b.camera("cam-pier-01"))
    repo.add(b.camera("cam-ave-02", heading=None))
    assert repo.get(CameraId("cam-pier-01")) == pier
    assert [c.id for c in repo.all()] == ["cam-ave-02", "cam-pier-01"]
    assert repo.get(CameraId("nope")) is None


def test_a_camera_id_is_unique(session: Session) -> None:
    repo = CameraRepository(session)
    repo.add(b.camera())
    with pytest.raises(DuplicateError, match="cameras"):
        repo.add(b.camera(name="Other"))


def test_camera_positions_are_checked_twice(session: Session) -> None:
    with pytest.raises(ValueError, match="out of range"):
        b.camera(lat=91.0)
    with pytest.raises(ConstraintViolationError), translate_errors(session):
        session.execute(
            text(
                "INSERT INTO cameras (id, name, lat, lon, heading, created) "
                "VALUES ('x', 'x', 0, 200, NULL, :t)"
            ),
            {"t": NOW},
        )


def test_removing_cameras(reads: ReadRepository, session: Session) -> None:
    repo = CameraRepository(session)
    with pytest.raises(NotFoundError):
        repo.remove(CameraId("nope"))
    reads.add(b.new_read("pass-1"))
    with pytest.raises(ReferenceViolationError, match="stored reads"):
        repo.remove(CameraId("cam-pier-01"))
    repo.add(b.camera("cam-spare"))
    repo.remove(CameraId("cam-spare"))
    assert repo.get(CameraId("cam-spare")) is None


# -- data epochs ---------------------------------------------------------------------------


def test_an_epoch_is_created_once_and_its_first_key_wins(session: Session) -> None:
    repo = DataEpochRepository(session)
    first = b.epoch(session)
    again = repo.ensure(
        DataClass.READS,
        b.EPOCH,
        starts_at=first.starts_at,
        ends_at=first.ends_at,
        key=b"another key".ljust(32, b"\0"),
        now=NOW,
    )
    assert again == first
    assert repo.live(DataClass.READS) == [first]
    assert repo.live(DataClass.CROPS) == []


def test_destroying_an_epoch_key(session: Session) -> None:
    repo = DataEpochRepository(session)
    created = b.epoch(session)
    later = NOW + dt.timedelta(days=30)
    assert repo.ended_before(DataClass.READS, created.ends_at) == [created]
    assert repo.ended_before(DataClass.READS, created.starts_at) == []

    destroyed = repo.destroy(DataClass.READS, b.EPOCH, now=later)
    assert destroyed.key is None
    assert destroyed.destroyed_at == later
    assert repo.destroy(DataClass.READS, b.EPOCH, now=later + dt.timedelta(days=1)) == destroyed
    assert repo.live(DataClass.READS) == []
    assert repo.ended_before(DataClass.READS, later) == []
    with pytest.raises(EpochDestroyedError):
        b.epoch(session)
    with pytest.raises(NotFoundError):
        repo.destroy(DataClass.READS, Epoch(1), now=later)


def test_a_key_cannot_vanish_without_a_destruction_time(session: Session) -> None:
    b.epoch(session)
    with pytest.raises(ConstraintViolationError), translate_errors(session):
        session.execute(text("UPDATE data_epochs SET key_material = NULL"))


# -- reads ---------------------------------------------------------------------------------


def test_no_table_has_a_plate_column(session: Session) -> None:
    inspector = inspect(session.connection())
    for table in inspector.get_table_names():
        names = {c["name"] for c in inspector.get_columns(table)}
        assert not names & {"plate", "plate_text", "plate_hash"}, table


def test_a_read_round_trips(reads: ReadRepository) -> None:
    new = b.new_read("pass-1", crop=SealedCrop(DataClass.READS, b.EPOCH, ciphertext=b"jpeg"))
    read_id = reads.add(new)
    stored = reads.get(read_id)
    assert stored is not None
    for field in dataclasses.fields(NewRead):
        if field.name != "crop":
            assert getattr(stored, field.name) == getattr(new, field.name), field.name
    assert reads.crop(read_id) == new.crop
    assert reads.get(ReadId(read_id + 1000)) is None


def test_the_dedup_key_is_unique(reads: ReadRepository) -> None:
    reads.add(b.new_read("pass-1"))
    with pytest.raises(DuplicateError, match="dedup_key"):
        reads.add(b.new_read("pass-1", plate="OTHER1"))


def test_a_resumed_ingest_skips_what_it_stored(reads: ReadRepository) -> None:
    first = reads.add(b.new_read("pass-1"))
    batch = [
        b.new_read("pass-1"),
        b.new_read("pass-2", crop=SealedCrop(DataClass.READS, b.EPOCH, reference="crops/2")),
        b.new_read("pass-3"),
        b.new_read("pass-2"),
    ]
    ids = reads.add_many(batch)
    assert ids[0] is None
    assert ids[3] is None
    assert ids[1] is not None
    assert ids[2] is not None
    assert len(set(ids[1:3])) == 2
    assert first not in ids
    assert reads.count() == 3
    assert reads.add_many(batch) == [None, None, None, None]
    assert reads.add_many([]) == []
    assert ids[1] is not None
    crop = reads.crop(ids[1])
    assert crop is not None
    assert crop.reference == "crops/2"


def test_reads_by_time_camera_and_lookup(reads: ReadRepository, session: Session) -> None:
    b.add_camera(session, "cam-ave-02")
    hour = dt.timedelta(hours=1)
    reads.add(b.new_read("a", time=NOW - 2 * hour, plate="AAA111"))
    reads.add(b.new_read("b", time=NOW - hour, plate="BBB222", camera_id="cam-ave-02"))
    reads.add(b.new_read("c", time=NOW, plate="AAA111"))

    assert [r.dedup_key for r in reads.between(NOW - 3 * hour)] == ["a", "b", "c"]
    assert [r.dedup_key for r in reads.between(NOW - hour, NOW)] == ["b"]
    assert [r.dedup_key for r in reads.between(NOW - 3 * hour, limit=1)] == ["a"]
    ave = reads.between(NOW - 3 * hour, camera_id=CameraId("cam-ave-02"))
    assert [r.dedup_key for r in ave] == ["b"]
    assert [r.dedup_key for r in reads.with_lookup(b.tag("AAA111"))] == ["a", "c"]
    assert [r.dedup_key for r in reads.with_lookup(b.tag("AAA111"), since=NOW)] == ["c"]
    assert reads.with_lookup(b.tag("ZZZ999")) == []


def test_reads_need_a_known_camera_and_a_live_epoch(
    reads: ReadRepository, session: Session
) -> None:
    # A failed statement spoils a PostgreSQL transaction: contain it in a savepoint.
    with pytest.raises(ReferenceViolationError), session.begin_nested():
        reads.add(b.new_read("x", camera_id="cam-unknown"))
    with pytest.raises(NotFoundError, match="epoch 7"):
        reads.add(b.new_read("y", number=Epoch(7)))
    DataEpochRepository(session).destroy(DataClass.READS, b.EPOCH, now=NOW)
    with pytest.raises(EpochDestroyedError):
        reads.add_many([b.new_read("z")])


def test_read_fields_are_validated() -> None:
    with pytest.raises(ValueError, match="confidence"):
        dataclasses.replace(b.new_read("x"), confidence=1.5)
    with pytest.raises(ValueError, match="plate_lookup"):
        dataclasses.replace(b.new_read("x"), plate_lookup=b"short")
    with pytest.raises(ValueError, match="aware"):
        dataclasses.replace(b.new_read("x"), time=dt.datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="ciphertext or a reference"):
        SealedCrop(DataClass.CROPS, b.EPOCH)


def test_deleting_an_epoch(reads: ReadRepository, session: Session) -> None:
    other = Epoch(b.EPOCH + 1)
    b.epoch(session, number=other)
    b.epoch(session, DataClass.CROPS)
    crop = SealedCrop(DataClass.CROPS, b.EPOCH, ciphertext=b"jpeg")
    kept = reads.add(b.new_read("new", number=other, crop=crop))
    gone = reads.add(b.new_read("old", crop=crop))

    assert [r.id for r in reads.in_epoch(DataClass.READS, b.EPOCH)] == [gone]
    assert reads.delete_crops(DataClass.CROPS, b.EPOCH) == 2
    assert reads.crop(kept) is None
    assert reads.get(kept) is not None
    assert reads.delete_epoch(DataClass.READS, b.EPOCH) == 1
    assert reads.get(gone) is None
    assert reads.count() == 1
