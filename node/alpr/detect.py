"""Text lines anywhere in a photo, from the PP-OCRv6 detection model (DB).

The model turns the image into a per-pixel text probability; connected regions above a
threshold, scored by their mean probability and grown back to the text's full extent
(the model shrinks what it marks), are the lines. The plate's characters are usually one
such line; the state name, a slogan or a dealer frame are others, which the candidate
rules sort out later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from node.alpr.geometry import Box, Image, Quad, order_corners
from node.alpr.runtime import OnnxModel


@dataclass(frozen=True, slots=True, eq=False)
class TextLine:
    """One detected line: its four corners in image pixels and the model's mean score."""

    quad: Quad
    score: float
    box: Box = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "box", Box.around(self.quad))


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """How an image is sized for the model and how its probability map is cut into lines."""

    #: Images are enlarged until their short side reaches this (small text needs pixels)...
    min_side: int = 640
    #: ...and shrunk until they have at most this many pixels (time grows with the count;
    #: a 1280x720 frame runs at 1138x640).
    max_pixels: int = 1152 * 648
    #: Pixels with a text probability above this belong to a line.
    threshold: float = 0.3
    #: Lines whose mean probability is below this are dropped.
    min_score: float = 0.5
    #: How far a line is grown back, as area x ratio / perimeter (DB's "unclip").
    unclip_ratio: float = 1.6
    #: Lines thinner than this, in model-input pixels, are noise.
    min_height: float = 3.0


class TextDetector:
    """Finds text lines in a BGR image::

    lines = TextDetector(open_model(locate(DETECTION))).detect(image)
    """

    def __init__(self, model: OnnxModel, settings: DetectorSettings | None = None) -> None:
        self.model = model
        self.settings = settings or DetectorSettings()

    def input_size(self, width: int, height: int) -> tuple[int, int]:
        """Model input (width, height): scaled per the settings, multiples of 32."""
        s = self.settings
        scale = min(
            max(s.min_side / min(width, height), 1.0), math.sqrt(s.max_pixels / (width * height))
        )
        return (
            max(32, round(width * scale / 32) * 32),
            max(32, round(height * scale / 32) * 32),
        )

    def probability(self, image: Image, size: tuple[int, int]) -> npt.NDArray[np.float32]:
        """The model's text probability map for ``image`` resized to ``size``."""
        resized = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
        batch = (resized.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
        out = self.model.run(np.ascontiguousarray(batch, np.float32))
        return np.asarray(out[0, 0], np.float32)

    def detect(self, image: Image) -> list[TextLine]:
        """Text lines of ``image``, best score first."""
        height, width = image.shape[:2]
        size = self.input_size(width, height)
        prob = self.probability(image, size)
        sx, sy = width / size[0], height / size[1]
        lines = [
            TextLine(quad * np.array([sx, sy], np.float32), score)
            for quad, score in lines_from_map(prob, self.settings)
        ]
        lines.sort(key=lambda line: -line.score)
        return lines


def lines_from_map(
    prob: npt.NDArray[np.float32], settings: DetectorSettings
) -> list[tuple[Quad, float]]:
    """Cut a probability map into scored, grown quadrilaterals in map pixels."""
    mask = np.asarray(
        cv2.dilate((prob > settings.threshold).astype(np.uint8), np.ones((2, 2), np.uint8)),
        np.uint8,
    )
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    out: list[tuple[Quad, float]] = []
    for contour in contours:
        if len(contour) < 4:
            continue
        x, y, w, h = cv2.boundingRect(contour)
        region = np.zeros((h, w), np.uint8)
        cv2.fillPoly(region, [contour - np.array([x, y])], 1)
        score = float(cv2.mean(prob[y : y + h, x : x + w], mask=region)[0])
        if score < settings.min_score:
            continue
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
        if min(rw, rh) < settings.min_height:
            continue
        grow = rw * rh * settings.unclip_ratio / (2 * (rw + rh))
        rect = ((cx, cy), (rw + 2 * grow, rh + 2 * grow), angle)
        out.append((order_corners(np.asarray(cv2.boxPoints(rect), np.float32)), score))
    return out
