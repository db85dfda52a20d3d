"""Boxes, provider choice, model pinning and morphological proposals: no model needed."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from node.alpr.errors import ModelChecksumError, ModelNotFoundError
from node.alpr.geometry import Box, crop_box, crop_quad, order_corners
from node.alpr.models import ModelFile, locate
from node.alpr.proposals import plate_proposals
from node.alpr.runtime import CPU, CUDA, choose_providers


def test_box_overlaps() -> None:
    a, b = Box(0, 0, 10, 10), Box(5, 0, 10, 10)
    assert a.iou(b) == pytest.approx(50 / 150)
    assert Box(2, 2, 2, 2).overlap(a) == 1.0
    assert a.iou(Box(20, 20, 5, 5)) == 0.0
    assert a.grown(1, 2) == Box(-1, -2, 12, 14)
    assert Box(-5, -5, 10, 10).clipped(4, 4) == Box(0, 0, 4, 4)


def test_crops() -> None:
    image = np.arange(100 * 200 * 3, dtype=np.uint32).reshape(100, 200, 3).astype(np.uint8)
    assert crop_box(image, Box(10, 20, 30, 40)).shape == (40, 30, 3)
    assert crop_box(image, Box(500, 500, 10, 10)).size == 0
    quad = order_corners(np.array([[50, 60], [10, 20], [50, 20], [10, 60]], np.float32))
    assert quad.tolist() == [[10, 20], [50, 20], [50, 60], [10, 60]]
    assert crop_quad(image, quad).shape == (40, 40, 3)


def test_cuda_is_preferred_only_when_offered() -> None:
    assert choose_providers([CUDA, CPU]) == [CUDA, CPU]
    assert choose_providers([CPU, "AzureExecutionProvider"]) == [CPU]
    assert choose_providers([CUDA, CPU], prefer_gpu=False) == [CPU]


def test_models_are_checked_against_their_pin(tmp_path: Path) -> None:
    (tmp_path / "m.onnx").write_bytes(b"not the model")
    pinned = ModelFile("m.onnx", "0f2c3a4de2a2d1a1a4e4f1f6c54d6b0e3e1cc2d5ea1d8a3f3bd9c0df6a8c1b7c")
    with pytest.raises(ModelChecksumError, match="does not match"):
        locate(pinned, tmp_path)
    with pytest.raises(ModelNotFoundError):
        locate(ModelFile("absent.onnx", pinned.sha256), tmp_path)


def test_a_drawn_plate_is_proposed() -> None:
    image = np.full((480, 640, 3), 90, np.uint8)
    cv2.rectangle(image, (250, 300), (410, 345), (235, 235, 235), -1)
    cv2.putText(image, "ABC1234", (258, 335), cv2.FONT_HERSHEY_SIMPLEX, 0.95, (20, 20, 20), 2)
    cv2.putText(image, "-", (40, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2)
    plate = Box(250, 300, 160, 45)
    proposals = plate_proposals(image)
    assert any(p.box.iou(plate) > 0.4 for p in proposals[:3])
    assert all(0.0 <= p.score <= 1.0 for p in proposals)
