from __future__ import annotations

import os

import nacl.bindings
import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from hypothesis import given
from hypothesis import strategies as st

from crypto.errors import LabelError
from crypto.index import ENTRY_ID_SIZE, IndexScope, MatchKey, entry_for_output, make_entry

SCOPE = IndexScope("agr-1", 20260101).encode()


def test_same_plate_reads_get_unlinkable_distinct_ids() -> None:
    match = MatchKey.from_oprf_output(os.urandom(64))
    ids = {match.entry_id(SCOPE, j) for j in range(100)}
    assert len(ids) == 100
    assert all(len(i) == ENTRY_ID_SIZE for i in ids)


def test_ids_depend_on_scope() -> None:
    match = MatchKey.from_oprf_output(os.urandom(64))
    other = IndexScope("agr-1", 20260102).encode()
    assert match.entry_id(SCOPE, 0) != match.entry_id(other, 0)


@given(st.binary(max_size=200))
def test_label_round_trip(detail: bytes) -> None:
    match = MatchKey.from_oprf_output(b"\x07" * 64)
    entry = make_entry(match, SCOPE, 3, detail)
    assert match.open_label(SCOPE, entry.entry_id, entry.label) == detail


def test_label_does_not_open_with_another_key_or_scope_or_id() -> None:
    match = MatchKey.from_oprf_output(os.urandom(64))
    entry = make_entry(match, SCOPE, 0, b"day=2026-01-01")
    other = MatchKey.from_oprf_output(os.urandom(64))
    with pytest.raises(LabelError):
        other.open_label(SCOPE, entry.entry_id, entry.label)
    with pytest.raises(LabelError):
        match.open_label(IndexScope("agr-2", 20260101).encode(), entry.entry_id, entry.label)
    with pytest.raises(LabelError):
        match.open_label(SCOPE, match.entry_id(SCOPE, 1), entry.label)
    tampered = bytes([entry.label[0] ^ 1]) + entry.label[1:]
    with pytest.raises(LabelError):
        match.open_label(SCOPE, entry.entry_id, tampered)
    with pytest.raises(LabelError):
        match.open_label(SCOPE, entry.entry_id, b"short")


def test_scope_validation() -> None:
    with pytest.raises(ValueError, match="invalid index scope"):
        IndexScope("", 1).encode()
    with pytest.raises(ValueError, match="invalid index scope"):
        IndexScope("a", -1).encode()


def _libsodium_blake2b(data: bytes, key: bytes, size: int, person: bytes) -> bytes:
    return nacl.bindings.crypto_generichash_blake2b_salt_personal(
        data, digest_size=size, key=key, person=person.ljust(16, b"\0")
    )


def test_derivation_is_keyed_blake2b_as_documented() -> None:
    """The module's formulas, recomputed with libsodium's BLAKE2b (another implementation)."""
    y = bytes(range(64))
    keys = _libsodium_blake2b(b"", y, 64, b"accord/idx2/keys")
    match = MatchKey.from_oprf_output(y)
    assert (match.tag, match.label_key) == (keys[:32], keys[32:])
    eid = _libsodium_blake2b(SCOPE + (5).to_bytes(4, "big"), keys[:32], 16, b"accord/idx2/id")
    assert match.entry_id(SCOPE, 5) == eid
    entry = make_entry(match, SCOPE, 5, b"detail")
    aead_key = _libsodium_blake2b(eid, keys[32:], 32, b"accord/idx2/lbl")
    assert entry.label == ChaCha20Poly1305(aead_key).encrypt(bytes(12), b"detail", SCOPE + eid)


@given(st.binary(min_size=64, max_size=64), st.integers(0, 2**32 - 1), st.binary(max_size=64))
def test_entry_for_output_is_make_entry(output: bytes, j: int, detail: bytes) -> None:
    entry = make_entry(MatchKey.from_oprf_output(output), SCOPE, j, detail)
    assert entry_for_output(output, SCOPE, j, detail) == (entry.entry_id, entry.label)
