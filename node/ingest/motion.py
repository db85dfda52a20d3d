"""Motion gating: read a frame only when something in the picture moved.

A fixed camera shows an empty street most of the time, and reading a frame costs a few
hundred milliseconds on one core: gating on motion is what lets one core keep up with a
camera. The test is cheap (a grey thumbnail differenced against the previous sampled
frame) and errs towards reading: a frame counts as moving when enough of its thumbnail
changed, and for ``hold`` seconds after, so a car that slows to a stop is still read.
Pure logic over arrays and timestamps, no clock of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class MotionSettings:
    #: Width (pixels) of the grey thumbnail that is compared.
    thumbnail_width: int = 160
    #: A thumbnail pixel changed when its grey level moved by more than this.
    pixel_threshold: int = 18
    #: A frame moves when at least this share of its thumbnail changed.
    min_changed: float = 0.004
    #: After motion, frames keep counting as moving for this many seconds.
    hold: float = 1.0


class MotionGate:
    """Says, frame by frame, whether a frame is worth reading."""

    def __init__(self, settings: MotionSettings | None = None) -> None:
        self.settings = settings or MotionSettings()
        self._previous: npt.NDArray[np.uint8] | None = None
        self._last_motion: float | None = None

    def reset(self) -> None:
        """Forget the previous frame (after a reconnect, the next frame is compared to nothing)."""
        self._previous = None

    def moving(self, at: float, image: npt.NDArray[Any]) -> bool:
        """Whether the frame at ``at`` seconds moved; the first frame always does."""
        thumb = self._thumbnail(image)
        previous, self._previous = self._previous, thumb
        if previous is None or previous.shape != thumb.shape:
            self._last_motion = at
            return True
        diff = cv2.absdiff(thumb, previous)
        changed = float(np.count_nonzero(diff > self.settings.pixel_threshold)) / diff.size
        if changed >= self.settings.min_changed:
            self._last_motion = at
            return True
        return self._last_motion is not None and at - self._last_motion <= self.settings.hold

    def _thumbnail(self, image: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
        grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        height, width = grey.shape[:2]
        w = min(self.settings.thumbnail_width, width)
        h = max(1, round(height * w / width))
        small = cv2.resize(grey, (w, h), interpolation=cv2.INTER_AREA)
        return np.asarray(cv2.GaussianBlur(small, (5, 5), 0), dtype=np.uint8)
