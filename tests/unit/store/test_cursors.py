"""Ingest cursors only move forward, and are per camera and source."""

from __future__ import annotations

from sqlalchemy.orm import Session

from node.ids import CameraId
from node.store.cursors import IngestCursorRepository
from tests.unit.store import _builders as b
from tests.unit.store.conftest import NOW

CAM = CameraId("cam-pier-01")


def test_a_cursor_moves_forward_never_back_and_stays_finished(session: Session) -> None:
    b.add_camera(session)
    cursors = IngestCursorRepository(session)
    assert cursors.get(CAM, "file-a") is None
    cursors.advance(CAM, "file-a", 40, now=NOW)
    cursors.advance(CAM, "file-a", 25, now=NOW)
    found = cursors.get(CAM, "file-a")
    assert found is not None and found.frame_index == 40 and not found.finished
    cursors.advance(CAM, "file-a", 90, finished=True, now=NOW)
    cursors.advance(CAM, "file-a", 95, now=NOW)
    found = cursors.get(CAM, "file-a")
    assert found is not None and found.frame_index == 95 and found.finished
    assert cursors.get(CAM, "file-b") is None
