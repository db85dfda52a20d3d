"""The stored-node tree against a direct transcription of RFC 9162 section 2.1."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.ledger.tree import (
    EMPTY_ROOT,
    CompactTree,
    consistency_ranges,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    peak_coords,
    range_hash,
)


def mth(leaves: list[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = 1 << ((n - 1).bit_length() - 1)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*subproof(m, leaves[:k], complete), mth(leaves[k:])]
    return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]


def build(n: int) -> tuple[list[bytes], dict[tuple[int, int], bytes], CompactTree]:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    tree = CompactTree()
    nodes: dict[tuple[int, int], bytes] = {}
    for leaf in leaves:
        for node in tree.append(leaf):
            assert (node.level, node.index) not in nodes, "a node is written once"
            nodes[(node.level, node.index)] = node.hash
    return leaves, nodes, tree


def test_rfc6962_reference_roots() -> None:
    vectors = Path(__file__).parents[2] / "vectors" / "rfc6962-reference-tree.txt"
    if not vectors.exists():
        pytest.skip(f"{vectors} not present")
    rows = [
        ln.split()
        for ln in vectors.read_text("ascii").splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    tree = CompactTree()
    for _index, leaf_hex, root_hex in rows:
        tree.append(leaf_hash(bytes.fromhex(leaf_hex) if leaf_hex != "-" else b""))
        assert tree.root().hex() == root_hex


def test_every_proof_matches_the_rfc_for_small_trees() -> None:
    leaves, nodes, _ = build(70)
    for size in range(1, 71):
        assert range_hash((0, size), nodes) == mth(leaves[:size])
        for m in range(size):
            got = [range_hash(r, nodes) for r in inclusion_ranges(m, size)]
            assert got == path(m, leaves[:size])
        for old in range(1, size + 1):
            got = [range_hash(r, nodes) for r in consistency_ranges(old, size)]
            assert got == subproof(old, leaves[:size], True)


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=1, max_value=600), st.data())
def test_random_sizes(size: int, data: st.DataObject) -> None:
    leaves, nodes, tree = build(size)
    assert tree.root() == mth(leaves)
    assert CompactTree.from_nodes(size, nodes).root() == tree.root()
    m = data.draw(st.integers(min_value=0, max_value=size - 1))
    assert [range_hash(r, nodes) for r in inclusion_ranges(m, size)] == path(m, leaves)
    old = data.draw(st.integers(min_value=1, max_value=size))
    assert [range_hash(r, nodes) for r in consistency_ranges(old, size)] == subproof(
        old, leaves, True
    )


def test_about_two_stored_nodes_per_leaf_and_log_lookups() -> None:
    _, nodes, _ = build(1024)
    assert len(nodes) == 2047
    assert len(peak_coords(0, 1023)) == 10


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_ranges(5, 5)
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_ranges(0, 5)
    with pytest.raises(ValueError, match="aligned"):
        peak_coords(3, 7)
