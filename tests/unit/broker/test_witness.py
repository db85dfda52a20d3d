"""The broker's witness: the members' logs only, consistency or refusal, evidence kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from nacl.signing import SigningKey

from broker.home import BrokerHome
from broker.members import Reachability, add_member, member_from_card, read_card, remove_member
from broker.witness import BrokerWitness
from crypto import witness as protocol
from crypto.checkpoint import Checkpoint
from crypto.errors import UnverifiedNoteError
from crypto.merkle import consistency_proof, leaf_hash, root_of
from crypto.note import NoteSigner, add_signature_lines, open_note, sign_note
from node.identity import NodeKeys
from tests.unit.broker.conftest import NOW, CardMaker

ORIGIN = "accord/santa-monica-pd/ledger"


class Tree:
    """A small in-memory RFC 9162 tree, to make real roots and consistency proofs."""

    def __init__(self) -> None:
        self.leaves: list[bytes] = []

    def append(self, *entries: bytes) -> None:
        self.leaves += [leaf_hash(e) for e in entries]

    def node(self, level: int, index: int) -> bytes:
        width = 1 << level
        return root_of(self.leaves[index * width : (index + 1) * width])

    def root(self, size: int | None = None) -> bytes:
        return root_of(self.leaves[: len(self.leaves) if size is None else size])

    def proof(self, old: int, new: int) -> list[bytes]:
        return consistency_proof(old, new, self.node)


def _note(log: NoteSigner, size: int, root: bytes) -> bytes:
    return sign_note(Checkpoint(log.name, size, root).encode(), [log])


@pytest.fixture
def member_keys(broker: BrokerHome, make_card: CardMaker) -> NodeKeys:
    cert, card, keys = make_card("santa-monica-pd", "CA0194200")
    member = member_from_card(
        read_card(cert, card),
        name="santa-monica-pd",
        ori="CA0194200",
        jurisdiction="US-CA",
        kind="municipal",
        reach=Reachability("127.0.0.1:7443", False),
    )
    add_member(broker, member, now=NOW)
    return keys


@pytest.fixture
def witness(broker: BrokerHome) -> BrokerWitness:
    return BrokerWitness(
        broker.home / "witness",
        broker.keys.witness_signer("socal"),
        lambda: broker.current().directory.members,
        clock=lambda: NOW,
    )


def test_cosigns_first_use_then_only_extensions(
    witness: BrokerWitness, member_keys: NodeKeys
) -> None:
    log = NoteSigner(ORIGIN, member_keys.log)
    tree = Tree()
    tree.append(b"a", b"b", b"c")
    first = _note(log, 3, tree.root())
    line = witness.add_checkpoint(0, [], first)
    opened = open_note(add_signature_lines(first, [line]), [log.verifier, witness.signer.verifier])
    assert witness.signer.verifier.name in {name for name, _ in opened.cosigned_at}
    tree.append(b"d", b"e")
    second = _note(log, 5, tree.root())
    with pytest.raises(protocol.WitnessConflictError, match="holds size 3") as conflict:
        witness.add_checkpoint(0, [], second)
    assert conflict.value.held_size == 3
    witness.add_checkpoint(3, tree.proof(3, 5), second)
    held = witness.held(ORIGIN)
    assert held is not None and (held.size, held.root) == (5, tree.root())
    # Survives a new witness object over the same files (a restart).
    again = BrokerWitness(witness._dir, witness.signer, witness._members)
    assert again.held(ORIGIN) == held
    with pytest.raises(protocol.InconsistentCheckpointError):
        witness.add_checkpoint(5, tree.proof(3, 5), _note(log, 4, tree.root(4)))


def test_a_fork_is_refused_and_kept_as_evidence(
    witness: BrokerWitness, member_keys: NodeKeys
) -> None:
    log = NoteSigner(ORIGIN, member_keys.log)
    witness.add_checkpoint(0, [], _note(log, 2, b"\x01" * 32))
    fork = _note(log, 2, b"\x02" * 32)
    with pytest.raises(protocol.InconsistentCheckpointError, match="equivocation"):
        witness.add_checkpoint(2, [], fork)
    [evidence] = witness.equivocations()
    assert evidence.origin == ORIGIN and evidence.note_b == fork
    assert witness.held(ORIGIN).root == b"\x01" * 32  # type: ignore[union-attr]


def test_logs_of_non_members_and_forged_notes_are_refused(
    broker: BrokerHome, witness: BrokerWitness, member_keys: NodeKeys, tmp_path: Path
) -> None:
    stranger = NoteSigner("accord/stranger-pd/ledger", SigningKey.generate())
    with pytest.raises(protocol.UnknownLogError):
        witness.add_checkpoint(0, [], _note(stranger, 1, b"\x01" * 32))
    forged = NoteSigner(ORIGIN, SigningKey.generate())  # right name, wrong key
    with pytest.raises(UnverifiedNoteError):
        witness.add_checkpoint(0, [], _note(forged, 1, b"\x01" * 32))
    remove_member(broker, "santa-monica-pd", now=NOW)
    log = NoteSigner(ORIGIN, member_keys.log)
    with pytest.raises(protocol.UnknownLogError):
        witness.add_checkpoint(0, [], _note(log, 1, b"\x01" * 32))
    assert witness.held(ORIGIN) is None
