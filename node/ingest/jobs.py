"""Ingest and import jobs on a node home: what ``accord node ingest|import|reads`` run.

Each job opens the node's store, checks the camera before reading a frame or a row, and
stores reads in batches, each batch in one transaction with its progress. An interrupted
job leaves whole batches only, and running it again stores nothing twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from node.app import open_store
from node.identity import load_node_keys
from node.ids import CameraId
from node.ingest.csv_reads import ColumnMap, parse_csv_reads
from node.ingest.errors import UnknownCameraError
from node.ingest.files import read_import_text
from node.ingest.formats import ImportFormat
from node.ingest.observed import ObservedRead, Skip
from node.ingest.openalpr import parse_alpr_group
from node.ingest.pipeline import IngestPipeline, IngestSettings, IngestStats
from node.ingest.video import FileVideo, LiveStream, is_stream
from node.sealed_reads import ReadView, SealedReads
from node.store.cameras import CameraRepository
from node.store.cursors import IngestCursorRepository
from node.store.db import session_scope

#: Imported reads are stored in transactions of this many.
IMPORT_BATCH = 500


def _require_camera(sessions: sessionmaker[Session], camera_id: CameraId) -> None:
    with session_scope(sessions) as s:
        if CameraRepository(s).get(camera_id) is None:
            raise UnknownCameraError(camera_id)


@dataclass(frozen=True, slots=True)
class VideoOutcome:
    """What one ``accord node ingest`` run did."""

    stats: IngestStats
    source_key: str
    resumed_from: int
    already_done: bool
    ended_early: bool


def ingest_video(
    home: Path,
    target: str,
    camera_id: str,
    *,
    settings: IngestSettings | None = None,
    start_time: dt.datetime | None = None,
    restart: bool = False,
    on_start: Callable[[FileVideo | LiveStream, int], None] | None = None,
    on_progress: Callable[[IngestStats], None] | None = None,
) -> VideoOutcome:
    """Read plates from a video file or stream into the node's read store.

    A file resumes from its cursor (the run that stopped stored everything before it);
    ``restart`` reads it from the start again, which stores nothing already stored.
    """
    settings = settings or IngestSettings()
    camera = CameraId(camera_id)
    _, engine, sessions = open_store(home)
    lookup_key = load_node_keys(home).lookup
    try:
        _require_camera(sessions, camera)
        source: FileVideo | LiveStream
        if is_stream(target):
            source = LiveStream(target, sample_fps=settings.sample_fps)
        else:
            source = FileVideo(Path(target), start_time=start_time)
        start = 0
        if not source.live:
            with session_scope(sessions) as s:
                cursor = IngestCursorRepository(s).get(camera, source.source_key)
            if cursor is not None and not restart:
                if cursor.finished:
                    return VideoOutcome(IngestStats(), source.source_key, 0, True, False)
                start = cursor.frame_index
        if on_start is not None:
            on_start(source, start)

        def deliver(reads: Sequence[ObservedRead], cursor: int, *, finished: bool) -> None:
            now = dt.datetime.now(dt.UTC)
            with session_scope(sessions) as s:
                result = SealedReads(s, lookup_key).store(reads, now=now)
                if not source.live:
                    IngestCursorRepository(s).advance(
                        camera, source.source_key, cursor, finished=finished, now=now
                    )
            pipeline.stats.stored += result.stored
            pipeline.stats.duplicates += result.duplicates

        pipeline = IngestPipeline(camera, settings, on_progress=on_progress)
        stats = pipeline.run(source, deliver, start_index=start)
        return VideoOutcome(stats, source.source_key, start, False, source.ended_early)
    finally:
        engine.dispose()


@dataclass(slots=True)
class ImportOutcome:
    """What one ``accord node import`` run did; ``skips`` name rows, never plates."""

    stored: int = 0
    duplicates: int = 0
    skips: list[Skip] = field(default_factory=list)


def import_reads(
    home: Path,
    path: Path,
    fmt: ImportFormat,
    *,
    camera: str | None = None,
    camera_map: Mapping[str, str] | None = None,
    columns: str | None = None,
    time_format: str = "iso",
    timezone: str | None = None,
) -> ImportOutcome:
    """Import reads from another system's export file into the node's read store."""
    text = read_import_text(path)
    default = CameraId(camera) if camera else None
    mapped = {k: CameraId(v) for k, v in (camera_map or {}).items()}
    items: Iterable[ObservedRead | Skip]
    if fmt is ImportFormat.OPENALPR:
        items = parse_alpr_group(text, camera=default, camera_map=mapped)
    else:
        column_map = ColumnMap.parse(columns) if columns else None
        items = parse_csv_reads(
            text, columns=column_map, camera=default, time_format=time_format, timezone=timezone
        )
    _, engine, sessions = open_store(home)
    lookup_key = load_node_keys(home).lookup
    outcome = ImportOutcome()
    try:
        with session_scope(sessions) as s:
            known = {c.id for c in CameraRepository(s).all()}
        for name in sorted({c for c in (default, *mapped.values()) if c is not None}):
            if name not in known:
                raise UnknownCameraError(name)
        batch: list[ObservedRead] = []

        def flush() -> None:
            with session_scope(sessions) as s:
                result = SealedReads(s, lookup_key).store(batch, now=dt.datetime.now(dt.UTC))
            outcome.stored += result.stored
            outcome.duplicates += result.duplicates
            batch.clear()

        for n, item in enumerate(items, start=1):
            if isinstance(item, Skip):
                outcome.skips.append(item)
            elif item.camera_id not in known:
                outcome.skips.append(Skip(f"read {n}", f"unknown camera {item.camera_id!r}"))
            else:
                batch.append(item)
                if len(batch) >= IMPORT_BATCH:
                    flush()
        if batch:
            flush()
        return outcome
    finally:
        engine.dispose()


def recent_reads(
    home: Path,
    since: dt.datetime,
    *,
    camera: str | None = None,
    limit: int | None = None,
) -> list[ReadView]:
    """This node's own reads since ``since``, opened (for its admins and analysts)."""
    _, engine, sessions = open_store(home)
    lookup_key = load_node_keys(home).lookup
    try:
        with session_scope(sessions) as s:
            return SealedReads(s, lookup_key).between(
                since, camera_id=CameraId(camera) if camera else None, limit=limit
            )
    finally:
        engine.dispose()
