"""From a recognized line to ranked plate candidates.

Plates are written in capitals and digits; separators, emblems and the state's name are
not part of the number. So a reading is **normalised** (upper case, A-Z0-9 only, the raw
string kept beside it) and **plate-shaped** when it has 5 to 8 characters. Letters mixed
with digits are the common case; all-letter and all-digit plates exist (vanity plates,
old series) but so do words and dates around a plate, so they rank lower.

Each character comes with the model's runner-up letters and digits. A line yields a few
spellings (best path first, then the likely substitutions), and a :class:`Region`'s
plate formats re-rank them: where a format needs a digit, ``O`` reads as ``0`` and ``I``
as ``1`` (and the reverse where it needs a letter), and a spelling that fits a known
format gains over one that fits none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from node.alpr.recognition import Glyph, LineRead

# Re-exported: callers of the ALPR find them here too.
from node.plates import normalise as normalise
from node.plates import strict_form as strict_form

_LETTER_FOR = {"0": "O", "1": "I"}
_DIGIT_FOR = {"O": "0", "I": "1"}


@dataclass(frozen=True, slots=True)
class Region:
    """The plate conventions of a jurisdiction.

    ``formats`` use ``L`` for a letter, ``N`` for a digit and ``*`` for either.
    """

    name: str
    formats: tuple[str, ...] = ()
    min_length: int = 5
    max_length: int = 8
    #: Where plates never carry the letter O, a round glyph is always the digit zero.
    o_is_zero: bool = False

    def fits(self, text: str) -> str | None:
        """``text`` fitted to the format needing the fewest O/0 and I/1 swaps, or None."""
        best: str | None = None
        for fmt in self.formats:
            fitted = _fit(text, fmt)
            if fitted is not None and (
                best is None or _changes(text, fitted) < _changes(text, best)
            ):
                best = fitted
        return best


def _changes(a: str, b: str) -> int:
    return sum(1 for x, y in zip(a, b, strict=True) if x != y)


def _fit(text: str, fmt: str) -> str | None:
    if len(text) != len(fmt):
        return None
    out = []
    for char, cls in zip(text, fmt, strict=True):
        if cls == "N" and not char.isdigit():
            char = _DIGIT_FOR.get(char, char)
            if not char.isdigit():
                return None
        elif cls == "L" and not char.isalpha():
            char = _LETTER_FOR.get(char, char)
            if not char.isalpha():
                return None
        out.append(char)
    return "".join(out)


#: No format: any plate-shaped reading is as good as another.
ANY = Region("any")
#: US passenger plates: common state serial formats (California's NLLLNNN, the LLLNNNN of
#: many states, older six-character series). Most states leave the letter O out of
#: their serials, so the round glyph reads as zero.
US = Region(
    "us",
    formats=(
        "NLLLNNN",
        "LLLNNNN",
        "LLLNNN",
        "NNNLLL",
        "LLNLNL",
        "LNNNNNN",
        "NLLNNNN",
        "LLNNNNN",
    ),
    o_is_zero=True,
)
#: European plates of common national formats: Italy and France (LLNNNLL), the UK
#: (LLNNLLL), Poland (LLLNNNN, LLNNNNN), Czechia and Slovakia (NLNNNNN, NLLNNNN), Spain
#: (NNNNLLL).
EU = Region(
    "eu",
    formats=("LLNNNLL", "LLNNLLL", "LLLNNNN", "LLNNNNN", "NLNNNNN", "NLLNNNN", "NNNNLLL"),
)
#: Brazilian plates: the old LLLNNNN series and the Mercosur LLLNLNN one.
BR = Region("br", formats=("LLLNNNN", "LLLNLNN"), min_length=7, max_length=7)
#: Any of the formats above, when the reader does not know where it is; O is not folded.
AUTO = Region("auto", formats=tuple(dict.fromkeys(US.formats + EU.formats + BR.formats)))
REGIONS = {r.name: r for r in (AUTO, ANY, US, EU, BR)}


@dataclass(frozen=True, slots=True)
class Reading:
    """One plate-shaped spelling of a line: normalised text, raw text and a 0..1 score."""

    text: str
    raw: str
    confidence: float


@dataclass(frozen=True, slots=True)
class RankingSettings:
    #: At most this many spellings per line.
    spellings: int = 6
    #: Substitutions less likely than this (relative to the best choice) are not tried.
    min_ratio: float = 0.08
    #: Factors for plates of only letters or only digits (most plates mix both).
    letters_only: float = 0.7
    digits_only: float = 0.45
    #: Factor for a spelling that fits none of the region's formats (when it has some).
    off_format: float = 0.8
    #: Factor per lower-case letter in the raw reading (plates are written in capitals).
    lower_case: float = 0.85


def readings(
    line: LineRead, region: Region = ANY, settings: RankingSettings | None = None
) -> list[Reading]:
    """The plate-shaped spellings of ``line``, best first (empty if there are none)."""
    s = settings or RankingSettings()
    glyphs = [(i, g) for i, g in enumerate(line.glyphs) if normalise(g.char) and g.choices]
    if not region.min_length <= len(glyphs) <= region.max_length:
        return []
    lower = sum(1 for g in line.glyphs if g.char.islower())
    style = s.lower_case**lower
    best: dict[str, Reading] = {}
    for chars, prob in _spellings([g for _, g in glyphs], s):
        text = "".join(chars)
        factor = style * _shape(text, s)
        if region.o_is_zero:
            text = text.replace("O", "0")
        if region.formats:
            fitted = region.fits(text)
            if fitted is None:
                factor *= s.off_format
            else:
                text = fitted
        raw = [g.char for g in line.glyphs]
        for (index, _), char in zip(glyphs, text, strict=True):
            if normalise(raw[index]) != char:
                raw[index] = char
        reading = Reading(text, "".join(raw), prob * factor)
        if text not in best or best[text].confidence < reading.confidence:
            best[text] = reading
    return sorted(best.values(), key=lambda r: -r.confidence)


def _shape(text: str, s: RankingSettings) -> float:
    letters = any(c.isalpha() for c in text)
    digits = any(c.isdigit() for c in text)
    if letters and digits:
        return 1.0
    return s.letters_only if letters else s.digits_only


def _spellings(glyphs: list[Glyph], s: RankingSettings) -> list[tuple[list[str], float]]:
    """Likely spellings with their geometric-mean probability (a beam over the choices)."""
    beam: list[tuple[list[str], float]] = [([], 0.0)]
    for glyph in glyphs:
        top = glyph.choices[0][1]
        options = [(c, p) for c, p in glyph.choices if p >= top * s.min_ratio and p > 0]
        beam = [([*chars, c], logp + math.log(p)) for chars, logp in beam for c, p in options]
        beam.sort(key=lambda item: -item[1])
        beam = beam[: s.spellings]
    n = max(len(glyphs), 1)
    return [(chars, math.exp(logp / n)) for chars, logp in beam]
