"""Properties: proofs built from the incremental tree verify; any tampering breaks them.

The trees are checked against a plain recursive transcription of RFC 9162 section 2.1.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.merkle import (
    MAX_TREE_SIZE,
    CompactTree,
    InvalidProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_consistency_proof,
    root_of,
    verify_consistency,
    verify_inclusion,
)

MAX_LEAVES = 3000
LEAVES = [leaf_hash(b"entry %d" % i) for i in range(MAX_LEAVES)]
NODES = {(lvl, idx): h for lvl, idx, h in CompactTree().extend(LEAVES)}


def _getter(size: int) -> Callable[[int, int], bytes]:
    """A lookup that fails if a proof for ``size`` asks for a node that size lacks."""

    def get(level: int, index: int) -> bytes:
        assert (index + 1) << level <= size, (level, index, size)
        return NODES[level, index]

    return get


def _mth(start: int, end: int) -> bytes:
    """MTH(D[start:end]) as RFC 9162 writes it: split at the largest power of two < n."""
    n = end - start
    if n == 1:
        return LEAVES[start]
    k = 1 << ((n - 1).bit_length() - 1)
    return node_hash(_mth(start, start + k), _mth(start + k, end))


@functools.cache
def _root(size: int) -> bytes:
    return _mth(0, size)


def _flip(proof: list[bytes], i: int, bit: int) -> list[bytes]:
    out = list(proof)
    out[i] = bytes([out[i][0] ^ (1 << bit)]) + out[i][1:]
    return out


sizes = st.integers(min_value=1, max_value=MAX_LEAVES)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_root_of_and_the_compact_tree_agree_with_rfc9162(data: st.DataObject) -> None:
    size = data.draw(sizes)
    chunks = data.draw(st.lists(st.integers(1, 64), max_size=8))
    tree, at = CompactTree(), 0
    for c in chunks:
        tree.extend(LEAVES[at : min(at + c, size)])
        at = min(at + c, size)
    tree.extend(LEAVES[at:size])
    assert tree.root() == root_of(LEAVES[:size]) == _root(size)


def _inner(index: int, size: int) -> int:
    return (index ^ (size - 1)).bit_length()


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_inclusion_proofs_verify_and_tampering_breaks_them(data: st.DataObject) -> None:
    size = data.draw(sizes)
    index = data.draw(st.integers(0, size - 1))
    leaf, root = LEAVES[index], _root(size)
    proof = inclusion_proof(index, size, _getter(size))
    verify_inclusion(index, size, leaf, proof, root)

    other_leaf = LEAVES[(index + 1) % MAX_LEAVES]
    other_root = _root(size % MAX_LEAVES + 1)
    other_index = data.draw(st.integers(0, size).filter(lambda i: i != index))
    tampered = [
        (index, size, other_leaf, proof, root),
        (index, size, leaf, proof, other_root),
        (other_index, size, leaf, proof, root),
        (index, size, leaf, [*proof, root], root),
        (index, size, leaf, [leaf, *proof], root),
    ]
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1))
        tampered.append((index, size, leaf, _flip(proof, i, data.draw(st.integers(0, 7))), root))
        tampered.append((index, size, leaf, proof[:-1], root))
        if len(set(proof)) > 1:
            tampered.append((index, size, leaf, proof[::-1], root))
    for case in tampered:
        try:
            verify_inclusion(*case)
        except InvalidProofError:
            continue
        raise AssertionError(f"tampered inclusion proof accepted: {case[:2]}")

    # Another size is refused unless the verifier would hash exactly the same path (same
    # split point, hence the same statement about the same root): a checkpoint binds the
    # root to its size, a proof alone cannot.
    other_size = data.draw(st.integers(index + 1, MAX_TREE_SIZE).filter(lambda s: s != size))
    try:
        verify_inclusion(index, other_size, leaf, proof, root)
    except InvalidProofError:
        pass
    else:
        assert _inner(index, other_size) == _inner(index, size)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_consistency_proofs_verify_and_tampering_breaks_them(data: st.DataObject) -> None:
    size2 = data.draw(sizes)
    size1 = data.draw(st.integers(1, size2))
    proof = consistency_proof(size1, size2, _getter(size2))
    root1, root2 = _root(size1), _root(size2)
    verify_consistency(size1, size2, root1, root2, proof)
    assert root_from_consistency_proof(size1, size2, root1, proof) == root2
    if size1 == size2:
        assert proof == []
        return
    i = data.draw(st.integers(0, len(proof) - 1))
    cases = [
        (size1, size2, root2, root1, proof),
        (size1, size2, root1, root2, [*proof, root1]),
        (size1, size2, root1, root2, [root1, *proof]),
        (size1, size2, root1, root2, proof[:-1]),
        (size1, size2, root1, root2, []),
        (0, size2, root1, root2, proof),
        (size1, size2, root1, root2, _flip(proof, i, data.draw(st.integers(0, 7)))),
    ]
    if size1 > 1:
        cases.append((size1, size2, _root(size1 - 1), root2, proof))
    cases.append((size1, size2, root1, _root(size2 - 1), proof))
    for case in cases:
        try:
            verify_consistency(*case)
        except InvalidProofError:
            continue
        raise AssertionError(f"tampered consistency proof accepted: {case[:2]}")


@settings(max_examples=500, deadline=None)
@given(
    index=st.integers(-1, MAX_TREE_SIZE + 1),
    size=st.integers(-1, MAX_TREE_SIZE + 1),
    proof=st.lists(st.binary(min_size=30, max_size=33), max_size=70),
    leaf=st.binary(min_size=31, max_size=33),
)
def test_inclusion_verifier_only_ever_raises_invalid_proof(
    index: int, size: int, proof: list[bytes], leaf: bytes
) -> None:
    with contextlib.suppress(InvalidProofError):
        verify_inclusion(index, size, leaf, proof, leaf)


@settings(max_examples=500, deadline=None)
@given(
    size1=st.integers(-1, MAX_TREE_SIZE + 1),
    size2=st.integers(-1, MAX_TREE_SIZE + 1),
    proof=st.lists(st.binary(min_size=31, max_size=33), max_size=70),
    root1=st.binary(min_size=31, max_size=33),
    root2=st.binary(min_size=31, max_size=33),
)
def test_consistency_verifier_only_ever_raises_invalid_proof(
    size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes
) -> None:
    with contextlib.suppress(InvalidProofError):
        verify_consistency(size1, size2, root1, root2, proof)
