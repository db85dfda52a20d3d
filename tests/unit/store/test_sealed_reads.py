"""Reads sealed on the way in and opened on the way out, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from crypto.at_rest import open_sealed, plate_lookup
from crypto.errors import AtRestError
from node.alpr.reads import Candidate
from node.ids import CameraId
from node.ingest.errors import UnknownCameraError
from node.ingest.observed import ObservedRead
from node.sealed_reads import SealedReads, day_epoch, dedup_key
from node.store.epochs import DataClass, DataEpochRepository
from node.store.reads import ReadRepository
from tests.unit.store import _builders as b
from tests.unit.store.conftest import NOW

LOOKUP_KEY = bytes(range(32))
PLATE = "7QRS482"


def observed(plate: str = PLATE, *, at: dt.datetime = NOW, **overrides: object) -> ObservedRead:
    fields: dict[str, object] = {
        "camera_id": CameraId("cam-pier-01"),
        "time": at,
        "candidates": (
            Candidate(plate, plate[:3] + " " + plate[3:], 0.9),
            Candidate("7QR5482", "7QR5482", 0.4),
        ),
        "source": "video",
        "external_id": "file-abc:17",
        "crop_jpeg": b"\xff\xd8 not really a jpeg \xff\xd9",
    }
    fields.update(overrides)
    return ObservedRead(**fields)  # type: ignore[arg-type]


@pytest.fixture
def vault(session: Session) -> SealedReads:
    b.add_camera(session)
    return SealedReads(session, LOOKUP_KEY)


def test_a_read_round_trips_with_its_candidates_raw_strings_and_crop(vault: SealedReads) -> None:
    result = vault.store([observed()], now=NOW)
    assert (result.stored, result.duplicates) == (1, 0)
    (view,) = vault.between(NOW - dt.timedelta(minutes=1))
    assert view.text == PLATE
    assert [c.text for c in view.candidates] == [PLATE, "7QR5482"]
    assert view.candidates[0].raw == "7QR S482"
    assert view.confidence == pytest.approx(0.9)
    assert view.has_crop
    assert vault.crop_jpeg(view) == observed().crop_jpeg


def test_storing_again_stores_nothing(vault: SealedReads) -> None:
    vault.store([observed()], now=NOW)
    again = vault.store([observed(), observed(external_id="file-abc:90")], now=NOW)
    assert (again.stored, again.duplicates) == (1, 1)


def test_without_a_source_id_the_key_names_time_and_a_keyed_tag_never_the_plate(
    vault: SealedReads,
) -> None:
    o = observed(external_id=None)
    key = dedup_key(o, plate_lookup(LOOKUP_KEY, PLATE))
    assert PLATE not in key and "7QR" not in key
    assert vault.store([o, o], now=NOW).stored == 1


def test_an_unknown_camera_stores_nothing(vault: SealedReads, session: Session) -> None:
    with pytest.raises(UnknownCameraError, match="cam-nowhere"):
        vault.store(
            [observed(external_id="a"), observed(camera_id=CameraId("cam-nowhere"))], now=NOW
        )
    assert ReadRepository(session).count() == 0


def test_no_plate_string_is_stored_in_the_clear(vault: SealedReads, session: Session) -> None:
    vault.store([observed()], now=NOW)
    for table in ("reads", "read_crops"):
        for row in session.execute(text(f"SELECT * FROM {table}")):
            for value in row:
                blob = value if isinstance(value, bytes) else str(value).encode()
                assert PLATE.encode() not in blob
                assert b"7QR" not in blob


def test_ciphertexts_are_bound_to_their_row(vault: SealedReads, session: Session) -> None:
    vault.store([observed(), observed("8ABC123", external_id="other")], now=NOW)
    first, second = ReadRepository(session).between(NOW - dt.timedelta(minutes=1))
    key = DataEpochRepository(session).get(DataClass.READS, day_epoch(NOW))
    assert key is not None and key.key is not None
    assert open_sealed(
        key.key, b"plate", "reads", first.epoch, first.dedup_key, first.plate_ciphertext
    )
    with pytest.raises(AtRestError):  # the other row's ciphertext does not open as this row's
        open_sealed(
            key.key, b"plate", "reads", first.epoch, first.dedup_key, second.plate_ciphertext
        )
    with pytest.raises(AtRestError):  # nor as another field
        open_sealed(
            key.key, b"candidates", "reads", first.epoch, first.dedup_key, first.plate_ciphertext
        )


def test_a_destroyed_epoch_key_makes_its_reads_unreadable(
    vault: SealedReads, session: Session
) -> None:
    vault.store([observed()], now=NOW)
    DataEpochRepository(session).destroy(DataClass.READS, day_epoch(NOW), now=NOW)
    fresh = SealedReads(session, LOOKUP_KEY)  # no key cached
    assert fresh.between(NOW - dt.timedelta(minutes=1)) == []


def test_reads_fall_in_their_utc_day(vault: SealedReads, session: Session) -> None:
    late = dt.datetime(2025, 3, 14, 23, 59, 59, tzinfo=dt.UTC)
    vault.store(
        [
            observed(at=late, external_id="a"),
            observed(at=late + dt.timedelta(seconds=2), external_id="b"),
        ],
        now=NOW,
    )
    epochs = {r.epoch for r in ReadRepository(session).between(late - dt.timedelta(hours=1))}
    assert epochs == {day_epoch(late), day_epoch(late) + 1}
