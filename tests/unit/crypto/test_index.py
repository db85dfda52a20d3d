from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.errors import LabelError
from crypto.index import ENTRY_ID_SIZE, IndexScope, MatchKey, make_entry

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
