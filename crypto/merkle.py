"""RFC 9162 Merkle tree hashing and proof verification (sans-IO).

Verification follows RFC 9162 sections 2.1.3.2 (inclusion) and 2.1.4.2 (consistency),
with the same edge cases as transparency-dev/merkle: hashes must be 32 bytes, a
consistency proof from size 0 is refused (it proves nothing), equal sizes need an empty
proof and equal roots, and indices are unsigned 64-bit. Verification raises
:class:`InvalidProofError`; it never returns a boolean to forget.

Proof *generation* from stored subtree hashes lives with the log engine
(``node/ledger/tree.py``); these functions check what any log hands out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from crypto.errors import CryptoError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_U64 = 2**64


class InvalidProofError(CryptoError):
    """An inclusion or consistency proof does not verify."""


def leaf_hash(entry: bytes) -> bytes:
    """SHA-256(0x00 || entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes, iteratively (O(n) hashes, O(log n) memory)."""
    stack: list[tuple[int, bytes]] = []  # (height, hash) of complete subtrees
    for h in leaf_hashes:
        height, acc = 0, h
        while stack and stack[-1][0] == height:
            _, left = stack.pop()
            acc = node_hash(left, acc)
            height += 1
        stack.append((height, acc))
    if not stack:
        return EMPTY_ROOT
    acc = stack[-1][1]
    for _, h in reversed(stack[:-1]):
        acc = node_hash(h, acc)
    return acc


def _check_hash(h: bytes, what: str) -> None:
    if len(h) != HASH_SIZE:
        raise InvalidProofError(f"{what} is {len(h)} bytes, not {HASH_SIZE}")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root implied by an inclusion proof (RFC 9162 2.1.3.2)."""
    if not 0 <= index < size < _U64:
        raise InvalidProofError(f"leaf index {index} is not below tree size {size}")
    _check_hash(leaf, "leaf hash")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        _check_hash(p, "proof hash")
        if sn == 0:
            raise InvalidProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InvalidProofError("inclusion proof is too short")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` is at ``index`` in the tree of ``size`` with ``root``."""
    _check_hash(root, "root")
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise InvalidProofError("inclusion proof does not lead to the root")


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``size2``/``root2`` extends ``size1``/``root1`` (2.1.4.2)."""
    _check_hash(root1, "first root")
    _check_hash(root2, "second root")
    for p in proof:
        _check_hash(p, "proof hash")
    if not 0 <= size1 <= size2 < _U64:
        raise InvalidProofError(f"size {size1} is larger than size {size2}")
    if size1 == size2:
        if proof:
            raise InvalidProofError("proof between equal sizes must be empty")
        if root1 != root2:
            raise InvalidProofError("equal sizes but different roots")
        return
    if size1 == 0:
        raise InvalidProofError("a consistency proof from the empty tree proves nothing")
    if not proof:
        raise InvalidProofError("empty consistency proof")
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # size1 is a power of two: root1 starts the path
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise InvalidProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InvalidProofError("consistency proof is too short")
    if fr != root1:
        raise InvalidProofError("consistency proof does not match the first root")
    if sr != root2:
        raise InvalidProofError("consistency proof does not match the second root")
