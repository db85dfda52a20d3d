"""Boxes in image pixels and the crops cut along them.

:class:`Box` is axis-aligned (what a read stores and a tracker compares); a text line
found by the detector may be slanted, so it is kept as four corners (:data:`Quad`) and
straightened by a perspective warp when cut out.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

#: An 8-bit image, BGR (H x W x 3) or grey (H x W).
Image = npt.NDArray[np.uint8]
#: Four corners, float32 of shape (4, 2), clockwise from top-left.
Quad = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned rectangle: top-left corner, width and height, in pixels."""

    x: float
    y: float
    w: float
    h: float

    @property
    def area(self) -> float:
        return max(self.w, 0.0) * max(self.h, 0.0)

    @property
    def center(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h / 2)

    def intersection(self, other: Box) -> float:
        ix = min(self.x + self.w, other.x + other.w) - max(self.x, other.x)
        iy = min(self.y + self.h, other.y + other.h) - max(self.y, other.y)
        return max(ix, 0.0) * max(iy, 0.0)

    def iou(self, other: Box) -> float:
        """Intersection over union, 0..1."""
        inter = self.intersection(other)
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def overlap(self, other: Box) -> float:
        """Intersection over the smaller area, 0..1: 1 when one box lies inside the other."""
        smaller = min(self.area, other.area)
        return self.intersection(other) / smaller if smaller > 0 else 0.0

    def grown(self, dx: float, dy: float) -> Box:
        """The box widened by ``dx`` and heightened by ``dy`` on each side (negative shrinks)."""
        return Box(self.x - dx, self.y - dy, self.w + 2 * dx, self.h + 2 * dy)

    def scaled(self, factor: float) -> Box:
        """The box in an image resized by ``factor``."""
        return Box(self.x * factor, self.y * factor, self.w * factor, self.h * factor)

    def clipped(self, width: int, height: int) -> Box:
        """The part of the box inside a ``width`` x ``height`` image."""
        x0, y0 = max(self.x, 0.0), max(self.y, 0.0)
        x1, y1 = min(self.x + self.w, float(width)), min(self.y + self.h, float(height))
        return Box(x0, y0, max(x1 - x0, 0.0), max(y1 - y0, 0.0))

    @staticmethod
    def around(quad: Quad) -> Box:
        """The smallest box holding the four corners."""
        x0, y0 = (float(v) for v in quad.min(axis=0))
        x1, y1 = (float(v) for v in quad.max(axis=0))
        return Box(x0, y0, x1 - x0, y1 - y0)

    def quad(self) -> Quad:
        x1, y1 = self.x + self.w, self.y + self.h
        return np.array([[self.x, self.y], [x1, self.y], [x1, y1], [self.x, y1]], np.float32)


def order_corners(points: npt.NDArray[np.float32]) -> Quad:
    """Four points as top-left, top-right, bottom-right, bottom-left."""
    pts = np.asarray(points, np.float32).reshape(4, 2)
    by_x = pts[np.argsort(pts[:, 0], kind="stable")]
    left = by_x[:2][np.argsort(by_x[:2, 1], kind="stable")]
    right = by_x[2:][np.argsort(by_x[2:, 1], kind="stable")]
    return np.array([left[0], right[0], right[1], left[1]], np.float32)


def crop_quad(image: Image, quad: Quad) -> Image:
    """Cut out ``quad`` and warp it to an upright rectangle (replicating edge pixels)."""
    tl, tr, br, bl = quad
    width = max(round(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))), 2)
    height = max(round(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))), 2)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    out = cv2.warpPerspective(
        image, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    return np.asarray(out, np.uint8)


def crop_box(image: Image, box: Box) -> Image:
    """Cut out ``box`` (clipped to the image); an empty box gives an empty array."""
    b = box.clipped(image.shape[1], image.shape[0])
    x0, y0 = round(b.x), round(b.y)
    x1, y1 = round(b.x + b.w), round(b.y + b.h)
    return image[y0:y1, x0:x1]
