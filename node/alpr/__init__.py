"""Plate recognition on the node: text detection and recognition on onnxruntime.

:class:`PlateReader` reads the plates of one image; :mod:`node.alpr.track` turns the
reads of consecutive frames into one read per vehicle pass. The models and their
provenance are described in ``MODEL_CARD.md``.
"""

from node.alpr.candidates import ANY, AUTO, BR, EU, REGIONS, US, Region, normalise
from node.alpr.geometry import Box
from node.alpr.reader import PlateReader, ReaderSettings
from node.alpr.reads import Candidate, PlateRead

__all__ = [
    "ANY",
    "AUTO",
    "BR",
    "EU",
    "REGIONS",
    "US",
    "Box",
    "Candidate",
    "PlateRead",
    "PlateReader",
    "ReaderSettings",
    "Region",
    "normalise",
]
