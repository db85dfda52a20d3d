"""At-rest sealing: round trip, binding to field/class/epoch/record, tamper, lookup tags."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.at_rest import OVERHEAD, open_sealed, plate_lookup, seal
from crypto.errors import AtRestError

KEY = bytes(range(32))
WHERE = (b"plate", "reads", 20161, "video:cam-1:file-ab:17")


@given(st.binary(max_size=2048))
def test_round_trip(plaintext: bytes) -> None:
    sealed = seal(KEY, *WHERE, plaintext)
    assert len(sealed) == len(plaintext) + OVERHEAD
    assert open_sealed(KEY, *WHERE, sealed) == plaintext


def test_fresh_nonces_make_equal_plaintexts_look_different() -> None:
    assert seal(KEY, *WHERE, b"7QRS482") != seal(KEY, *WHERE, b"7QRS482")


@pytest.mark.parametrize(
    "where",
    [
        (b"candidates", "reads", 20161, "video:cam-1:file-ab:17"),
        (b"plate", "held_reads", 20161, "video:cam-1:file-ab:17"),
        (b"plate", "reads", 20162, "video:cam-1:file-ab:17"),
        (b"plate", "reads", 20161, "video:cam-1:file-ab:18"),
    ],
)
def test_a_value_opens_only_where_it_was_sealed(where: tuple[bytes, str, int, str]) -> None:
    sealed = seal(KEY, *WHERE, b"7QRS482")
    with pytest.raises(AtRestError):
        open_sealed(KEY, *where, sealed)


def test_tampering_a_wrong_key_or_a_short_value_is_refused() -> None:
    sealed = bytearray(seal(KEY, *WHERE, b"7QRS482"))
    for i in (0, 5, len(sealed) - 1):
        flipped = bytearray(sealed)
        flipped[i] ^= 0x01
        with pytest.raises(AtRestError):
            open_sealed(KEY, *WHERE, bytes(flipped))
    with pytest.raises(AtRestError):
        open_sealed(bytes(32), *WHERE, bytes(sealed))
    with pytest.raises(AtRestError):
        open_sealed(KEY, *WHERE, bytes(sealed[: OVERHEAD - 1]))


def test_newlines_cannot_smuggle_one_field_into_another() -> None:
    with pytest.raises(ValueError, match="newline"):
        seal(KEY, b"plate", "reads", 1, "a\nb", b"x")


def test_lookup_tags_are_keyed_and_deterministic() -> None:
    assert plate_lookup(KEY, "7QRS482") == plate_lookup(KEY, "7QRS482")
    assert plate_lookup(KEY, "7QRS482") != plate_lookup(bytes(32), "7QRS482")
    assert plate_lookup(KEY, "7QRS482") != plate_lookup(KEY, "7QRS483")
    assert len(plate_lookup(KEY, "7QRS482")) == 32
