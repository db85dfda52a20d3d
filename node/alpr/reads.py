"""What the reader returns: plates found in one image, each with its ranked candidates."""

from __future__ import annotations

from dataclasses import dataclass

from node.alpr.geometry import Box


@dataclass(frozen=True, slots=True)
class Candidate:
    """One spelling of a plate.

    ``text`` is normalised (A-Z0-9, see :func:`node.alpr.candidates.normalise`); ``raw``
    is the recognizer's string with its separators; ``confidence`` is 0..1.
    """

    text: str
    raw: str
    confidence: float


@dataclass(frozen=True, slots=True)
class PlateRead:
    """A plate in one image: where it is and what it says, best candidate first.

    ``text``, ``raw`` and ``confidence`` repeat ``candidates[0]``.
    """

    box: Box
    candidates: tuple[Candidate, ...]

    def __post_init__(self) -> None:
        if not self.candidates:
            raise ValueError("a PlateRead needs at least one candidate")

    @property
    def text(self) -> str:
        return self.candidates[0].text

    @property
    def raw(self) -> str:
        return self.candidates[0].raw

    @property
    def confidence(self) -> float:
        return self.candidates[0].confidence
