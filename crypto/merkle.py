"""RFC 9162 Merkle trees: hashing, stored subtree hashes, proofs and their verification.

Sans-IO: hashes in, hashes out. A database keeps the stored nodes; this module says which
nodes a proof needs and how to combine them, and checks proofs that any log hands out.

Hashing (RFC 9162 section 2.1.1, SHA-256)::

    leaf_hash(d)    = SHA-256(0x00 || d)
    node_hash(l, r) = SHA-256(0x01 || l || r)
    MTH({})         = SHA-256("")

Stored nodes
------------
Node ``(level, index)`` is the root of the *complete* subtree over the leaves
``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes. A log
stores a node once the tree has grown over its whole range and never changes it after:
storage is append-only, about two nodes per leaf (``stored_hash_count``). Incomplete
subtrees on the right edge are never stored; they are folded on demand from the
complete subtrees that cover them (the binary decomposition of the range), so

- the root of a tree of size ``n`` is a fold of at most ``log2(n)`` stored nodes;
- an inclusion or consistency proof needs at most ``2 * log2(n)`` stored nodes.

``stored_hash_index`` numbers the nodes in the order a log appends them (the numbering
of golang.org/x/mod/sumdb/tlog), for stores that prefer one integer key over two.

Verification
------------
As transparency-dev/merkle ``proof.VerifyInclusion`` and ``proof.VerifyConsistency``:
every hash MUST be 32 bytes; indices and sizes are unsigned 64-bit; a proof MUST have
exactly the expected length; a consistency proof from size 0 to a larger size is refused
(it proves nothing: every tree extends the empty one); equal sizes need an empty proof and
equal roots. Verification raises :class:`InvalidProofError`; it never returns a boolean.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

from crypto.errors import InvalidProofError, TreeRangeError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_TREE_SIZE",
    "CompactTree",
    "Coord",
    "GetNode",
    "InvalidProofError",
    "ProofPlan",
    "StoredNode",
    "consistency_proof",
    "consistency_proof_plan",
    "fold",
    "inclusion_proof",
    "inclusion_proof_plan",
    "leaf_hash",
    "node_hash",
    "plan_nodes",
    "proof_from_plan",
    "range_coords",
    "root_coords",
    "root_from_consistency_proof",
    "root_from_inclusion_proof",
    "root_from_nodes",
    "root_of",
    "stored_hash_count",
    "stored_hash_index",
    "tree_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
#: Sizes and indices are unsigned 64-bit, as in RFC 9162 and the Go implementations.
MAX_TREE_SIZE = 2**64 - 1

#: ``(level, index)`` of a stored node.
Coord = tuple[int, int]
#: ``(level, index, hash)``: a node to store (plain tuples: appends make millions of them).
StoredNode = tuple[int, int, bytes]
#: Looks up the hash of a stored node; MUST raise (e.g. ``KeyError``) if it is missing.
GetNode = Callable[[int, int], bytes]
#: For each proof hash, in proof order, the stored nodes that fold into it (left to right).
ProofPlan = list[list[Coord]]

_sha256 = hashlib.sha256
_LEAF = b"\x00"
_NODE = b"\x01"


def leaf_hash(entry: bytes) -> bytes:
    """``SHA-256(0x00 || entry)``."""
    return _sha256(_LEAF + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return _sha256(_NODE + left + right).digest()


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes (``EMPTY_ROOT`` for none); every hash must be 32 bytes.

    Hashes level by level: pairing neighbours and carrying an odd last node up unchanged
    gives exactly the RFC 9162 tree, whose left subtree is always the largest power of two.
    """
    level = list(leaf_hashes)
    if not level:
        return EMPTY_ROOT
    if any(len(h) != HASH_SIZE for h in level):
        raise ValueError("leaf hashes must be 32 bytes")
    sha, prefix = _sha256, _NODE
    while len(level) > 1:
        carry = level[-1] if len(level) & 1 else None
        pairs = iter(level)
        level = [sha(prefix + a + b).digest() for a, b in zip(pairs, pairs, strict=False)]
        if carry is not None:
            level.append(carry)
    return level[0]


def tree_hash(entries: Iterable[bytes]) -> bytes:
    """MTH of raw entries: ``root_of`` of their leaf hashes."""
    sha = _sha256
    return root_of([sha(_LEAF + e).digest() for e in entries])


def fold(hashes: Sequence[bytes]) -> bytes:
    """Combine the hashes of a range's decomposition (left to right) into its MTH."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    sha = _sha256
    for h in reversed(hashes[:-1]):
        acc = sha(_NODE + h + acc).digest()
    return acc


# --- Stored nodes ------------------------------------------------------------------------------


def _check_size(size: int) -> None:
    if not 0 <= size <= MAX_TREE_SIZE:
        raise TreeRangeError(f"tree size {size} is outside 0..2**64-1")


def stored_hash_count(size: int) -> int:
    """How many nodes a tree of ``size`` leaves has stored: ``2 * size - popcount(size)``."""
    _check_size(size)
    return 2 * size - size.bit_count()


def stored_hash_index(level: int, index: int) -> int:
    """Position of node ``(level, index)`` in append order (0, 1, 2, ...).

    The node is stored right after leaf ``m = (index + 1) * 2**level - 1`` and the
    ``level - 1`` nodes that leaf completed below it.
    """
    if level < 0 or index < 0:
        raise TreeRangeError("level and index must be non-negative")
    m = ((index + 1) << level) - 1
    return 2 * m - m.bit_count() + level


def range_coords(start: int, end: int) -> list[Coord]:
    """The stored nodes (left to right) whose ``fold`` is ``MTH(D[start:end])``.

    Valid for the ranges RFC 9162 trees and proofs are made of, where ``start`` is a
    multiple of the largest power of two not above ``end - start``.
    """
    if not 0 <= start <= end:
        raise TreeRangeError(f"bad range [{start}, {end})")
    coords: list[Coord] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start & ((1 << level) - 1):
            raise TreeRangeError(f"range [{start}, {end}) is not made of stored subtrees")
        coords.append((level, start >> level))
        start += 1 << level
    return coords


def root_coords(size: int) -> list[Coord]:
    """The stored nodes whose fold is the root of a tree of ``size``: its peaks."""
    _check_size(size)
    return range_coords(0, size)


def root_from_nodes(size: int, get_node: GetNode) -> bytes:
    """The root of the tree of ``size``, from at most ``log2(size)`` stored nodes."""
    return fold([get_node(level, index) for level, index in root_coords(size)])


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_plan(lo: int, hi: int) -> list[Coord]:
    size = hi - lo
    if size & (size - 1) == 0:  # a complete subtree: one node
        level = size.bit_length() - 1
        return [(level, lo >> level)]
    return range_coords(lo, hi)


def inclusion_proof_plan(index: int, size: int) -> ProofPlan:
    """Which stored nodes make the inclusion proof of leaf ``index`` (RFC 9162 PATH)."""
    _check_size(size)
    if not 0 <= index < size:
        raise TreeRangeError(f"leaf {index} is not in a tree of size {size}")
    plan: ProofPlan = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            plan.append(_range_plan(lo + k, hi))
            hi = lo + k
        else:
            plan.append(_range_plan(lo, lo + k))
            lo += k
    plan.reverse()  # the leaf's sibling first
    return plan


def consistency_proof_plan(size1: int, size2: int) -> ProofPlan:
    """Which stored nodes make the consistency proof from ``size1`` to ``size2`` (SUBPROOF).

    Requires ``0 < size1 <= size2``; equal sizes give an empty proof.
    """
    _check_size(size2)
    if not 0 < size1 <= size2:
        raise TreeRangeError(f"no consistency proof from size {size1} to size {size2}")
    plan: ProofPlan = []
    lo, hi, m, whole = 0, size2, size1, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            plan.append(_range_plan(lo + k, hi))
            hi = lo + k
        else:
            plan.append(_range_plan(lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:  # the old tree's own subtree is not implied by root1: send it
        plan.append(_range_plan(lo, hi))
    plan.reverse()
    return plan


def plan_nodes(plan: ProofPlan) -> list[Coord]:
    """Every stored node a plan needs, once each: fetch them in one query."""
    return list(dict.fromkeys(c for group in plan for c in group))


def proof_from_plan(plan: ProofPlan, get_node: GetNode) -> list[bytes]:
    """The proof hashes, given the plan and a lookup of stored nodes."""
    proof: list[bytes] = []
    for group in plan:
        if len(group) == 1:
            proof.append(get_node(*group[0]))
        else:
            proof.append(fold([get_node(level, index) for level, index in group]))
    return proof


def inclusion_proof(index: int, size: int, get_node: GetNode) -> list[bytes]:
    """The RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size``."""
    return proof_from_plan(inclusion_proof_plan(index, size), get_node)


def consistency_proof(size1: int, size2: int, get_node: GetNode) -> list[bytes]:
    """The RFC 9162 consistency proof from ``size1`` to ``size2`` (``0 < size1 <= size2``)."""
    return proof_from_plan(consistency_proof_plan(size1, size2), get_node)


class CompactTree:
    """The right edge of a growing tree: enough to append leaves and compute the root.

    Holds the size and the peaks (the roots of the complete subtrees of the binary
    decomposition of the size, largest first). Appending returns the nodes to store; a
    sequencer persists them together with the leaves and can rebuild the edge after a
    restart with :meth:`from_nodes`::

        tree = CompactTree.from_nodes(size, get_node)
        rows = tree.extend(leaf_hashes)   # [(level, index, hash), ...] to insert
        root = tree.root()
    """

    __slots__ = ("_peaks", "_size")

    def __init__(self, size: int = 0, peaks: Sequence[bytes] = ()) -> None:
        _check_size(size)
        if len(peaks) != size.bit_count() or any(len(p) != HASH_SIZE for p in peaks):
            raise ValueError(f"a tree of size {size} has {size.bit_count()} 32-byte peaks")
        self._size = size
        self._peaks = list(peaks)

    @classmethod
    def from_nodes(cls, size: int, get_node: GetNode) -> CompactTree:
        """Rebuild the edge of a stored tree of ``size`` (reads ``root_coords(size)``)."""
        return cls(size, [get_node(level, index) for level, index in root_coords(size)])

    @property
    def size(self) -> int:
        return self._size

    @property
    def peaks(self) -> tuple[bytes, ...]:
        return tuple(self._peaks)

    def copy(self) -> CompactTree:
        return CompactTree(self._size, self._peaks)

    def root(self) -> bytes:
        return fold(self._peaks)

    def append(self, leaf: bytes) -> list[StoredNode]:
        """Add one leaf hash; returns the nodes it completes, the leaf first."""
        return self.extend((leaf,))

    def extend(self, leaf_hashes: Iterable[bytes]) -> list[StoredNode]:
        """Add leaf hashes in order; returns every node they complete, in append order.

        All or nothing: a hash that is not 32 bytes, or a size past 2**64 - 1, raises
        before anything changes.
        """
        leaves = list(leaf_hashes)
        if any(len(h) != HASH_SIZE for h in leaves):
            raise ValueError("leaf hashes must be 32 bytes")
        _check_size(self._size + len(leaves))
        sha, prefix = _sha256, _NODE
        peaks, size = self._peaks, self._size
        out: list[StoredNode] = []
        append = out.append
        for h in leaves:
            append((0, size, h))
            level, n = 0, size
            while n & 1:
                h = sha(prefix + peaks.pop() + h).digest()
                level += 1
                n >>= 1
                append((level, n, h))
            peaks.append(h)
            size += 1
        self._size = size
        return out


# --- Verification ------------------------------------------------------------------------------


def _check_hash(h: bytes, what: str) -> None:
    if len(h) != HASH_SIZE:
        raise InvalidProofError(f"{what} is {len(h)} bytes, not {HASH_SIZE}")


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for h in proof:
        if len(h) != HASH_SIZE:
            raise InvalidProofError(f"a proof hash is {len(h)} bytes, not {HASH_SIZE}")


def _decompose(index: int, size: int) -> tuple[int, int]:
    """Split the proof length of leaf ``index`` in a tree of ``size`` into two parts.

    ``inner``: levels below the node where the paths to ``index`` and to the last leaf
    part, whose siblings may be on either side; ``border``: left siblings above it, one
    per 1 bit of ``index`` at those levels. The proof has ``inner + border`` hashes.
    """
    inner = (index ^ (size - 1)).bit_length()
    return inner, (index >> inner).bit_count()


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root implied by an inclusion proof; raises if the proof cannot be one."""
    if not 0 <= index < size <= MAX_TREE_SIZE:
        raise InvalidProofError(f"leaf index {index} is not below tree size {size}")
    _check_hash(leaf, "leaf hash")
    _check_proof_hashes(proof)
    inner, border = _decompose(index, size)
    if len(proof) != inner + border:
        raise InvalidProofError(f"inclusion proof has {len(proof)} hashes, not {inner + border}")
    sha, prefix = _sha256, _NODE
    h = leaf
    for i in range(inner):
        if (index >> i) & 1:
            h = sha(prefix + proof[i] + h).digest()
        else:
            h = sha(prefix + h + proof[i]).digest()
    for i in range(inner, inner + border):
        h = sha(prefix + proof[i] + h).digest()
    return h


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that leaf hash ``leaf`` is at ``index`` in the tree of ``size`` and ``root``."""
    _check_hash(root, "root")
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise InvalidProofError("inclusion proof does not lead to the root")


def root_from_consistency_proof(
    size1: int, size2: int, root1: bytes, proof: Sequence[bytes]
) -> bytes:
    """Check ``proof`` against ``root1`` and return the root it implies at ``size2``."""
    _check_hash(root1, "first root")
    _check_proof_hashes(proof)
    if not (0 <= size1 <= MAX_TREE_SIZE and 0 <= size2 <= MAX_TREE_SIZE):
        raise InvalidProofError("tree sizes must be unsigned 64-bit")
    if size2 < size1:
        raise InvalidProofError(f"size {size2} is smaller than size {size1}")
    if size1 == size2:
        if proof:
            raise InvalidProofError("a proof between equal sizes must be empty")
        return root1
    if size1 == 0:
        raise InvalidProofError("a consistency proof from the empty tree proves nothing")
    if not proof:
        raise InvalidProofError("empty consistency proof")
    # The proof is the suffix of the inclusion proof of leaf size1 - 1 in the new tree
    # above level ``shift``, where the old tree's last complete subtree ends: that
    # subtree's hash is ``seed``, sent first unless size1 is a power of two (then root1).
    inner, border = _decompose(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1
    inner -= shift
    if size1 == 1 << shift:
        seed, start = root1, 0
    else:
        seed, start = proof[0], 1
    if len(proof) != start + inner + border:
        raise InvalidProofError(
            f"consistency proof has {len(proof)} hashes, not {start + inner + border}"
        )
    path = proof[start:]
    mask = (size1 - 1) >> shift
    sha, prefix = _sha256, _NODE
    old = new = seed
    for i in range(inner):
        if (mask >> i) & 1:
            old = sha(prefix + path[i] + old).digest()
            new = sha(prefix + path[i] + new).digest()
        else:  # a right sibling: only in the new tree
            new = sha(prefix + new + path[i]).digest()
    for i in range(inner, inner + border):
        old = sha(prefix + path[i] + old).digest()
        new = sha(prefix + path[i] + new).digest()
    if old != root1:
        raise InvalidProofError("consistency proof does not lead to the first root")
    return new


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``size2`` and ``root2`` extends ``size1`` and ``root1``."""
    _check_hash(root2, "second root")
    if root_from_consistency_proof(size1, size2, root1, proof) != root2:
        if size1 == size2:
            raise InvalidProofError("equal sizes but different roots")
        raise InvalidProofError("consistency proof does not lead to the second root")
