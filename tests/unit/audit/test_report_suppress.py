"""The suppression rule: counts 1-4 are withheld, and nothing published (totals, rates,
the page) changes when a withheld count takes any other value from 1 to 4."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from audit.ledger_set import ExcludedLedger
from audit.report.figures import Figures
from audit.report.html import render
from audit.report.publish import publish_figures
from audit.report.suppress import MARKER, Bounds, RateRange, cell, rate_percent, total


def test_cells() -> None:
    assert [cell(n) for n in (0, 1, 4, 5, 1234)] == [0, MARKER, MARKER, 5, 1234]


def test_totals_are_ranges_over_suppressed_cells() -> None:
    assert total([5, 7, 0]) == 12
    assert total([9, MARKER]) == Bounds(10, 13)
    assert total([Bounds(10, 13), MARKER, 6]) == Bounds(17, 23)
    assert total([]) == 0


def test_rates() -> None:
    assert rate_percent(10, 110) == 9.1
    assert rate_percent(0, 0) is None
    assert rate_percent(MARKER, 100) == RateRange(1.0, 4.0)
    assert rate_percent(MARKER, MARKER) == RateRange(25.0, 400.0)
    assert rate_percent(7, Bounds(30, 33)) == RateRange(21.2, 23.4)


def _figures(
    queries: dict[tuple[str, str], int], hits: dict[str, int], refusals: dict[tuple[str, ...], int]
) -> Figures:
    return Figures(
        verified=(),
        excluded=(ExcludedLedger("x", "/x", "checkpoint: not signed by the log key"),),
        first_ms=0,
        last_ms=1,
        agreements=(),
        queries=queries,
        plates_answered=dict.fromkeys(hits, 40),
        hits=hits,
        refusals=refusals,
        settings=(),
        deletions=(),
    )


agencies = st.sampled_from(["alpha", "bravo", "charlie", "delta"])
purposes = st.sampled_from(["stolen-vehicle", "amber-alert", "homicide"])
counts = st.integers(min_value=0, max_value=60)


@settings(max_examples=150, deadline=None)
@given(
    queries=st.dictionaries(st.tuples(agencies, purposes), counts, max_size=8),
    hits=st.dictionaries(agencies, counts, max_size=4),
    refusals=st.dictionaries(
        st.lists(purposes, min_size=1, max_size=2).map(lambda r: tuple(sorted(set(r)))),
        counts,
        max_size=4,
    ),
    data=st.data(),
)
def test_a_suppressed_cell_cannot_be_backed_out(
    queries: dict[tuple[str, str], int],
    hits: dict[str, int],
    refusals: dict[tuple[str, ...], int],
    data: st.DataObject,
) -> None:
    """Replace every count of 1-4 by another value of 1-4: the JSON and the page stay the
    same byte for byte, so no total or rate on them depends on the withheld value."""
    original = _figures(queries, hits, refusals)

    def vary(d: dict) -> dict:  # type: ignore[type-arg]
        return {k: data.draw(st.integers(1, 4)) if 0 < v < 5 else v for k, v in d.items()}

    varied = dataclasses.replace(
        original, queries=vary(queries), hits=vary(hits), refusals=vary(refusals)
    )
    assert publish_figures(varied) == publish_figures(original)
    assert render(publish_figures(varied)) == render(publish_figures(original))
