"""Plate-shaped regions found with cheap image morphology, no model.

A plate is a rectangle of dense vertical strokes: characters darker (or lighter) than
their background, in a row. Black-hat and top-hat filters keep strokes thinner than the
kernel, a horizontal Sobel keeps their vertical edges, a wide closing merges a row of
characters into one blob and Otsu's threshold cuts the blobs out. Blobs whose bounding
boxes have a plate's proportions are proposals, ranked by edge density. The filters run
on a pyramid so that both a distant plate (12-pixel characters) and a close one (60-pixel
characters) fit the fixed kernels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from node.alpr.geometry import Box, Image


@dataclass(frozen=True, slots=True)
class Proposal:
    """A region that may hold a plate, and how strongly it looks like one (0..1)."""

    box: Box
    score: float


@dataclass(frozen=True, slots=True)
class ProposalSettings:
    #: The image is first shrunk to at most this width; then halved for each further level.
    work_width: int = 1024
    levels: int = 3
    #: Width / height of a proposal's box: from a US plate (2:1) to an EU one (4.7:1), with slack.
    min_aspect: float = 1.3
    max_aspect: float = 7.0
    #: Blobs smaller than this (pixels at their level) are not plates.
    min_width: int = 24
    min_height: int = 7
    #: The share of the blob's box its pixels must fill.
    min_fill: float = 0.45
    #: Proposals overlapping a better one by more than this IoU are dropped.
    nms_iou: float = 0.45
    #: At most this many proposals, best first.
    limit: int = 10


def plate_proposals(image: Image, settings: ProposalSettings | None = None) -> list[Proposal]:
    """Plate-shaped regions of a BGR or grey image, best first, in image pixels."""
    s = settings or ProposalSettings()
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    scale = min(1.0, s.work_width / grey.shape[1])
    level = np.asarray(grey, np.uint8)
    if scale < 1.0:
        level = np.asarray(
            cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), np.uint8
        )
    found: list[Proposal] = []
    for _ in range(s.levels):
        if min(level.shape) < 2 * s.min_height:
            break
        found.extend(Proposal(box.scaled(1 / scale), score) for box, score in _blobs(level, s))
        level = np.asarray(cv2.pyrDown(level), np.uint8)
        scale /= 2
    return _suppress(found, s.nms_iou)[: s.limit]


_STROKE = cv2.getStructuringElement(cv2.MORPH_RECT, (13, 5))
_ROW = cv2.getStructuringElement(cv2.MORPH_RECT, (21, 5))
_CLEAN = np.ones((3, 3), np.uint8)
_BLUR = (5, 5)


def _blobs(grey: npt.NDArray[np.uint8], s: ProposalSettings) -> list[tuple[Box, float]]:
    height, width = grey.shape
    out: list[tuple[Box, float]] = []
    for operation in (cv2.MORPH_BLACKHAT, cv2.MORPH_TOPHAT):
        strokes = cv2.morphologyEx(grey, operation, _STROKE)
        edges = np.abs(cv2.Sobel(strokes, cv2.CV_32F, 1, 0, ksize=3))
        peak = float(edges.max())
        if peak <= 0:
            continue
        edges8 = cv2.GaussianBlur((edges * (255.0 / peak)).astype(np.uint8), _BLUR, 0)
        closed = np.asarray(cv2.morphologyEx(edges8, cv2.MORPH_CLOSE, _ROW), np.uint8)
        _, binary = cv2.threshold(closed, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        binary = cv2.erode(binary, _CLEAN, iterations=2)
        binary = cv2.dilate(binary, _CLEAN, iterations=2)
        contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            x, y, w, h = cv2.boundingRect(contour)
            if w < s.min_width or h < s.min_height or w > width * 0.6 or h > height * 0.4:
                continue
            if not s.min_aspect <= w / h <= s.max_aspect:
                continue
            fill = cv2.contourArea(contour) / (w * h)
            if fill < s.min_fill:
                continue
            density = float(closed[y : y + h, x : x + w].mean()) / 255.0
            out.append((Box(float(x), float(y), float(w), float(h)), density * fill))
    return out


def _suppress(proposals: list[Proposal], iou: float) -> list[Proposal]:
    kept: list[Proposal] = []
    for p in sorted(proposals, key=lambda p: -p.score):
        if all(p.box.iou(k.box) <= iou for k in kept):
            kept.append(p)
    return kept
