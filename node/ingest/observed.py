"""What ingest produces before it is sealed and stored: an observed read, or a skip.

Video ingest and every import format turn their input into :class:`ObservedRead` values;
:mod:`node.ingest.writer` seals and stores them. Keeping the two apart means a new import
format needs no knowledge of keys, epochs or the database.

An observed read holds a plate in the clear: it MUST stay inside the node and MUST NOT be
logged. A :class:`Skip` names the row or frame and why it was skipped, never the plate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from node.alpr.reads import Candidate
from node.ids import CameraId

#: Longest external record id kept in a dedup key.
MAX_EXTERNAL_ID = 128


@dataclass(frozen=True, slots=True, kw_only=True)
class ObservedRead:
    """One plate read of one vehicle pass.

    ``candidates`` are best first, with normalised ``text`` (A-Z0-9), the ``raw`` string
    and a confidence in 0..1. ``external_id`` is the source's own stable id for the
    record (an OpenALPR group uuid, a CSV id column, a video position): reading the same
    source again yields the same id, which is what makes a re-run skip what it stored.
    ``None`` lets the writer derive one from the camera, the time and a keyed tag of
    the plate.
    """

    camera_id: CameraId
    time: dt.datetime
    candidates: tuple[Candidate, ...]
    source: str
    external_id: str | None = None
    crop_jpeg: bytes | None = None

    def __post_init__(self) -> None:
        if self.time.tzinfo is None or self.time.utcoffset() != dt.timedelta(0):
            raise ValueError("an observed read's time must be in UTC")
        if not self.candidates:
            raise ValueError("an observed read needs at least one candidate")
        if any(not c.text for c in self.candidates):
            raise ValueError("a candidate has no plate characters")
        if any(not 0.0 <= c.confidence <= 1.0 for c in self.candidates):
            raise ValueError("candidate confidences must be in 0..1")
        if self.external_id is not None and not 0 < len(self.external_id) <= MAX_EXTERNAL_ID:
            raise ValueError(f"external id must be 1-{MAX_EXTERNAL_ID} characters")
        if self.external_id is not None and not self.external_id.isprintable():
            raise ValueError("external id must not contain control characters")

    @property
    def text(self) -> str:
        return self.candidates[0].text

    @property
    def confidence(self) -> float:
        return self.candidates[0].confidence


@dataclass(frozen=True, slots=True)
class Skip:
    """A row, record or frame that was not stored, and why (the reason names no plate)."""

    where: str
    reason: str
