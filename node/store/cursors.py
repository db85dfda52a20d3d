"""Ingest cursors: how far the ingest of one video source has safely got.

A cursor is the first frame of a source from which ingest must start again to lose no
vehicle pass: every pass that began before it is already stored. It is written in the same
transaction as those passes, so a stopped ingest (Ctrl-C, SIGKILL, power loss) resumes
where its stored reads end; passes read twice near the cursor are the same records and are
skipped by their dedup keys.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from node.ids import CameraId
from node.store.db import translate_errors
from node.store.models import IngestCursorRow


@dataclass(frozen=True, slots=True)
class IngestCursor:
    camera_id: CameraId
    source_key: str
    frame_index: int
    finished: bool
    updated: dt.datetime


class IngestCursorRepository:
    """Cursors by (camera, source)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, camera_id: CameraId, source_key: str) -> IngestCursor | None:
        with translate_errors(self._session):
            row = self._session.get(IngestCursorRow, (camera_id, source_key))
        if row is None:
            return None
        return IngestCursor(
            CameraId(row.camera_id), row.source_key, row.frame_index, row.finished, row.updated
        )

    def advance(
        self,
        camera_id: CameraId,
        source_key: str,
        frame_index: int,
        *,
        finished: bool = False,
        now: dt.datetime,
    ) -> None:
        """Move the cursor forward to ``frame_index`` (never back)."""
        with translate_errors(self._session):
            row = self._session.scalar(
                select(IngestCursorRow)
                .where(IngestCursorRow.camera_id == camera_id)
                .where(IngestCursorRow.source_key == source_key)
                .with_for_update()
            )
            if row is None:
                self._session.add(
                    IngestCursorRow(
                        camera_id=camera_id,
                        source_key=source_key,
                        frame_index=frame_index,
                        finished=finished,
                        updated=now,
                    )
                )
            else:
                row.frame_index = max(row.frame_index, frame_index)
                row.finished = row.finished or finished
                row.updated = now
            self._session.flush()
