"""From frames to vehicle passes: sampling, motion gating, recognition, tracking, voting.

::

    frames ─► sample (sample_fps) ─► motion gate ─► PlateReader (1..N worker processes)
           ─► PlateTracker (in order) ─► one ObservedRead per vehicle pass ─► deliver()

Recognition is the only expensive step, so it is the only one spread over processes: the
main process decodes, samples and gates, hands moving frames to a pool of worker
processes (one onnxruntime session per worker, one intra-op thread each) and takes their
results back **in frame order**, because tracking needs order. At most ``2 x workers``
frames are in flight: a file is never read ahead without bound, and a stream's own
buffer (:class:`~node.ingest.video.LiveStream`) decides what is dropped.

``deliver`` is called with the passes that ended and a **cursor**: the first frame from
which a restarted ingest loses nothing (the first frame of the oldest track still open).
Storing the passes and the cursor in one transaction makes a stopped ingest resumable.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import datetime as dt
import multiprocessing
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from node.alpr.errors import ImageError
from node.alpr.geometry import Box, crop_box
from node.alpr.reader import PlateReader, ReaderSettings
from node.alpr.reads import PlateRead
from node.alpr.track import PlateTracker, TrackerSettings, VehiclePass
from node.ids import CameraId
from node.ingest.motion import MotionGate, MotionSettings
from node.ingest.observed import ObservedRead
from node.ingest.video import Frame

SOURCE_VIDEO = "video"


@dataclass(frozen=True, slots=True)
class IngestSettings:
    #: Frames read per second of video (the rest are skipped before decoding matters).
    sample_fps: float = 5.0
    #: Recognition worker processes; 1 reads in this process.
    workers: int = 1
    motion: MotionSettings = field(default_factory=MotionSettings)
    #: A pass needs two frames: a single-frame read is too often a sign or a reflection.
    tracker: TrackerSettings = field(default_factory=lambda: TrackerSettings(min_frames=2))
    reader: ReaderSettings = field(default_factory=ReaderSettings)
    #: Passes whose voted reading is less sure than this are dropped (and counted): on
    #: real footage they are dealer names, stickers and signs, not plates.
    min_pass_confidence: float = 0.25
    #: Stored plate crops: at most this wide, JPEG at this quality.
    crop_max_width: int = 320
    crop_quality: int = 85
    #: Move the cursor at least this often (seconds of video), even when nothing passed.
    cursor_every: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < self.sample_fps <= 60:
            raise ValueError("sample_fps must be in (0, 60]")
        if not 1 <= self.workers <= 64:
            raise ValueError("workers must be 1-64")


@dataclass(slots=True)
class IngestStats:
    """What an ingest did, frame by frame; printed by the CLI and the benchmark."""

    frames: int = 0
    sampled: int = 0
    still: int = 0
    read: int = 0
    failed: int = 0
    plates: int = 0
    passes: int = 0
    unsure: int = 0
    stored: int = 0
    duplicates: int = 0
    dropped: int = 0
    reconnects: int = 0
    video_seconds: float = 0.0
    started: float = field(default_factory=time.perf_counter)
    provider: str = ""

    @property
    def wall_seconds(self) -> float:
        return time.perf_counter() - self.started

    @property
    def fps(self) -> float:
        """Decoded frames per wall-clock second."""
        return self.frames / max(self.wall_seconds, 1e-9)


class Source(Protocol):
    live: bool
    fps: float
    source_key: str

    def frames(self, start_index: int = 0) -> Any: ...


class Delivery(Protocol):
    def __call__(self, reads: Sequence[ObservedRead], cursor: int, *, finished: bool) -> None: ...


# -- recognition, here or in worker processes ---------------------------------------------

_worker_reader: PlateReader | None = None


def _start_worker(settings: ReaderSettings) -> None:
    global _worker_reader  # one reader per worker process, by design
    cv2.setNumThreads(1)
    _worker_reader = PlateReader(settings)


def _read_in_worker(image: npt.NDArray[np.uint8]) -> list[PlateRead]:
    assert _worker_reader is not None
    return _worker_reader.read(image)


class _Recognition:
    """Ordered recognition of frames, in-process or over a pool of worker processes."""

    def __init__(self, settings: IngestSettings) -> None:
        self.workers = settings.workers
        self._pool: cf.ProcessPoolExecutor | None = None
        self._local: PlateReader | None = None
        if settings.workers == 1:
            self._local = PlateReader(settings.reader)
            self.provider = self._local.provider
        else:
            self._pool = cf.ProcessPoolExecutor(
                settings.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(settings.reader,),
            )
            self.provider = self._pool.submit(_provider).result()

    def submit(self, image: npt.NDArray[np.uint8]) -> cf.Future[list[PlateRead]]:
        if self._pool is not None:
            return self._pool.submit(_read_in_worker, image)
        assert self._local is not None
        done: cf.Future[list[PlateRead]] = cf.Future()
        try:
            done.set_result(self._local.read(image))
        except ImageError as e:
            done.set_exception(e)
        return done

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _provider() -> str:
    assert _worker_reader is not None
    return _worker_reader.provider


def _nothing() -> cf.Future[list[PlateRead]]:
    done: cf.Future[list[PlateRead]] = cf.Future()
    done.set_result([])
    return done


# -- the pipeline ---------------------------------------------------------------------------


class IngestPipeline:
    """Turns one source's frames into vehicle passes for one camera."""

    def __init__(
        self,
        camera_id: CameraId,
        settings: IngestSettings | None = None,
        *,
        on_progress: Callable[[IngestStats], None] | None = None,
    ) -> None:
        self.camera_id = camera_id
        self.settings = settings or IngestSettings()
        self.stats = IngestStats()
        self._on_progress = on_progress
        self._tracker = PlateTracker(self.settings.tracker)
        self._gate = MotionGate(self.settings.motion)
        self._seen: dict[float, tuple[int, dt.datetime]] = {}
        self._crops: dict[tuple[float, Box], bytes] = {}
        self._last_cursor = 0.0

    def run(self, source: Source, deliver: Delivery, *, start_index: int = 0) -> IngestStats:
        """Read ``source`` from ``start_index`` to its end (or until interrupted).

        On KeyboardInterrupt nothing more is delivered: passes still open are read again
        from the cursor when the ingest is resumed.
        """
        recognition = _Recognition(self.settings)
        self.stats.provider = recognition.provider
        window = 2 * recognition.workers
        pending: collections.deque[tuple[Frame, cf.Future[list[PlateRead]]]] = collections.deque()
        step = max(source.fps / self.settings.sample_fps, 1.0)
        key = None if source.live else source.source_key
        last_index = start_index - 1
        try:
            for frame in source.frames(start_index):
                self.stats.frames += 1
                last_index = frame.index
                self.stats.video_seconds = frame.offset
                if not source.live and not self._sampled(frame.index, step, start_index):
                    continue
                self.stats.sampled += 1
                if self._gate.moving(frame.offset, frame.image):
                    self.stats.read += 1
                    pending.append((frame, recognition.submit(frame.image)))
                else:
                    self.stats.still += 1
                    pending.append((frame, _nothing()))
                while len(pending) > window or (pending and pending[0][1].done()):
                    self._finish(*pending.popleft(), deliver, key)
            while pending:
                self._finish(*pending.popleft(), deliver, key)
        finally:
            recognition.close()
            self.stats.dropped = int(getattr(source, "dropped", 0))
            self.stats.reconnects = int(getattr(source, "reconnects", 0))
        passes = self._tracker.flush()
        deliver(self._observed(passes, key), last_index + 1, finished=True)
        return self.stats

    @staticmethod
    def _sampled(index: int, step: float, start_index: int) -> bool:
        """Whether a file's frame is sampled: by absolute position, so a resumed ingest
        samples the same frames as the first run."""
        return index == start_index or int(index / step) != int((index - 1) / step)

    def _finish(
        self,
        frame: Frame,
        result: cf.Future[list[PlateRead]],
        deliver: Delivery,
        key: str | None,
    ) -> None:
        try:
            reads = result.result()
        except ImageError:
            self.stats.failed += 1
            reads = []
        self._seen[frame.offset] = (frame.index, frame.at)
        self.stats.plates += len(reads)
        for read in reads:
            self._crops[(frame.offset, read.box)] = self._crop(frame.image, read.box)
        closed = self._tracker.update(frame.offset, reads)
        oldest = self._tracker.oldest_open()
        due = frame.offset - self._last_cursor >= self.settings.cursor_every
        if closed or due:
            cursor = self._seen[oldest][0] if oldest is not None else frame.index + 1
            deliver(self._observed(closed, key), cursor, finished=False)
            self._last_cursor = frame.offset
        self._forget_before(oldest if oldest is not None else frame.offset + 1e-9)
        if self._on_progress is not None:
            self._on_progress(self.stats)

    def _observed(self, passes: Sequence[VehiclePass], key: str | None) -> list[ObservedRead]:
        out = []
        for p in passes:
            if p.confidence < self.settings.min_pass_confidence:
                self.stats.unsure += 1
                continue
            first_index, _ = self._seen[p.first_seen]
            _, at = self._seen[p.best.at]
            out.append(
                ObservedRead(
                    camera_id=self.camera_id,
                    time=at,
                    candidates=p.candidates,
                    source=SOURCE_VIDEO,
                    external_id=None if key is None else f"{key}:{first_index}",
                    crop_jpeg=self._crops.get((p.best.at, p.best.read.box)) or None,
                )
            )
        self.stats.passes += len(out)
        return out

    def _forget_before(self, offset: float) -> None:
        for seen in [t for t in self._seen if t < offset]:
            del self._seen[seen]
        for crop in [c for c in self._crops if c[0] < offset]:
            del self._crops[crop]

    def _crop(self, image: npt.NDArray[np.uint8], box: Box) -> bytes:
        cut = crop_box(image, box.grown(box.w * 0.1, box.h * 0.25))
        if cut.size == 0:
            return b""
        if cut.shape[1] > self.settings.crop_max_width:
            scale = self.settings.crop_max_width / cut.shape[1]
            cut = np.asarray(
                cv2.resize(cut, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA),
                dtype=np.uint8,
            )
        ok, jpeg = cv2.imencode(".jpg", cut, [cv2.IMWRITE_JPEG_QUALITY, self.settings.crop_quality])
        return bytes(jpeg) if ok else b""
