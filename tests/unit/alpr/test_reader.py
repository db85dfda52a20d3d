"""The reader with the real models on shared photos (skipped where the photos are absent)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from node.alpr import PlateReader
from node.alpr.errors import ImageError

PHOTOS = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "alpr"
SAMPLES = [("us", "wts-lg-000136.jpg", "CYZ5139"), ("br", "AYO9034.jpg", "AYO9034")]


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return PlateReader()


@pytest.mark.skipif(not PHOTOS.is_dir(), reason=f"shared ALPR photos not found at {PHOTOS}")
@pytest.mark.parametrize(("folder", "name", "plate"), SAMPLES)
def test_known_plate_is_among_candidates(
    reader: PlateReader, folder: str, name: str, plate: str
) -> None:
    image = cv2.imread(str(PHOTOS / folder / name), cv2.IMREAD_COLOR)
    assert image is not None
    reads = reader.read(image)
    assert plate in {c.text for r in reads for c in r.candidates}
    best = next(r for r in reads if plate in {c.text for c in r.candidates})
    height, width = image.shape[:2]
    assert 0 <= best.box.x < width and 0 <= best.box.y < height
    assert all(0.0 <= c.confidence <= 1.0 for c in best.candidates)
    assert reader.provider in {"CPUExecutionProvider", "CUDAExecutionProvider"}


def test_blank_and_odd_images(reader: PlateReader) -> None:
    assert reader.read(np.full((120, 160), 128, np.uint8)) == []
    with pytest.raises(ImageError, match="empty"):
        reader.read(np.zeros((0, 0, 3), np.uint8))
    with pytest.raises(ImageError, match="8-bit"):
        reader.read(np.zeros((10, 10, 3), np.float32))
    with pytest.raises(ImageError, match="shape"):
        reader.read(np.zeros((10, 10, 2), np.uint8))
