"""The log's Merkle tree over stored subtree hashes (RFC 9162 hashing).

Storage scheme: the hash of every *complete* subtree is stored once, at coordinates
``(level, index)`` covering leaves ``[index * 2**level, (index + 1) * 2**level)``. A tree of
size ``n`` is then described by its *peaks*, the complete subtrees of the binary
decomposition of ``n``. Appending a leaf stores the leaf and every subtree it completes
(amortised two nodes per leaf), and any Merkle tree hash of a range that RFC 9162 proofs
need is a fold over at most ``log2(n)`` stored nodes: a proof costs O(log n) lookups.

The functions here are pure: callers fetch the coordinates they name and pass the hashes in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from node.store.ledger import TreeNode

EMPTY_ROOT = hashlib.sha256(b"").digest()

Coord = tuple[int, int]
Range = tuple[int, int]


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def peak_coords(start: int, end: int) -> list[Coord]:
    """Stored nodes whose fold (right to left) is MTH(D[start:end]).

    Valid for the ranges RFC 9162 proofs use, whose left edge is aligned so that every
    power-of-two block of the decomposition is a stored complete subtree.
    """
    coords: list[Coord] = []
    while start < end:
        n = end - start
        size = 1 << (n.bit_length() - 1)  # largest power of two <= n
        level = size.bit_length() - 1
        if start % size:
            raise ValueError(f"range [{start}, {end}) is not aligned")
        coords.append((level, start >> level))
        start += size
    return coords


def fold(hashes: Sequence[bytes]) -> bytes:
    """Fold peak hashes (left to right order) into one Merkle tree hash."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def range_hash(rng: Range, nodes: Mapping[Coord, bytes]) -> bytes:
    """MTH of ``rng`` from stored nodes (all of ``peak_coords(*rng)`` must be present)."""
    return fold([nodes[c] for c in peak_coords(*rng)])


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose hashes form the RFC 9162 inclusion path of leaf ``index``."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    out: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo = lo + k
    out.reverse()  # leaf-side sibling first
    return out


def consistency_ranges(old: int, new: int) -> list[Range]:
    """The ranges whose hashes form the RFC 9162 consistency proof from ``old`` to ``new``."""
    if not 0 < old <= new:
        raise ValueError(f"no consistency proof from size {old} to {new}")
    if old == new:
        return []
    out: list[Range] = []
    lo, hi, m, complete = 0, new, old, True
    while True:
        n = hi - lo
        if m == n:
            if not complete:
                out.append((lo, hi))
            break
        k = _split(n)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    out.reverse()
    return out


def coords_for(ranges: Iterable[Range]) -> list[Coord]:
    """Every stored node needed to hash ``ranges``."""
    return [c for r in ranges for c in peak_coords(*r)]


@dataclass
class CompactTree:
    """The right edge of the tree: its size and peak hashes, enough to append and root."""

    size: int = 0
    peaks: list[bytes] = field(default_factory=list)

    @classmethod
    def from_nodes(cls, size: int, nodes: Mapping[Coord, bytes]) -> CompactTree:
        """Rebuild from stored nodes (``peak_coords(0, size)`` must be present)."""
        return cls(size=size, peaks=[nodes[c] for c in peak_coords(0, size)])

    def copy(self) -> CompactTree:
        return CompactTree(self.size, list(self.peaks))

    def append(self, leaf: bytes) -> list[TreeNode]:
        """Add one leaf hash; returns the stored nodes it creates (the leaf included)."""
        created = [TreeNode(0, self.size, leaf)]
        h, level, index = leaf, 0, self.size
        while (self.size >> level) & 1:
            h = node_hash(self.peaks.pop(), h)
            level += 1
            index >>= 1
            created.append(TreeNode(level, index, h))
        self.peaks.append(h)
        self.size += 1
        return created

    def root(self) -> bytes:
        return fold(self.peaks)
