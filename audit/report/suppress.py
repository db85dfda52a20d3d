"""Small-count suppression: what the report publishes instead of a count of 1 to 4.

The rule (docs/adr/0011-transparency-report.md):

1. A count of activity (queries, plates asked, hits, refusals, records deleted) of 1 to 4
   is published as :data:`MARKER` (``"<5"``); 0 and counts of 5 or more are exact.
2. Every measure is published in ONE breakdown only (queries by requesting agency and
   purpose together, refusals by the set of rules that decided), never in two overlapping
   ones: with two breakdowns of one measure, an exact cell sum in one gives the total and
   the total minus the other's exact cells gives its suppressed cell.
3. Every total, subtotal and rate is computed from the *published* cells, never from the
   exact ones: a suppressed cell contributes the range 1..4, so a total comes out as a
   range (:class:`Bounds`) whenever a cell under it was suppressed. Anything computed
   from published values tells nothing the published cells do not already tell, so no
   total can be used to back out a suppressed cell.

Structural facts (agreements, epochs deleted, checkpoints, witnesses, settings) are not
counts of anyone's activity and are published exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

THRESHOLD: Final = 5
MARKER: Final = "<5"

#: A published count: exact (``int``), or :data:`MARKER`.
Cell = int | str


@dataclass(frozen=True, slots=True)
class Bounds:
    """A total known only within ``low..high`` because a cell under it was suppressed."""

    low: int
    high: int


#: A published total: exact, or bounds.
Total = int | Bounds


def cell(count: int) -> Cell:
    """The published form of one count."""
    if count < 0:
        raise ValueError("counts are never negative")
    return MARKER if 0 < count < THRESHOLD else count


def bounds_of(value: Cell | Total) -> tuple[int, int]:
    """The smallest and largest exact value a published value may stand for."""
    if isinstance(value, Bounds):
        return value.low, value.high
    if value == MARKER:
        return 1, THRESHOLD - 1
    if isinstance(value, int):
        return value, value
    raise ValueError(f"not a published count: {value!r}")


def total(published: Iterable[Cell | Total]) -> Total:
    """The sum of published values (cells or totals), as exact as they allow."""
    low = high = 0
    for value in published:
        lo, hi = bounds_of(value)
        low, high = low + lo, high + hi
    return low if low == high else Bounds(low, high)


@dataclass(frozen=True, slots=True)
class RateRange:
    """A rate known only within ``low..high`` percent (rounded outwards to 0.1 %)."""

    low: float
    high: float


def rate_percent(numerator: Cell | Total, denominator: Cell | Total) -> float | RateRange | None:
    """``100 * numerator / denominator`` from published values, rounded to 0.1 %.

    ``None`` when the denominator is 0. With suppressed inputs the result is the range of
    every rate the published values allow, so a rate never narrows a suppressed count.
    """
    n_lo, n_hi = bounds_of(numerator)
    d_lo, d_hi = bounds_of(denominator)
    if d_hi == 0:
        return None
    if (n_lo, d_lo) == (n_hi, d_hi):
        return round(1000 * n_lo / d_lo) / 10
    low = (1000 * n_lo) // d_hi  # tenths of a percent, rounded down
    high = -(-1000 * n_hi // max(d_lo, 1))  # rounded up
    return RateRange(low / 10, high / 10)
