"""The plate reader: proposals, recognition, candidates and ranking for one image.

Two kinds of region are read. The text detector finds every text line, so it sees the
plate's number even where morphology fails; the morphological proposals see plates as
a whole, which the recognizer reads best when the line detector splits or merges text.
Each region is cut (proposals with a margin) and read; readings of overlapping regions
belong to one plate, and agreeing readings reinforce each other::

    reader = PlateReader()
    for read in reader.read(cv2.imread("car.jpg")):
        print(read.text, read.confidence, [c.text for c in read.candidates])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from node.alpr.candidates import AUTO, RankingSettings, Reading, Region, readings
from node.alpr.detect import DetectorSettings, TextDetector
from node.alpr.errors import ImageError
from node.alpr.geometry import Box, Image, Quad, crop_quad
from node.alpr.models import DETECTION, RECOGNITION, locate
from node.alpr.proposals import ProposalSettings, plate_proposals
from node.alpr.reads import Candidate, PlateRead
from node.alpr.recognition import TextRecognizer
from node.alpr.runtime import open_model


@dataclass(frozen=True, slots=True)
class ReaderSettings:
    region: Region = AUTO
    detector: DetectorSettings = field(default_factory=DetectorSettings)
    proposals: ProposalSettings = field(default_factory=ProposalSettings)
    ranking: RankingSettings = field(default_factory=RankingSettings)
    #: Text lines shorter than this (pixels) or outside these proportions are not read.
    min_line_height: float = 8.0
    min_line_aspect: float = 1.2
    max_line_aspect: float = 10.0
    #: Margins (share of width, share of height) of the framings cut around a proposal.
    framings: tuple[tuple[float, float], ...] = ((0.04, 0.15),)
    #: Regions overlapping by more than this (of the smaller one) show the same plate.
    same_plate: float = 0.5
    #: At most this many candidates per plate.
    candidates: int = 10


@dataclass(slots=True)
class _Region:
    box: Box
    quad: Quad
    readings: list[Reading] = field(default_factory=list)


class PlateReader:
    """Finds and reads plates in BGR images; one instance per worker process."""

    def __init__(
        self, settings: ReaderSettings | None = None, *, models_dir: Path | None = None
    ) -> None:
        self.settings = settings or ReaderSettings()
        detection = open_model(locate(DETECTION, models_dir))
        recognition = open_model(locate(RECOGNITION, models_dir))
        self.detector = TextDetector(detection, self.settings.detector)
        self.recognizer = TextRecognizer(recognition)
        #: The execution provider running the models (reported by the CLI).
        self.provider = recognition.provider

    def read(self, image: npt.NDArray[Any]) -> list[PlateRead]:
        """Plates in ``image`` (BGR, grey or BGRA, 8-bit), most confident first.

        Raises :class:`ImageError` for anything else (an empty or float array, say).
        """
        image = _as_bgr(image)
        regions = self._regions(image)
        lines = self.recognizer.read([crop_quad(image, r.quad) for r in regions])
        for region, line in zip(regions, lines, strict=True):
            region.readings = readings(line, self.settings.region, self.settings.ranking)
        return self._plates([r for r in regions if r.readings])

    def _regions(self, image: Image) -> list[_Region]:
        s = self.settings
        height, width = image.shape[:2]
        out: list[_Region] = []
        for line in self.detector.detect(image):
            edges = np.linalg.norm(line.quad - np.roll(line.quad, -1, axis=0), axis=1)
            long_side, short_side = float(edges[0]), float(edges[1])
            if short_side < s.min_line_height:
                continue
            if not s.min_line_aspect <= long_side / short_side <= s.max_line_aspect:
                continue
            out.append(_Region(line.box, line.quad))
        for proposal in plate_proposals(image, s.proposals):
            for dx, dy in s.framings:
                box = proposal.box.grown(proposal.box.w * dx, proposal.box.h * dy)
                box = box.clipped(width, height)
                if box.w >= 8 and box.h >= 4:
                    out.append(_Region(box, box.quad()))
        return out

    def _plates(self, regions: Sequence[_Region]) -> list[PlateRead]:
        groups: list[list[_Region]] = []
        for region in sorted(regions, key=lambda r: -r.readings[0].confidence):
            for group in groups:
                if group[0].box.overlap(region.box) > self.settings.same_plate:
                    group.append(region)
                    break
            else:
                groups.append([region])
        plates = [self._plate(group) for group in groups]
        plates.sort(key=lambda p: -p.confidence)
        return plates

    def _plate(self, group: Sequence[_Region]) -> PlateRead:
        miss: dict[str, float] = {}
        raw: dict[str, tuple[float, str]] = {}
        for region in group:
            for reading in region.readings:
                # Independent framings agreeing: the chance that all of them are wrong.
                miss[reading.text] = miss.get(reading.text, 1.0) * (1.0 - reading.confidence)
                if reading.confidence > raw.get(reading.text, (-1.0, ""))[0]:
                    raw[reading.text] = (reading.confidence, reading.raw)
        ranked = sorted(miss.items(), key=lambda item: item[1])[: self.settings.candidates]
        candidates = tuple(Candidate(text, raw[text][1], 1.0 - m) for text, m in ranked)
        return PlateRead(group[0].box, candidates)


def _as_bgr(image: npt.NDArray[Any]) -> Image:
    if not isinstance(image, np.ndarray) or image.size == 0:
        raise ImageError("the image is empty")
    if image.dtype != np.uint8:
        raise ImageError(f"the image must be 8-bit, not {image.dtype}")
    if image.ndim == 2:
        return np.ascontiguousarray(np.repeat(image[:, :, None], 3, axis=2))
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    if image.ndim == 3 and image.shape[2] == 4:
        return np.ascontiguousarray(image[:, :, :3])
    raise ImageError(f"the image must be grey, BGR or BGRA, not of shape {image.shape}")
