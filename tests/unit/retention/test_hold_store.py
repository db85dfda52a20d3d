"""The holds store and the held-reads purge, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.at_rest import plate_lookup
from node.alpr.reads import Candidate
from node.ids import CameraId, Epoch
from node.ingest.observed import ObservedRead
from node.sealed_reads import SealedReads
from node.store.epochs import DataClass, DataEpochRepository
from node.store.holds import HeldCopy, HoldRepository, HoldSelector, NewHold
from node.store.models import CaseHoldRow
from node.store.retention import RetentionRepository
from tests.unit.store._builders import add_camera
from tests.unit.store.conftest import NOW

LOOKUP_KEY = bytes(range(32))
_DAY = dt.timedelta(days=1)


def _stored_reads(session: Session) -> None:
    add_camera(session)
    SealedReads(session, LOOKUP_KEY).store(
        [
            ObservedRead(
                camera_id=CameraId("cam-pier-01"),
                time=NOW + dt.timedelta(seconds=i),
                candidates=(Candidate(p, p, 0.9),),
                source="test",
                external_id=f"r{i}",
            )
            for i, p in enumerate(["7QRS482", "8ABC123", "7QRS482"])
        ],
        now=NOW,
    )


def _hold(session: Session) -> int:
    repo = HoldRepository(session)
    reads = repo.reads_to_hold(plate_lookup=plate_lookup(LOOKUP_KEY, "7QRS482"))
    assert len(reads) == 2
    hold_id = repo.add(
        NewHold(
            case_number="24-00123",
            case_salt=os.urandom(32),
            approver="Lt. Reyes",
            reason="homicide",
            selector=HoldSelector.PLATE,
            plate_lookup=reads[0].plate_lookup,
            expires=NOW + 30 * _DAY,
        ),
        now=NOW,
    )
    DataEpochRepository(session).ensure(
        DataClass.HELD_READS,
        Epoch(hold_id),
        starts_at=NOW,
        ends_at=NOW + 30 * _DAY,
        key=os.urandom(32),
        now=NOW,
    )
    repo.add_copies(
        hold_id,
        [
            HeldCopy(
                dedup_key=r.dedup_key,
                read_epoch=r.epoch,
                camera_id=r.camera_id,
                time=r.time,
                plate_ciphertext=b"sealed:" + r.dedup_key.encode(),
                plate_lookup=r.plate_lookup,
                confidence=r.confidence,
                candidates_ciphertext=None,
                crop_ciphertext=None,
                source=r.source,
            )
            for r in reads
        ],
    )
    return hold_id


def test_a_hold_is_due_until_logged_then_when_it_ends(session: Session) -> None:
    _stored_reads(session)
    hold_id = _hold(session)
    repo = HoldRepository(session)
    (hold,) = repo.all()
    assert (hold.id, hold.held, hold.ledger_index) == (hold_id, 2, None)
    long_ago = NOW - 365 * _DAY
    assert repo.due(now=NOW, created_before=long_ago) == [hold_id]  # never logged
    repo.mark_logged(hold_id, 7)
    assert repo.due(now=NOW, created_before=long_ago) == []
    assert repo.due(now=NOW + 30 * _DAY, created_before=long_ago) == [hold_id]  # expired
    assert repo.due(now=NOW, created_before=NOW) == [hold_id]  # older than the setting
    released = repo.release(hold_id, now=NOW)
    assert released.released_at == NOW and not released.live(NOW)
    assert repo.release(hold_id, now=NOW + _DAY).released_at == NOW  # idempotent
    assert repo.due(now=NOW, created_before=long_ago) == [hold_id]


def test_purging_a_hold_deletes_its_copies_destroys_its_key_and_forgets_the_plate(
    session: Session,
) -> None:
    _stored_reads(session)
    hold_id = _hold(session)
    retention = RetentionRepository(session)
    inventory = retention.inventory(DataClass.HELD_READS, Epoch(hold_id))
    assert {k: len(v) for k, v in inventory.items()} == {"held_reads": 2, "data_keys": 1}
    retention.delete(DataClass.HELD_READS, Epoch(hold_id), now=NOW)
    repo = HoldRepository(session)
    assert repo.copies(hold_id) == [] and repo.key(hold_id) is None
    assert session.scalars(select(CaseHoldRow.plate_lookup)).one() is None
    # The reads themselves are untouched: they follow their own day.
    assert len(repo.reads_to_hold(plate_lookup=plate_lookup(LOOKUP_KEY, "7QRS482"))) == 2
    assert retention.query_record_days(ended_by=Epoch(30000)) == []
    assert retention.received_epochs(ended_by=Epoch(30000)) == {}
