"""C2SP tlog-checkpoint bodies, signed checkpoints, and what two checkpoints prove."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from crypto.checkpoint import (
    Checkpoint,
    CheckpointError,
    open_checkpoint,
    parse_checkpoint,
    verify_extends,
)
from crypto.errors import (
    EquivocationError,
    InvalidCheckpointError,
    InvalidProofError,
    NoteSignatureError,
    UnverifiedNoteError,
)
from crypto.merkle import EMPTY_ROOT, CompactTree, consistency_proof, leaf_hash
from crypto.note import NoteSigner, NoteVerifier, WitnessSigner, add_signature_lines, sign_note

NOTES = Path(__file__).parents[2] / "vectors" / "signed-note"
ORIGIN = "example.org/log"
LOG = NoteSigner.from_seed(ORIGIN, b"\x21" * 32)
W1 = WitnessSigner.from_seed("example.org/w1", b"\x31" * 32)
W2 = WitnessSigner.from_seed("example.org/w2", b"\x32" * 32)
ROOT = b"\x11" * 32
B64 = base64.b64encode(ROOT)


def test_encode_and_parse_round_trip() -> None:
    cp = Checkpoint(ORIGIN, 20852163, ROOT)
    body = cp.encode()
    assert body == b"example.org/log\n20852163\n" + B64 + b"\n"
    assert parse_checkpoint(body) == cp
    ext = Checkpoint(ORIGIN, 0, EMPTY_ROOT, ("ext one", "\u2014 two"))
    assert parse_checkpoint(ext.encode()) == ext
    assert ext.encode().endswith("ext one\n\u2014 two\n".encode())


def test_spec_example_body_parses() -> None:
    body = b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    cp = parse_checkpoint(body)
    assert (cp.origin, cp.size, len(cp.root)) == ("example.com/behind-the-sofa", 20852163, 32)


@pytest.mark.parametrize(
    "body",
    [
        b"origin\n01\n" + B64 + b"\n",  # leading zero
        b"origin\n+5\n" + B64 + b"\n",
        b"origin\n 5\n" + B64 + b"\n",
        b"origin\n-1\n" + B64 + b"\n",
        b"origin\n18446744073709551616\n" + B64 + b"\n",  # 2**64
        b"origin\n5\nshort\n",
        b"origin\n5\n" + base64.b64encode(b"\x11" * 31) + b"\n",
        b"origin\n5\n" + B64.rstrip(b"=") + b"\n",  # unpadded
        b"origin\n5\n" + B64[:-2] + b"F=\n",  # stray low bits: not canonical
        b"origin\n5\n" + base64.urlsafe_b64encode(b"\xfb" * 32) + b"\n",
        b"origin\n5\n",
        b"origin\n5\n" + B64,  # no final newline
        b"o\n5\n" + B64 + b"\n\n",  # empty extension line
        b"\n5\n" + B64 + b"\n",  # empty origin
        b"origin\r\n5\n" + B64 + b"\n",
        b"origin\n5\n" + B64 + b"\nbad\textension\n",
        b"\xff\n5\n" + B64 + b"\n",
        b"origin\n5\n" + B64 + b"\n" + b"x" * (1 << 16) + b"\n",
    ],
)
def test_malformed_checkpoints(body: bytes) -> None:
    with pytest.raises(InvalidCheckpointError):
        parse_checkpoint(body)


def test_largest_size_parses() -> None:
    body = b"o\n18446744073709551615\n" + B64 + b"\n"
    assert parse_checkpoint(body).size == 2**64 - 1


@pytest.mark.parametrize(
    ("origin", "size", "root", "ext"),
    [
        ("", 1, ROOT, ()),
        ("a\nb", 1, ROOT, ()),
        ("o", -1, ROOT, ()),
        ("o", 2**64, ROOT, ()),
        ("o", 1, ROOT[:31], ()),
        ("o", 1, ROOT, ("",)),
        ("o", 1, ROOT, ("two\nlines",)),
    ],
)
def test_invalid_checkpoints_cannot_be_built(
    origin: str, size: int, root: bytes, ext: tuple[str, ...]
) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint(origin, size, root, ext)


def _signed(cp: Checkpoint, *witness_times: tuple[WitnessSigner, int]) -> bytes:
    body = cp.encode()
    return add_signature_lines(
        sign_note(body, [LOG]), [w.cosign(body, t) for w, t in witness_times]
    )


def test_open_checkpoint_requires_the_log_signature() -> None:
    cp = Checkpoint(ORIGIN, 3, ROOT)
    note = _signed(cp, (W1, 100), (W2, 101))
    signed = open_checkpoint(note, LOG.verifier, [W1.verifier, W2.verifier])
    assert signed.checkpoint == cp
    assert signed.cosigners == {"example.org/w1", "example.org/w2"}
    assert open_checkpoint(note, LOG.verifier).cosigners == frozenset()
    # Signed only by a witness: the note opens, but it is not the log's checkpoint.
    only_witness = cp.encode() + b"\n" + W1.cosign(cp.encode(), 100).encode()
    with pytest.raises(InvalidCheckpointError, match="not signed by the log"):
        open_checkpoint(only_witness, LOG.verifier, [W1.verifier])
    with pytest.raises(UnverifiedNoteError):
        open_checkpoint(only_witness, LOG.verifier)
    with pytest.raises(NoteSignatureError):
        open_checkpoint(note, LOG.verifier, [W1.verifier], now=99)
    with pytest.raises(InvalidCheckpointError, match="Ed25519"):
        open_checkpoint(note, W1.verifier)


def test_open_checkpoint_checks_the_origin_and_body() -> None:
    other = NoteSigner.from_seed("example.org/other", b"\x22" * 32)
    note = sign_note(Checkpoint(ORIGIN, 3, ROOT).encode(), [other])
    with pytest.raises(InvalidCheckpointError, match="origin"):
        open_checkpoint(note, other.verifier)
    with pytest.raises(InvalidCheckpointError):
        open_checkpoint(sign_note(b"not a checkpoint\n", [LOG]), LOG.verifier)


def test_cosigned_vector_opens_as_a_checkpoint() -> None:
    log_vkey, witness_vkey = (NOTES / "lpr-test-checkpoint-cosigned.vkey").read_text().splitlines()
    signed = open_checkpoint(
        (NOTES / "lpr-test-checkpoint-cosigned.note").read_bytes(),
        NoteVerifier.parse(log_vkey),
        [NoteVerifier.parse(witness_vkey)],
    )
    assert signed.checkpoint.size == 8
    assert signed.cosigners == {"lpr.example/node-b/witness"}


def _tree(n: int) -> tuple[dict[tuple[int, int], bytes], list[bytes]]:
    tree, nodes, roots = CompactTree(), {}, [EMPTY_ROOT]
    for i in range(n):
        for lvl, idx, h in tree.append(leaf_hash(b"%d" % i)):
            nodes[lvl, idx] = h
        roots.append(tree.root())
    return nodes, roots


def test_verify_extends() -> None:
    nodes, roots = _tree(10)
    get = nodes.__getitem__

    def cp(n: int, root: bytes | None = None) -> Checkpoint:
        return Checkpoint(ORIGIN, n, roots[n] if root is None else root)

    proof = consistency_proof(4, 10, lambda lvl, idx: get((lvl, idx)))
    verify_extends(cp(4), cp(10), proof)
    verify_extends(cp(10), cp(10), [])
    verify_extends(cp(0), cp(10), [])  # anything extends the empty tree
    with pytest.raises(InvalidProofError):
        verify_extends(cp(0), cp(10), proof)
    with pytest.raises(InvalidCheckpointError, match="empty tree"):
        verify_extends(cp(0, ROOT), cp(10), [])
    with pytest.raises(EquivocationError, match="two different trees of size 10"):
        verify_extends(cp(10), cp(10, ROOT), [])
    with pytest.raises(InvalidProofError, match="smaller"):
        verify_extends(cp(10), cp(4), proof)
    with pytest.raises(InvalidProofError):
        verify_extends(cp(4), cp(10, ROOT), proof)
    with pytest.raises(InvalidCheckpointError, match="checkpoints of"):
        verify_extends(cp(4), Checkpoint("example.org/other", 10, roots[10]), proof)
