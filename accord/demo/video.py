"""The demo's camera footage: a short street clip drawn at run time, read by the node's ALPR.

The demo cannot ship real footage (real plates belong to real people, and test photos are
not licensed for demos), so it draws a street scene with OpenCV: an empty road, then a
car with a made-up California plate rolling through the frame, then the empty road again.
The node reads it with the same pipeline as any camera file (motion gating, detection,
OCR, per-pass vote, sealed storage): what comes out are ordinary, video-derived reads.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from node.ingest.jobs import VideoOutcome, ingest_video
from node.ingest.pipeline import IngestSettings

WIDTH, HEIGHT = 1280, 720
FPS = 10.0
#: Seconds of empty street before and after each car, and of each car's pass.
STILL_S, PASS_S = 1.0, 1.2
#: The car moves this many pixels across the frame during its pass.
TRAVEL_PX = 160

Image = npt.NDArray[np.uint8]


def _street() -> Image:
    image = np.full((HEIGHT, WIDTH, 3), (96, 98, 100), np.uint8)
    cv2.rectangle(image, (0, int(HEIGHT * 0.55)), (WIDTH, HEIGHT), (62, 62, 64), -1)
    return image


def _car(street: Image, plate: str, dx: int) -> Image:
    """The street with a (boxy) car whose rear plate reads ``plate``, shifted by ``dx``."""
    image = street.copy()
    x0 = 330 + dx
    cv2.rectangle(image, (x0, 250), (x0 + 560, 610), (40, 40, 150), -1)
    cv2.rectangle(image, (x0 + 50, 170), (x0 + 510, 290), (30, 30, 120), -1)
    px, py, pw, ph = x0 + 170, 470, 220, 110
    cv2.rectangle(image, (px, py), (px + pw, py + ph), (245, 245, 245), -1)
    cv2.rectangle(image, (px, py), (px + pw, py + ph), (30, 30, 30), 2)
    cv2.putText(
        image, "California", (px + 62, py + 24), cv2.FONT_HERSHEY_SIMPLEX, 0.55,
        (40, 40, 160), 1, cv2.LINE_AA,
    )  # fmt: skip
    cv2.putText(
        image, plate, (px + 14, py + 85), cv2.FONT_HERSHEY_DUPLEX, 1.45,
        (90, 30, 20), 3, cv2.LINE_AA,
    )  # fmt: skip
    return image


def render_clip(out: Path, plates: list[str]) -> float:
    """Write an mp4v clip of one pass per plate to ``out``; returns its length in seconds."""
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise RuntimeError("OpenCV cannot write an mp4v video here")
    street = _street()
    frames = 0
    try:
        for plate in plates:
            for _ in range(int(STILL_S * FPS)):
                writer.write(street)
                frames += 1
            moving = int(PASS_S * FPS)
            for i in range(moving):
                writer.write(_car(street, plate, round(TRAVEL_PX * i / (moving - 1))))
                frames += 1
        for _ in range(int(STILL_S * FPS)):
            writer.write(street)
            frames += 1
    finally:
        writer.release()
    return frames / FPS


def ingest_clip(home: Path, clip: Path, camera: str, *, started: dt.datetime) -> VideoOutcome:
    """Read ``clip`` as footage of ``camera`` that began at ``started`` (blocking)."""
    return ingest_video(
        home, str(clip), camera, settings=IngestSettings(sample_fps=5.0), start_time=started
    )
