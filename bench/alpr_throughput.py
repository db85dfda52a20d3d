"""Plate recognition throughput: frames per second per core, and real time on a 15 fps camera.

    python bench/alpr_throughput.py [--photos ../shared/data/alpr/us] [--seconds 60] [--json]

1. **Frames per second per core at 1280x720**: the reader (one process, one onnxruntime
   intra-op thread, one OpenCV thread) on every frame of a pan over real 720p photos, no
   gating: the cost of a frame that has to be read.
2. **Real-time factor on a 15 fps, 1280x720 camera** with motion gating: a rendered
   street clip (a fixed scene with sensor noise) in which ``--passes`` cars, each a real
   photo panned and zoomed for 1.2 s, go by over ``--seconds`` seconds. The whole ingest
   pipeline (decode, sample at 5 fps, gate, read, track, vote) runs on it, with 1 worker
   and with one worker per core; the factor is video time / wall time (above 1 keeps up).
   It also counts the passes found and read right: a dropped pass would show there.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import cv2
import numpy as np
import typer
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from node.alpr import PlateReader
from node.ids import CameraId
from node.ingest.pipeline import IngestPipeline, IngestSettings
from node.ingest.video import FileVideo

SIZE = (1280, 720)
FPS = 15.0


def photos_with_plates(folder: Path, labels: Path, count: int) -> list[tuple[Path, str]]:
    with labels.open(newline="") as f:
        rows = [(folder / r["file"], r["plate"]) for r in csv.DictReader(f)]
    wide = [
        (p, plate)
        for p, plate in rows
        if (im := cv2.imread(str(p))) is not None and im.shape[1] >= 1280
    ]
    return wide[:count]


def pan(image: np.ndarray, t: float) -> np.ndarray:
    scale = 1.0 + 0.12 * t
    x = (SIZE[0] - SIZE[0] / scale) * (0.5 + 0.2 * np.sin(2 * np.pi * t))
    y = (SIZE[1] - SIZE[1] / scale) * 0.5
    matrix = np.array([[scale, 0, -x * scale], [0, scale, -y * scale]])
    return cv2.warpAffine(image, matrix, SIZE, flags=cv2.INTER_LINEAR)


def render_street(out: Path, photos: list[tuple[Path, str]], seconds: float) -> list[str]:
    """A street scene with ``len(photos)`` passes spread over ``seconds``; returns the plates."""
    rng = np.random.default_rng(34)
    first = cv2.resize(cv2.imread(str(photos[0][0])), SIZE)
    background = cv2.GaussianBlur(first, (0, 0), 25)
    noise = [
        np.clip(background + rng.normal(0, 2.0, background.shape), 0, 255).astype(np.uint8)
        for _ in range(6)
    ]
    total = int(seconds * FPS)
    per_pass = int(1.2 * FPS)
    starts = [int((i + 0.5) * total / len(photos)) for i in range(len(photos))]
    images = [cv2.resize(cv2.imread(str(p)), SIZE) for p, _ in photos]
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    for i in range(total):
        frame = noise[i % len(noise)]
        for start, image in zip(starts, images, strict=True):
            if start <= i < start + per_pass:
                frame = pan(image, (i - start) / (per_pass - 1))
        writer.write(frame)
    writer.release()
    return [plate for _, plate in photos]


def frames_per_core(photos: list[tuple[Path, str]], frames: int) -> tuple[float, str]:
    reader = PlateReader()
    images = [cv2.resize(cv2.imread(str(p)), SIZE) for p, _ in photos]
    reader.read(images[0])
    start = time.perf_counter()
    for i in range(frames):
        reader.read(pan(images[i % len(images)], (i % 10) / 9))
    return frames / (time.perf_counter() - start), reader.provider


def realtime(clip: Path, workers: int) -> dict[str, float]:
    source = FileVideo(clip)
    found: list[str] = []

    def deliver(reads, cursor, *, finished):  # type: ignore[no-untyped-def]
        found.extend(r.text for r in reads)

    pipeline = IngestPipeline(CameraId("bench"), IngestSettings(workers=workers))
    start = time.perf_counter()
    stats = pipeline.run(source, deliver)
    wall = time.perf_counter() - start
    video = source.frame_count / source.fps
    return {
        "workers": workers,
        "video_seconds": video,
        "wall_seconds": wall,
        "realtime_factor": video / wall,
        "frames": stats.frames,
        "sampled": stats.sampled,
        "still": stats.still,
        "read": stats.read,
        "passes": len(found),
        "found": found,  # type: ignore[dict-item]
    }


def main(
    photos: Annotated[Path, typer.Option(help="Folder of labelled photos.")] = Path(
        "../shared/data/alpr/us"
    ),
    labels: Annotated[
        Path | None, typer.Option(help="Its file,plate CSV (default: <folder>.csv).")
    ] = None,
    seconds: Annotated[float, typer.Option(help="Length of the street clip.")] = 60.0,
    passes: Annotated[int, typer.Option(help="Cars going by in the clip.")] = 6,
    frames: Annotated[int, typer.Option(help="Frames read for the per-core figure.")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    cv2.setNumThreads(1)
    labels = labels or photos.with_suffix(".csv")
    chosen = photos_with_plates(photos, labels, passes)
    fps, provider = frames_per_core(chosen, frames)
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "street.mp4"
        plates = render_street(clip, chosen, seconds)
        runs = [realtime(clip, 1)] + ([realtime(clip, cores)] if cores > 1 else [])
    for run in runs:
        found = list(run.pop("found"))  # type: ignore[call-overload]
        run["passes_expected"] = len(plates)
        run["passes_read_right"] = sum(1 for p in plates if p in found)
    summary = {
        "provider": provider,
        "cores": cores,
        "frames_per_second_per_core_720p": fps,
        "seconds_per_720p_frame": 1 / fps,
        "realtime_factor_1_worker": runs[0]["realtime_factor"],
        "realtime_factor_all_cores": runs[-1]["realtime_factor"],
        "runs": runs,
    }
    if as_json:
        print(json.dumps(summary))
        return
    console = Console()
    console.print(
        f"reader at 1280x720 ({provider}): {fps:.2f} frames/s per core ({1 / fps:.3f} s a frame)"
    )
    table = Table(
        title=f"{seconds:.0f} s street clip, 15 fps, 1280x720, {len(plates)} passes, motion gating"
    )
    for col in (
        "workers",
        "sampled",
        "still",
        "read",
        "passes",
        "read right",
        "wall s",
        "real-time factor",
    ):
        table.add_column(col, justify="right")
    for run in runs:
        table.add_row(
            str(run["workers"]),
            str(run["sampled"]),
            str(run["still"]),
            str(run["read"]),
            f"{run['passes']}/{run['passes_expected']}",
            str(run["passes_read_right"]),
            f"{run['wall_seconds']:.1f}",
            f"{run['realtime_factor']:.2f}x",
        )
    console.print(table)


if __name__ == "__main__":
    typer.run(main)
