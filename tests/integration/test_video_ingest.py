"""Video ingest as an admin runs it: a rendered clip in, one read per vehicle pass out.

The clips are made at test time with ``cv2.VideoWriter`` over shared real photos whose
plates are known; the reader, tracker, store and CLI are the real ones.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import accord
from tests.support.clips import PHOTOS, render_clip, shared_photo

pytestmark = pytest.mark.slow


def add_camera(home: Path, camera: str = "cam-pier-01") -> None:
    result = accord(
        "node",
        "cameras",
        "add",
        "--dir",
        str(home),
        "--id",
        camera,
        "--name",
        "Pier entrance",
        "--lat",
        "34.0094",
        "--lon",
        "-118.4973",
        "--heading",
        "270",
    )
    assert result.returncode == 0, result.stderr


def stored_reads(home: Path) -> list[dict[str, object]]:
    result = accord("node", "reads", "--dir", str(home), "--since", "3650d", "--json")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def ingest(home: Path, clip: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """``accord node ingest`` of ``clip`` for the pier camera, sampled at 4 frames/s."""
    args = ("node", "ingest", "--dir", str(home), str(clip), "--camera", "cam-pier-01")
    return accord(*args, "--sample-fps", "4", *extra, timeout=300)


def count_rows(home: Path) -> int:
    with sqlite3.connect(home / "accord.db") as db:
        return int(db.execute("SELECT count(*) FROM reads").fetchone()[0])


@pytest.fixture(scope="module")
def one_pass(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    photo, plate = shared_photo(PHOTOS[0])
    clip = tmp_path_factory.mktemp("clips") / "one-pass.mp4"
    render_clip([photo], clip)
    return clip, plate


def test_a_pass_is_read_and_voted_once_with_its_crop(
    home: Path, one_pass: tuple[Path, str]
) -> None:
    clip, plate = one_pass
    add_camera(home)
    result = ingest(home, clip)
    assert result.returncode == 0, result.stderr
    assert "vehicle passes                 │ 1" in result.stdout
    assert "CPUExecutionProvider" in result.stdout or "CUDAExecutionProvider" in result.stdout
    still = int(result.stdout.split("still (motion gate)")[1].split("│")[1])
    assert still > 0, "the empty street was read, not gated"
    (read,) = stored_reads(home)
    assert read["plate"] == plate
    assert read["camera"] == "cam-pier-01"
    assert read["source"] == "video"
    assert read["crop"] is True
    # Done once: running it again reads nothing; --restart reads all and stores nothing new.
    again = accord("node", "ingest", "--dir", str(home), str(clip), "--camera", "cam-pier-01")
    assert again.returncode == 0 and "ingested already" in again.stdout
    restart = ingest(home, clip, "--restart", "--workers", "2")
    assert restart.returncode == 0, restart.stderr
    assert "already stored                 │ 1" in restart.stdout
    assert len(stored_reads(home)) == 1


def test_a_killed_ingest_resumes_without_losing_or_repeating_a_pass(
    home: Path, tmp_path: Path
) -> None:
    (first, plate_a), (second, plate_b) = (shared_photo(p) for p in PHOTOS)
    clip = tmp_path / "two-passes.mp4"
    render_clip([first, second], clip)
    add_camera(home)
    args = [
        sys.executable,
        "-m",
        "accord.cli",
        "node",
        "ingest",
        "--dir",
        str(home),
        str(clip),
        "--camera",
        "cam-pier-01",
        "--sample-fps",
        "4",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while count_rows(home) == 0 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert count_rows(home) == 1, "the first pass should be stored before the kill"
    resumed = ingest(home, clip)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming at frame" in resumed.stderr
    assert sorted(r["plate"] for r in stored_reads(home)) == sorted([plate_a, plate_b])


def test_bad_sources_get_one_clear_line_and_store_nothing(
    home: Path, one_pass: tuple[Path, str], tmp_path: Path
) -> None:
    clip, _ = one_pass
    add_camera(home)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x01 this is not a video " * 4096)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    cases = [
        ([str(junk), "--camera", "cam-pier-01"], "not a video"),
        ([str(truncated), "--camera", "cam-pier-01"], "not a video"),
        ([str(tmp_path / "missing.mp4"), "--camera", "cam-pier-01"], "no such video file"),
        ([str(clip), "--camera", "cam-nowhere"], "unknown camera 'cam-nowhere'"),
    ]
    for args, message in cases:
        result = accord("node", "ingest", "--dir", str(home), *args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert count_rows(home) == 0


def test_a_truncated_file_keeps_what_was_read_and_says_so(home: Path, tmp_path: Path) -> None:
    import cv2
    import numpy as np

    clip = tmp_path / "cut.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 15, (640, 360))
    for i in range(60):
        writer.write(np.full((360, 640, 3), (i * 4) % 255, dtype=np.uint8))
    writer.release()
    clip.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    add_camera(home)
    result = accord("node", "ingest", "--dir", str(home), str(clip), "--camera", "cam-pier-01")
    assert result.returncode == 0, result.stderr
    assert "ended before the frame count" in result.stderr
    assert count_rows(home) == 0
