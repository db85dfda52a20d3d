"""The witness decision (crypto.witness), pure: same answers for node and broker witnesses."""

from __future__ import annotations

import pytest
from nacl.signing import SigningKey

from crypto import witness as w
from crypto.checkpoint import Checkpoint
from crypto.merkle import consistency_proof, leaf_hash, root_of
from crypto.note import NoteSigner, WitnessSigner, add_signature_lines, open_note, sign_note

LOG = NoteSigner(w.member_log_origin("alpha-pd"), SigningKey(b"\x21" * 32))
WITNESS = WitnessSigner("accord/broker/socal/witness", SigningKey(b"\x22" * 32))
LEAVES = [leaf_hash(b"entry %d" % i) for i in range(8)]


def _node(level: int, index: int) -> bytes:
    return root_of(LEAVES[index << level : (index + 1) << level])


def _note(size: int, root: bytes | None = None) -> bytes:
    body = Checkpoint(LOG.name, size, root if root else root_of(LEAVES[:size])).encode()
    return sign_note(body, [LOG])


def _held(size: int, root: bytes | None = None) -> w.HeldCheckpoint:
    return w.HeldCheckpoint(size, root or root_of(LEAVES[:size]), _note(size, root))


def _add(held: w.HeldCheckpoint | None, old: int, proof: list[bytes], note: bytes) -> w.Cosigned:
    return w.add_checkpoint(
        signer=WITNESS,
        log_key=LOG.verifier,
        held=held,
        old_size=old,
        proof=proof,
        note=note,
        now_s=7,
    )


def test_first_use_then_a_consistent_extension_are_cosigned() -> None:
    first = _add(None, 0, [], _note(3))
    assert (first.origin, first.size) == ("accord/alpha-pd/ledger", 3)
    cosigned = open_note(
        add_signature_lines(first.note, [first.cosignature]), [LOG.verifier, WITNESS.verifier]
    )
    assert (WITNESS.name, 7) in cosigned.cosigned_at
    grown = _add(_held(3), 3, consistency_proof(3, 8, _node), _note(8))
    assert grown.size == 8 and grown.root == root_of(LEAVES)


def test_refusals() -> None:
    with pytest.raises(w.WitnessConflictError, match="holds size 3") as conflict:
        _add(_held(3), 0, [], _note(5))
    assert conflict.value.held_size == 3
    with pytest.raises(w.InconsistentCheckpointError, match="smaller"):
        _add(_held(5), 5, [], _note(3))
    with pytest.raises(w.InconsistentCheckpointError, match="empty proof"):
        _add(None, 0, [b"\x00" * 32], _note(3))
    with pytest.raises(w.InconsistentCheckpointError, match="does not extend") as bad:
        _add(_held(3), 3, consistency_proof(2, 8, _node), _note(8))
    assert bad.value.equivocation is None
    with pytest.raises(w.UnknownLogError):
        w.add_checkpoint(
            signer=WITNESS, log_key=None, held=None, old_size=0, proof=[], note=_note(1), now_s=1
        )
    other = NoteSigner("accord/bravo-pd/ledger", SigningKey(b"\x23" * 32))
    with pytest.raises(w.UnknownLogError):  # a key for another log than the note's
        w.add_checkpoint(
            signer=WITNESS,
            log_key=other.verifier,
            held=None,
            old_size=0,
            proof=[],
            note=_note(1),
            now_s=1,
        )


def test_two_roots_for_one_size_carry_the_evidence() -> None:
    held = _held(4)
    fork = _note(4, b"\x09" * 32)
    with pytest.raises(w.InconsistentCheckpointError) as refused:
        _add(held, 4, [], fork)
    evidence = refused.value.equivocation
    assert evidence is not None
    assert (evidence.note_a, evidence.note_b) == (held.note, fork)
    assert evidence.origin == LOG.name


def test_origin_is_read_before_verification() -> None:
    assert w.checkpoint_origin(_note(2)) == LOG.name
    assert w.checkpoint_origin(b"accord/x/ledger\n2\nAAAA\n") == "accord/x/ledger"
