"""Text of a cropped line, from the PP-OCRv6 recognition model (CTC).

The model reads a line scaled to 48 pixels high and emits, for every 8-pixel column
step, a probability over its character list (blank first, space last). The best path,
with repeats merged and blanks dropped, is the text. For each character we also keep the
runner-up letters and digits, so later rules can prefer ``4`` over ``L`` where a plate
format needs a digit, and so every plausible reading reaches the candidate list.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from node.alpr.errors import ModelError
from node.alpr.geometry import Image
from node.alpr.runtime import OnnxModel

#: Input height of the recognition model.
HEIGHT = 48
ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


@dataclass(frozen=True, slots=True)
class Glyph:
    """One character of a read line.

    ``char`` is what the model emitted (any character of its list); ``choices`` are the
    most likely letters and digits at that place, upper-cased with the probability of both
    cases added, best first.
    """

    char: str
    prob: float
    choices: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class LineRead:
    """The recognizer's reading of one crop."""

    raw: str
    glyphs: tuple[Glyph, ...]

    @property
    def confidence(self) -> float:
        """Mean probability of the emitted characters; 0 for an empty line."""
        if not self.glyphs:
            return 0.0
        return sum(g.prob for g in self.glyphs) / len(self.glyphs)


class Charset:
    """The model's classes: blank, the characters in its metadata, then space."""

    def __init__(self, characters: Sequence[str]) -> None:
        self.chars: tuple[str, ...] = ("", *characters, " ")
        alnum: dict[str, list[int]] = {}
        for index, char in enumerate(self.chars):
            upper = unicodedata.normalize("NFKC", char).upper()
            if upper in ALNUM:
                alnum.setdefault(upper, []).append(index)
        self.alnum_names: tuple[str, ...] = tuple(sorted(alnum))
        # A (classes x letters-and-digits) 0/1 matrix that adds both cases of a letter.
        fold = np.zeros((len(self.chars), len(self.alnum_names)), np.float32)
        for column, name in enumerate(self.alnum_names):
            fold[alnum[name], column] = 1.0
        self.fold = fold

    @staticmethod
    def from_model(model: OnnxModel) -> Charset:
        """The character list stored in the recognition model's ``character`` metadata."""
        text = model.metadata.get("character")
        if not text:
            raise ModelError(f"{model.path}: no 'character' list in the model metadata")
        return Charset(text.splitlines())


class TextRecognizer:
    """Reads cropped text lines::

    recognizer = TextRecognizer(open_model(locate(RECOGNITION)))
    line = recognizer.read([crop])[0]
    """

    def __init__(
        self, model: OnnxModel, *, batch_size: int = 4, max_aspect: float = 16.0, choices: int = 3
    ) -> None:
        self.model = model
        self.charset = Charset.from_model(model)
        self.batch_size = batch_size
        self.max_aspect = max_aspect
        self.choices = choices

    def read(self, crops: Sequence[Image]) -> list[LineRead]:
        """Read each BGR crop; crops of similar shape share a batch."""
        order = sorted(range(len(crops)), key=lambda i: _aspect(crops[i]))
        out: list[LineRead | None] = [None] * len(crops)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            widths = [self._width(crops[i]) for i in chunk]
            batch = np.zeros((len(chunk), 3, HEIGHT, max(widths)), np.float32)
            for row, (i, width) in enumerate(zip(chunk, widths, strict=True)):
                batch[row, :, :, :width] = _normalise(crops[i], width)
            probs = self.model.run(batch)
            if probs.shape[-1] != len(self.charset.chars):
                raise ModelError(
                    f"{self.model.path}: {probs.shape[-1]} classes, "
                    f"but {len(self.charset.chars)} characters"
                )
            for row, i in enumerate(chunk):
                out[i] = self.decode(probs[row])
        return [line for line in out if line is not None]

    def _width(self, crop: Image) -> int:
        aspect = min(_aspect(crop), self.max_aspect)
        return max(math.ceil(HEIGHT * aspect), HEIGHT // 2)

    def decode(self, probs: npt.NDArray[np.float32]) -> LineRead:
        """Best-path CTC decoding of one (steps x classes) probability matrix."""
        best = probs.argmax(axis=1)
        glyphs: list[Glyph] = []
        step = 0
        while step < len(best):
            index = int(best[step])
            end = step + 1
            while end < len(best) and best[end] == index:
                end += 1
            if index != 0:
                peak = step + int(probs[step:end, index].argmax())
                glyphs.append(self._glyph(probs[peak], index))
            step = end
        return LineRead("".join(g.char for g in glyphs), tuple(glyphs))

    def _glyph(self, row: npt.NDArray[np.float32], index: int) -> Glyph:
        folded = row @ self.charset.fold
        top = np.argsort(-folded)[: self.choices]
        choices = tuple(
            (self.charset.alnum_names[k], float(folded[k])) for k in top if folded[k] > 0.0
        )
        return Glyph(self.charset.chars[index], float(row[index]), choices)


def _aspect(crop: Image) -> float:
    return float(crop.shape[1]) / max(float(crop.shape[0]), 1.0)


def _normalise(crop: Image, width: int) -> npt.NDArray[np.float32]:
    resized = cv2.resize(crop, (width, HEIGHT), interpolation=cv2.INTER_LINEAR)
    return np.asarray((resized.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1))
