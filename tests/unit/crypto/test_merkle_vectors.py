"""Every transparency-dev/merkle inclusion and consistency vector, and the RFC 6962 tree."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from crypto.merkle import (
    EMPTY_ROOT,
    InvalidProofError,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).parents[2] / "vectors"
MERKLE = VECTORS / "transparency-dev-merkle" / "testdata"
PLACEHOLDER = "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json"


def _b(x: str | None) -> bytes:
    return base64.b64decode(x) if x else b""


def _cases(kind: str) -> list[Path]:
    return sorted((MERKLE / kind).rglob("*.json"))


def test_all_vectors_are_present() -> None:
    assert len(_cases("inclusion")) + len(_cases("consistency")) == 196


@pytest.mark.parametrize("path", _cases("inclusion"), ids=lambda p: str(p.relative_to(MERKLE)))
def test_inclusion_vector(path: Path) -> None:
    v = json.loads(path.read_text())
    proof = [_b(p) for p in v["proof"] or []]
    if v["wantErr"]:
        with pytest.raises(InvalidProofError):
            verify_inclusion(v["leafIdx"], v["treeSize"], _b(v["leafHash"]), proof, _b(v["root"]))
    else:
        verify_inclusion(v["leafIdx"], v["treeSize"], _b(v["leafHash"]), proof, _b(v["root"]))


@pytest.mark.parametrize("path", _cases("consistency"), ids=lambda p: str(p.relative_to(MERKLE)))
def test_consistency_vector(path: Path) -> None:
    if path.relative_to(MERKLE).as_posix() == PLACEHOLDER:
        pytest.skip("12-byte placeholder root; 32-byte hashes are required")
    v = json.loads(path.read_text())
    args = (
        v["size1"],
        v["size2"],
        _b(v["root1"]),
        _b(v["root2"]),
        [_b(p) for p in v["proof"] or []],
    )
    if v["wantErr"]:
        with pytest.raises(InvalidProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_reference_tree_roots() -> None:
    rows = [
        ln.split()
        for ln in (VECTORS / "rfc6962-reference-tree.txt").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    leaves = [
        leaf_hash(b"" if hexleaf == "-" else bytes.fromhex(hexleaf)) for _, hexleaf, _ in rows
    ]
    for i, (_, _, root) in enumerate(rows):
        assert root_of(leaves[: i + 1]).hex() == root
    assert root_of([]) == EMPTY_ROOT
