"""Test videos made at test time: pan-and-zoom passes over real photos, written with mp4v.

The clip stands in for a camera watching cars go by: an empty street (nothing moves, so
motion gating skips it), then the view pans and zooms across a photo so every frame
differs, then the street again before the next car.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

SHARED_ALPR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "alpr"
#: US photos (1280x720) whose plates the reader gets right.
PHOTOS = ("wts-lg-000016.jpg", "f0a3b8c0-198a-471b-9ca9-345c3dd28073.jpg")


def shared_photo(name: str = PHOTOS[0], folder: str = "us") -> tuple[Path, str]:
    """A shared test photo and its labelled plate; skips (or fails under CI) if absent."""
    path = SHARED_ALPR / folder / name
    if not path.is_file():
        reason = f"the shared ALPR photos are not at {SHARED_ALPR}"
        if os.environ.get("ACCORD_REQUIRE_SHARED_DATA"):
            pytest.fail(reason)
        pytest.skip(reason)
    with (SHARED_ALPR / f"{folder}.csv").open(newline="") as f:
        plate = next(r["plate"] for r in csv.DictReader(f) if r["file"] == name)
    return path, plate


def render_clip(
    photos: list[Path],
    out: Path,
    *,
    pass_seconds: float = 1.2,
    gap: float = 2.0,
    fps: float = 15.0,
    size: tuple[int, int] = (1280, 720),
    zoom: float = 1.12,
) -> int:
    """Write the clip to ``out`` (``.mp4``, mp4v) and return its number of frames.

    For each photo: ``gap`` seconds of an empty grey street, then ``pass_seconds`` of a
    pan-and-zoom across the photo (one vehicle pass); then ``gap`` seconds of street.
    """
    width, height = size
    street = np.full((height, width, 3), 96, dtype=np.uint8)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert writer.isOpened(), "OpenCV cannot write mp4v"
    frames = 0

    def write(image: np.ndarray, n: int) -> None:
        nonlocal frames
        for _ in range(n):
            writer.write(image)
            frames += 1

    try:
        for photo in photos:
            write(street, int(gap * fps))
            image = cv2.imread(str(photo), cv2.IMREAD_COLOR)
            assert image is not None, photo
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            moving = max(int(pass_seconds * fps), 2)
            for i in range(moving):
                t = i / (moving - 1)
                scale = 1.0 + (zoom - 1.0) * t
                x = (width - width / scale) * (0.5 + 0.2 * np.sin(2 * np.pi * t))
                y = (height - height / scale) * 0.5
                matrix = np.array([[scale, 0, -x * scale], [0, scale, -y * scale]])
                write(cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR), 1)
        write(street, int(gap * fps))
    finally:
        writer.release()
    return frames
