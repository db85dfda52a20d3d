"""Video sources: a recorded file, or a live RTSP/HTTP stream, as a sequence of frames.

Both are read with :class:`cv2.VideoCapture` (the FFmpeg backend of the OpenCV wheel).

- A **file** is read frame by frame, in order, with nothing dropped: a file cannot outrun
  the machine, it only takes longer. Its frames' times are the recording's start time plus
  their position. A file that opens but yields no frame (an unsupported codec, a file that
  is not a video) is a :class:`SourceError`; one that ends before the frame count its
  header promised (truncated) keeps what was read and says so in :attr:`FileVideo.ended_early`.
- A **stream** is read by a capture thread that keeps only the newest ``buffer_frames``
  sampled frames. When reading falls behind, the oldest waiting frame is dropped and
  counted (:attr:`LiveStream.dropped`): for a live camera the newest frame matters most,
  and memory stays bounded. A stalled or broken stream is reopened with exponential
  backoff; after ``retries`` failed attempts in a row the stream is
  :class:`StreamLostError`.

The capture is opened through a factory so that tests can stand in for a camera that
stalls or disconnects on cue; everything else is the real code path.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from node.ingest.errors import SourceError, StreamLostError

#: Frames per second assumed when a container does not say.
DEFAULT_FPS = 15.0
_FINGERPRINT_HEAD = 1 << 20


class Capture(Protocol):
    """The part of :class:`cv2.VideoCapture` that sources use."""

    def isOpened(self) -> bool: ...  # noqa: N802 - OpenCV's name
    def read(self) -> tuple[bool, Any]: ...
    def get(self, prop: int) -> float: ...
    def release(self) -> None: ...


CaptureFactory = Callable[[str], Capture]


def open_capture(target: str) -> Capture:
    """A real capture on the FFmpeg backend, with open and read time-outs for streams."""
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 10_000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 10_000]
    capture: Capture = cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)
    return capture


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame: its position in the source, its offset and wall time, its pixels."""

    index: int
    offset: float
    at: dt.datetime
    image: npt.NDArray[np.uint8]


def is_stream(target: str) -> bool:
    """Whether ``target`` names a network stream rather than a file."""
    scheme = urllib.parse.urlsplit(target).scheme.lower()
    return scheme in {"rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt"}


def _fps(capture: Capture) -> float:
    fps = capture.get(cv2.CAP_PROP_FPS)
    return fps if fps and np.isfinite(fps) and 1.0 <= fps <= 240.0 else DEFAULT_FPS


class FileVideo:
    """A recorded video file, read in order from ``start_index``."""

    live = False

    def __init__(
        self,
        path: Path,
        *,
        start_time: dt.datetime | None = None,
        capture_factory: CaptureFactory = open_capture,
    ) -> None:
        if not path.is_file():
            raise SourceError(f"{path}: no such video file")
        self.path = path
        self._factory = capture_factory
        capture = self._open()
        try:
            self.fps = _fps(capture)
            count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
            #: Frames the container's header announces (0 when it does not say).
            self.frame_count = int(count) if count and np.isfinite(count) and count > 0 else 0
        finally:
            capture.release()
        self.duration = self.frame_count / self.fps
        if start_time is None:
            # The file was last written when recording stopped.
            mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
            start_time = mtime - dt.timedelta(seconds=self.duration)
        self.start_time = start_time.astimezone(dt.UTC)
        #: Names the file's content, not its path: a renamed copy resumes where it stopped.
        self.source_key = "file-" + _fingerprint(path)
        #: True when the file ended before the frame count its header announced.
        self.ended_early = False
        self.decoded = 0

    def _open(self) -> Capture:
        capture = self._factory(str(self.path))
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"{self.path}: not a video OpenCV can open")
        return capture

    def frames(self, start_index: int = 0) -> Iterator[Frame]:
        """Frames from ``start_index`` to the end of the file."""
        capture = self._open()
        try:
            index = 0
            while True:
                ok, image = capture.read()
                if not ok or image is None:
                    break
                self.decoded += 1
                if index >= start_index:
                    offset = index / self.fps
                    at = self.start_time + dt.timedelta(seconds=offset)
                    yield Frame(index, offset, at, np.ascontiguousarray(image, dtype=np.uint8))
                index += 1
        finally:
            capture.release()
        if index == 0:
            raise SourceError(
                f"{self.path}: no frame could be decoded (unsupported codec or not a video)"
            )
        self.ended_early = self.frame_count > 0 and index < self.frame_count - 1


def _fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    size = path.stat().st_size
    digest.update(size.to_bytes(8, "big"))
    with path.open("rb") as f:
        digest.update(f.read(_FINGERPRINT_HEAD))
        if size > _FINGERPRINT_HEAD:
            f.seek(max(_FINGERPRINT_HEAD, size - _FINGERPRINT_HEAD))
            digest.update(f.read(_FINGERPRINT_HEAD))
    return digest.hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Reconnect delays: ``first`` seconds, doubling up to ``longest``, ``retries`` in a row."""

    first: float = 0.5
    longest: float = 8.0
    retries: int = 6

    def delays(self) -> Iterator[float]:
        delay = self.first
        for _ in range(self.retries):
            yield delay
            delay = min(delay * 2, self.longest)


class LiveStream:
    """A live stream, sampled to ``sample_fps`` and buffered without bound on memory."""

    live = True

    def __init__(
        self,
        url: str,
        *,
        sample_fps: float,
        buffer_frames: int = 8,
        backoff: Backoff | None = None,
        capture_factory: CaptureFactory = open_capture,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if buffer_frames < 1:
            raise ValueError("the stream buffer holds at least one frame")
        self.url = url
        self.source_key = (
            "stream-" + hashlib.sha256(_without_credentials(url).encode()).hexdigest()[:24]
        )
        self.fps = sample_fps
        self.frame_count = 0
        self._sample_every = 1.0 / sample_fps
        self._buffer: collections.deque[Frame] = collections.deque(maxlen=buffer_frames)
        self._ready = threading.Condition()
        self._backoff = backoff or Backoff()
        self._factory = capture_factory
        self._sleep = sleep
        self._stop = threading.Event()
        self._failure: StreamLostError | None = None
        self._ended = False
        #: Sampled frames dropped because reading fell behind.
        self.dropped = 0
        #: Times the stream was reopened after a stall or disconnect.
        self.reconnects = 0
        self.decoded = 0
        self.ended_early = False

    def stop(self) -> None:
        """Ask the capture thread to stop; :meth:`frames` then ends."""
        self._stop.set()
        with self._ready:
            self._ready.notify_all()

    def frames(self, start_index: int = 0) -> Iterator[Frame]:
        """Frames as they arrive, until the stream ends, is lost, or :meth:`stop` is called."""
        del start_index  # a live stream cannot be rewound
        thread = threading.Thread(target=self._capture, name="stream-capture", daemon=True)
        thread.start()
        try:
            while True:
                with self._ready:
                    while not self._buffer and not self._ended:
                        self._ready.wait(0.5)
                    if self._buffer:
                        frame = self._buffer.popleft()
                    else:
                        break
                yield frame
        finally:
            self.stop()
            thread.join(timeout=15)
        if self._failure is not None:
            raise self._failure

    def _capture(self) -> None:
        started = time.monotonic()
        index = 0
        next_sample = 0.0
        try:
            while not self._stop.is_set():
                capture = self._connect()
                if capture is None:
                    return
                try:
                    while not self._stop.is_set():
                        ok, image = capture.read()
                        if not ok or image is None:
                            break
                        self.decoded += 1
                        offset = time.monotonic() - started
                        if offset < next_sample:
                            continue
                        next_sample = offset + self._sample_every
                        frame = Frame(
                            index,
                            offset,
                            dt.datetime.now(dt.UTC),
                            np.ascontiguousarray(image, dtype=np.uint8),
                        )
                        index += 1
                        with self._ready:
                            if len(self._buffer) == self._buffer.maxlen:
                                self.dropped += 1
                            self._buffer.append(frame)
                            self._ready.notify()
                finally:
                    capture.release()
        finally:
            with self._ready:
                self._ended = True
                self._ready.notify_all()

    def _connect(self) -> Capture | None:
        """Open the stream, retrying with backoff; ``None`` when stopped or lost."""
        first = self.reconnects == 0 and self.decoded == 0
        if first:
            capture = self._factory(self.url)
            if capture.isOpened():
                return capture
            capture.release()
        for delay in self._backoff.delays():
            if self._stop.wait(0):
                return None
            self._sleep(delay)
            capture = self._factory(self.url)
            if capture.isOpened():
                self.reconnects += 1
                return capture
            capture.release()
        self._failure = StreamLostError(
            f"{_without_credentials(self.url)}: stream unavailable after "
            f"{self._backoff.retries} reconnect attempts"
        )
        return None


def _without_credentials(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, ""))
