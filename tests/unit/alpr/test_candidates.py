"""Candidate normalisation, plate-shape rules and format-aware ranking."""

from __future__ import annotations

import pytest

from node.alpr.candidates import ANY, AUTO, BR, EU, US, Region, normalise, readings, strict_form
from tests.unit.alpr.builders import line


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("CYZ-5139", "CYZ5139"),
        ("hko=e7c", "HKOE7C"),
        ("AB·123 4", "AB1234"),
        ("\uff15TGN\uff15\uff15\uff16", "5TGN556"),  # full-width digits
        ("É12", "12"),  # not A-Z: dropped, like any other symbol
        ("", ""),
    ],
)
def test_normalise(raw: str, text: str) -> None:
    assert normalise(raw) == text


def test_strict_form_drops_only_spaces_and_dashes() -> None:
    assert strict_form("cyz-51 39") == "CYZ5139"
    assert strict_form("HK0=E7C") == "HK0=E7C"


def test_region_fits_settles_o_and_i_by_format() -> None:
    assert EU.fits("RK776A1") == "RK776AI"
    assert EU.fits("PP587A0") == "PP587AO"
    assert BR.fits("NZ06276") == "NZO6276"
    assert BR.fits("ABC1234") == "ABC1234"
    assert BR.fits("ABCD234") is None
    assert ANY.fits("ABC1234") is None


def test_region_fits_prefers_fewest_swaps() -> None:
    region = Region("test", formats=("LLLLNNN", "LLLNNNN"))
    assert region.fits("ABC0123") == "ABC0123"


def test_readings_keep_raw_and_normalise_text() -> None:
    (best, *_) = readings(line("CYZ-5139"), ANY)
    assert best.text == "CYZ5139"
    assert best.raw == "CYZ-5139"
    assert 0.0 < best.confidence <= 1.0


@pytest.mark.parametrize("raw", ["AB12", "ABC123456", "", "-- --"])
def test_readings_need_plate_length(raw: str) -> None:
    assert readings(line(raw), ANY) == []


def test_br_needs_seven_characters() -> None:
    assert readings(line("ABC123"), BR) == []
    assert readings(line("ABC1234"), BR)[0].text == "ABC1234"


def test_mixed_plates_outrank_words_and_numbers() -> None:
    mixed = readings(line("ABC123"), ANY)[0].confidence
    word = readings(line("RESIDENT"), ANY)[0].confidence
    number = readings(line("2014-05-12"), ANY)[0].confidence
    assert mixed > word > number


def test_lower_case_costs_confidence() -> None:
    assert readings(line("Abc123"), ANY)[0].confidence < readings(line("ABC123"), ANY)[0].confidence


def test_runner_up_fitting_a_format_wins() -> None:
    # A Californian 4 read as L: the NLLLNNN format brings the runner-up forward.
    read = line("LFCW533", runners_up={0: ("4", 0.3)})
    ranked = readings(read, US)
    assert ranked[0].text == "4FCW533"
    assert ranked[0].raw == "4FCW533"
    assert "LFCW533" in {r.text for r in ranked}


def test_runner_up_below_ratio_is_not_tried() -> None:
    read = line("LFCW533", runners_up={0: ("4", 0.01)})
    assert {r.text for r in readings(read, US)} == {"LFCW533"}


def test_us_reads_round_glyph_as_zero() -> None:
    (best, *_) = readings(line("HKO-E7C"), US)
    assert best.text == "HK0E7C"
    assert best.raw == "HK0-E7C"


def test_auto_uses_formats_without_folding_every_o() -> None:
    assert readings(line("PP-587A0"), AUTO)[0].text == "PP587AO"
    assert readings(line("HLOKTY1"), AUTO)[0].text == "HLOKTY1"


def test_off_format_costs_confidence() -> None:
    fits = readings(line("ABC1234"), EU)[0].confidence
    off = readings(line("1A2B3C4"), EU)[0].confidence
    assert off < fits
