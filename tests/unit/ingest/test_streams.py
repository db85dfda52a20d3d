"""Live streams: bounded buffering with counted drops, reconnects with backoff, loss.

The camera is the one true external edge here, so a scripted capture stands in for it;
the capture thread, buffer and backoff are the real code.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from node.ingest.errors import SourceError, StreamLostError
from node.ingest.video import Backoff, FileVideo, LiveStream, is_stream


class ScriptedCamera:
    """Each connection yields ``frames_per_connection[i]`` frames, then drops; connections
    past the script fail to open."""

    def __init__(self, frames_per_connection: list[int], *, delay: float = 0.0) -> None:
        self.script = list(frames_per_connection)
        self.delay = delay
        self.opened = 0
        self.lock = threading.Lock()

    def __call__(self, url: str) -> Any:
        with self.lock:
            n = self.script.pop(0) if self.script else None
            self.opened += 1
        return _Capture(n, self.delay)


class _Capture:
    def __init__(self, frames: int | None, delay: float) -> None:
        self.left = frames
        self.delay = delay

    def isOpened(self) -> bool:
        return self.left is not None

    def read(self) -> tuple[bool, Any]:
        if not self.left:
            return False, None
        time.sleep(self.delay)
        self.left -= 1
        return True, np.zeros((36, 64, 3), dtype=np.uint8)

    def get(self, prop: int) -> float:
        return 0.0

    def release(self) -> None:
        pass


FAST = Backoff(first=0.001, longest=0.002, retries=3)


def collect(frames: Iterator[Any], pause: float = 0.0) -> list[Any]:
    out = []
    for f in frames:
        out.append(f)
        time.sleep(pause)
    return out


def test_a_dropped_stream_reconnects_and_frames_continue() -> None:
    camera = ScriptedCamera([5, 4])
    stream = LiveStream(
        "rtsp://cam.example/1", sample_fps=1000, backoff=FAST, capture_factory=camera
    )
    with pytest.raises(StreamLostError, match="after 3 reconnect attempts"):
        collect(stream.frames())
    assert stream.reconnects == 1
    assert stream.decoded == 9


def test_frames_are_indexed_in_order_across_reconnects() -> None:
    camera = ScriptedCamera([3, 3], delay=0.003)
    stream = LiveStream(
        "rtsp://cam.example/1",
        sample_fps=1000,
        buffer_frames=100,
        backoff=FAST,
        capture_factory=camera,
    )
    got: list[Any] = []
    with pytest.raises(StreamLostError):
        got.extend(stream.frames())
    assert [f.index for f in got] == list(range(6))
    assert all(f.at.tzinfo is not None for f in got)


def test_a_slow_reader_drops_the_oldest_frames_and_counts_them() -> None:
    camera = ScriptedCamera([60], delay=0.001)
    stream = LiveStream(
        "rtsp://cam.example/1",
        sample_fps=1000,
        buffer_frames=4,
        backoff=FAST,
        capture_factory=camera,
    )
    with pytest.raises(StreamLostError):
        collect(stream.frames(), pause=0.02)
    assert stream.dropped > 0
    assert stream.decoded == 60


def test_a_stream_that_never_opens_is_lost_with_a_clear_error() -> None:
    stream = LiveStream(
        "rtsp://user:secret@cam.example/1",
        sample_fps=5,
        backoff=FAST,
        capture_factory=ScriptedCamera([]),
    )
    with pytest.raises(StreamLostError) as caught:
        collect(stream.frames())
    assert "secret" not in str(caught.value)
    assert "cam.example" in str(caught.value)


def test_urls_are_streams_and_paths_are_files() -> None:
    assert is_stream("rtsp://10.0.0.5/live")
    assert is_stream("https://cam.example/mjpeg")
    assert not is_stream("/var/video/pier.mp4")
    assert not is_stream("pier.mp4")


def test_a_file_that_is_not_a_video_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00not a video\xff" * 1000)
    with pytest.raises(SourceError, match=r"junk\.mp4"):
        collect(FileVideo(junk).frames())
    with pytest.raises(SourceError, match="no such video file"):
        FileVideo(tmp_path / "missing.mp4")
