"""Plate strings: the one canonical form every part of the node compares.

A plate is compared as upper-case A-Z and 0-9 only (NFKC first, so full-width and other
compatibility characters fold too): separators, spaces and emblems are not part of the
number. For private matching an agreement may also fold the glyphs that plate readers
confuse most (O/0, I/1, B/8, S/5, Z/2), so that a misread still meets its plate; both
sides then fold the same way, because the folding is part of the agreement.

Pure string functions, cheap to import: the ALPR, the imports and the exchange all use
them without loading any model.
"""

from __future__ import annotations

import re
import unicodedata

_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
_SEPARATORS = re.compile(r"[\s\-]")
_CONFUSABLES = str.maketrans("OIBSZ", "01852")
#: Longest canonical plate accepted for matching (no jurisdiction issues longer ones).
MAX_PLATE = 16


def normalise(raw: str) -> str:
    """The comparable form of a plate: NFKC, upper case, only A-Z and 0-9 kept."""
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", raw).upper())


def strict_form(raw: str) -> str:
    """A stricter form that drops only spaces and dashes (other symbols stay and differ)."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw).upper())


def fold_confusables(plate: str) -> str:
    """``plate`` (already normalised) with O, I, B, S, Z read as 0, 1, 8, 5, 2."""
    return plate.translate(_CONFUSABLES)


def matching_form(raw: str, *, fold: bool) -> str:
    """The form a plate is matched in under an agreement; raises ``ValueError`` if the
    string holds no plate characters or is longer than :data:`MAX_PLATE`."""
    plate = normalise(raw)
    if fold:
        plate = fold_confusables(plate)
    if not 0 < len(plate) <= MAX_PLATE:
        raise ValueError(f"a plate has 1-{MAX_PLATE} letters or digits")
    return plate


_OPRF_DOMAIN = b"accord/plate/v1\n"


def oprf_input(plate: str) -> bytes:
    """The OPRF input for a plate already in its matching form (both sides use this)."""
    return _OPRF_DOMAIN + plate.encode("ascii")
