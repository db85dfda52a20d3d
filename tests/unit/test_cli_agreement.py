"""Parsing in ``accord agreement propose``: rates and validity dates."""

from __future__ import annotations

import datetime as dt

import pytest
import typer

from accord.commands.agreement import _rate, _when


@pytest.mark.parametrize(("text", "plates"), [("5000/day", 5000), ("5000", 5000), (" 7/day ", 7)])
def test_rates(text: str, plates: int) -> None:
    assert _rate(text) == plates


@pytest.mark.parametrize("text", ["5000/hour", "-1", "many", ""])
def test_bad_rates(text: str) -> None:
    with pytest.raises(typer.BadParameter):
        _rate(text)


def test_a_date_includes_the_named_day_until_and_starts_it_from() -> None:
    assert _when("2027-06-30", "--valid-until", end_of_day=True) == dt.datetime(
        2027, 7, 1, tzinfo=dt.UTC
    )
    assert _when("2027-06-30", "--valid-from", end_of_day=False) == dt.datetime(
        2027, 6, 30, tzinfo=dt.UTC
    )
    assert _when("2027-06-30T12:00:00Z", "--valid-until", end_of_day=True) == dt.datetime(
        2027, 6, 30, 12, tzinfo=dt.UTC
    )
    with pytest.raises(typer.BadParameter):
        _when("30/06/2027", "--valid-until", end_of_day=True)
