"""Stored nodes, the compact tree, proof plans and the edges of verification."""

from __future__ import annotations

import hashlib

import pytest

from crypto.errors import CryptoError, TreeRangeError
from crypto.merkle import (
    EMPTY_ROOT,
    MAX_TREE_SIZE,
    CompactTree,
    InvalidProofError,
    consistency_proof,
    consistency_proof_plan,
    fold,
    inclusion_proof,
    inclusion_proof_plan,
    leaf_hash,
    node_hash,
    plan_nodes,
    range_coords,
    root_coords,
    root_from_inclusion_proof,
    root_from_nodes,
    root_of,
    stored_hash_count,
    stored_hash_index,
    verify_consistency,
    verify_inclusion,
)


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def test_hashing_is_rfc9162() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    a, b = b"\x11" * 32, b"\x22" * 32
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert fold([]) == EMPTY_ROOT
    assert fold([a]) == a
    assert fold([a, b, a]) == node_hash(a, node_hash(b, a))


def test_append_returns_each_completed_subtree_once() -> None:
    tree = CompactTree()
    assert tree.append(b"\x00" * 32) == [(0, 0, b"\x00" * 32)]
    created = tree.append(b"\x01" * 32)
    assert [(lvl, idx) for lvl, idx, _ in created] == [(0, 1), (1, 0)]
    tree.append(b"\x02" * 32)
    created = tree.append(b"\x03" * 32)
    assert [(lvl, idx) for lvl, idx, _ in created] == [(0, 3), (1, 1), (2, 0)]
    assert tree.size == 4
    assert tree.peaks == (created[-1][2],)


def test_stored_nodes_are_the_complete_subtree_hashes() -> None:
    leaves = _leaves(300)
    nodes = {(lvl, idx): h for lvl, idx, h in CompactTree().extend(leaves)}
    assert len(nodes) == stored_hash_count(300) == 2 * 300 - bin(300).count("1")
    for (level, index), h in nodes.items():
        assert (index + 1) << level <= 300
        assert h == root_of(leaves[index << level : (index + 1) << level])


def test_stored_hash_index_numbers_nodes_in_append_order() -> None:
    order = [(lvl, idx) for lvl, idx, _ in CompactTree().extend(_leaves(1025))]
    assert [stored_hash_index(lvl, idx) for lvl, idx in order] == list(range(len(order)))
    assert stored_hash_count(0) == 0
    with pytest.raises(TreeRangeError):
        stored_hash_index(-1, 0)


def test_extend_matches_append_and_rebuilds_from_stored_nodes() -> None:
    leaves = _leaves(77)
    one = CompactTree()
    rows = [row for h in leaves for row in one.append(h)]
    many = CompactTree()
    assert many.extend(leaves[:30]) + many.extend(leaves[30:]) == rows
    assert one.root() == many.root() == root_of(leaves)
    nodes = {(lvl, idx): h for lvl, idx, h in rows}
    for size in range(78):
        rebuilt = CompactTree.from_nodes(size, lambda lvl, idx: nodes[lvl, idx])
        assert (
            rebuilt.root()
            == root_of(leaves[:size])
            == root_from_nodes(size, lambda lvl, idx: nodes[lvl, idx])
        )


def test_extend_is_all_or_nothing() -> None:
    tree = CompactTree()
    tree.extend(_leaves(3))
    root = tree.root()
    with pytest.raises(ValueError, match="32 bytes"):
        tree.extend([*_leaves(2), b"short"])
    assert (tree.size, tree.root()) == (3, root)
    copy = tree.copy()
    copy.append(b"\x00" * 32)
    assert tree.size == 3


def test_compact_tree_rejects_bad_state_and_sizes_past_u64() -> None:
    with pytest.raises(ValueError, match="peaks"):
        CompactTree(3, [b"\x00" * 32])
    full = CompactTree(MAX_TREE_SIZE, [b"\x00" * 32] * 64)
    with pytest.raises(TreeRangeError):
        full.append(b"\x00" * 32)
    with pytest.raises(TreeRangeError):
        CompactTree(MAX_TREE_SIZE + 1, [b"\x00" * 32] * 1)


def test_root_of_rejects_malformed_leaf_hashes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        root_of([b"\x00" * 32, b"\x00" * 31])


def test_range_coords_are_the_binary_decomposition() -> None:
    assert range_coords(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert range_coords(8, 11) == [(1, 4), (0, 10)]
    assert range_coords(5, 5) == []
    assert root_coords(2**64 - 1)[0] == (63, 0)
    assert len(root_coords(2**64 - 1)) == 64
    with pytest.raises(TreeRangeError, match="not made of stored subtrees"):
        range_coords(1, 4)
    with pytest.raises(TreeRangeError):
        root_coords(2**64)


@pytest.mark.parametrize("size", [1, 2, 3, 1000, 2**20 + 1, 2**63 + 12345, MAX_TREE_SIZE])
def test_proofs_need_logarithmically_many_stored_nodes(size: int) -> None:
    depth = (size - 1).bit_length()
    for index in {0, size // 2, size - 1}:
        plan = inclusion_proof_plan(index, size)
        assert len(plan) <= depth
        assert len(plan_nodes(plan)) <= 2 * depth
        assert all((i + 1) << lvl <= size for lvl, i in plan_nodes(plan))
    for size1 in {1, size // 3 or 1, size - 1 or 1, size}:
        plan = consistency_proof_plan(size1, size)
        assert len(plan_nodes(plan)) <= 2 * depth + 1
        assert all((i + 1) << lvl <= size for lvl, i in plan_nodes(plan))


def test_proof_requests_outside_the_tree_are_refused() -> None:
    with pytest.raises(TreeRangeError):
        inclusion_proof_plan(5, 5)
    with pytest.raises(TreeRangeError):
        inclusion_proof_plan(-1, 5)
    with pytest.raises(TreeRangeError):
        consistency_proof_plan(0, 5)
    with pytest.raises(TreeRangeError):
        consistency_proof_plan(6, 5)
    with pytest.raises(TreeRangeError):
        consistency_proof_plan(1, 2**64)
    assert consistency_proof_plan(5, 5) == []
    assert issubclass(TreeRangeError, CryptoError)
    assert issubclass(TreeRangeError, ValueError)


def test_a_missing_stored_node_is_not_papered_over() -> None:
    nodes: dict[tuple[int, int], bytes] = {}
    with pytest.raises(KeyError):
        inclusion_proof(0, 4, lambda lvl, idx: nodes[lvl, idx])


def test_inclusion_verification_edges() -> None:
    h = leaf_hash(b"x")
    verify_inclusion(0, 1, h, [], h)
    with pytest.raises(InvalidProofError, match="not below"):
        verify_inclusion(1, 1, h, [], h)
    with pytest.raises(InvalidProofError, match="not below"):
        verify_inclusion(0, 0, h, [], h)
    with pytest.raises(InvalidProofError, match="32"):
        verify_inclusion(0, 1, h[:31], [], h[:31])
    with pytest.raises(InvalidProofError, match="32"):
        verify_inclusion(0, 2, h, [h + b"\x00"], h)
    with pytest.raises(InvalidProofError, match="hashes, not"):
        verify_inclusion(0, 2, h, [], h)


def test_inclusion_at_the_u64_limit() -> None:
    index, size = MAX_TREE_SIZE - 1, MAX_TREE_SIZE
    proof = [bytes([i]) * 32 for i in range(63)]  # 63 left siblings: popcount(index)
    root = root_from_inclusion_proof(index, size, b"\x07" * 32, proof)
    verify_inclusion(index, size, b"\x07" * 32, proof, root)
    with pytest.raises(InvalidProofError):
        verify_inclusion(index, size + 1, b"\x07" * 32, proof, root)
    with pytest.raises(InvalidProofError):
        verify_inclusion(MAX_TREE_SIZE, MAX_TREE_SIZE, b"\x07" * 32, proof, root)


def test_consistency_verification_edges() -> None:
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(1, 1, a, a, [])
    verify_consistency(1, 2, a, node_hash(a, b), [b])
    with pytest.raises(InvalidProofError, match="empty tree"):
        verify_consistency(0, 1, EMPTY_ROOT, a, [])
    with pytest.raises(InvalidProofError, match="different roots"):
        verify_consistency(3, 3, a, b, [])
    with pytest.raises(InvalidProofError, match="must be empty"):
        verify_consistency(3, 3, a, a, [b])
    with pytest.raises(InvalidProofError, match="smaller"):
        verify_consistency(2, 1, a, a, [])
    with pytest.raises(InvalidProofError, match="unsigned 64-bit"):
        verify_consistency(1, 2**64, a, a, [b])
    with pytest.raises(InvalidProofError, match="second root"):
        verify_consistency(1, 2, a, node_hash(b, a), [b])
    leaves = _leaves(4)
    nodes = {(lvl, idx): h for lvl, idx, h in CompactTree().extend(leaves)}
    proof = consistency_proof(3, 4, lambda lvl, idx: nodes[lvl, idx])
    verify_consistency(3, 4, root_of(leaves[:3]), root_of(leaves), proof)
    with pytest.raises(InvalidProofError, match="first root"):
        verify_consistency(3, 4, root_of(leaves[:2]), root_of(leaves), proof)
    with pytest.raises(InvalidProofError, match="32"):
        verify_consistency(1, 2, a, node_hash(a, b), [b[:16]])
