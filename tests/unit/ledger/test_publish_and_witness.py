"""A log publishes checkpoints; a witness cosigns only what extends what it saw."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from sqlalchemy.orm import Session, sessionmaker

from crypto.checkpoint import Checkpoint, parse_checkpoint
from crypto.note import NoteSigner, WitnessSigner, open_note, sign_note
from node.ids import LogId
from node.ledger.errors import InconsistentCheckpointError, UnknownLogError, WitnessConflictError
from node.ledger.log import LedgerLog
from node.ledger.publisher import Publisher, QuorumPolicy, WitnessClient
from node.ledger.witness import Witness
from node.store.db import create_engine, session_factory, session_scope
from node.store.migrate import upgrade
from node.store.witness import WitnessRepository

ORIGIN = "accord.test/alpha/2026"


def store(path: Path) -> sessionmaker[Session]:
    url = f"sqlite:///{path}"
    upgrade(url)
    return session_factory(create_engine(url))


@pytest.fixture
def log_key() -> NoteSigner:
    return NoteSigner(ORIGIN, SigningKey(b"\x10" * 32))


@pytest.fixture
def witness(tmp_path: Path, log_key: NoteSigner) -> Witness:
    return Witness(
        store(tmp_path / "w.db"),
        WitnessSigner("bravo/witness", SigningKey(b"\x11" * 32)),
        {ORIGIN: log_key.verifier},
    )


async def test_publish_cosign_grow_and_quorum(
    tmp_path: Path, log_key: NoteSigner, witness: Witness
) -> None:
    sessions = store(tmp_path / "a.db")
    ledger = LedgerLog(sessions, LogId(ORIGIN))
    await ledger.open()

    async def call(old: int, proof: Sequence[bytes], note: bytes) -> str:
        return witness.add_checkpoint(old, proof, note)

    client = WitnessClient(witness.signer.verifier, call)
    publisher = Publisher(ledger, sessions, log_key, witnesses=[client])
    policy = QuorumPolicy((witness.signer.verifier,), 1)
    for batch in range(3):
        for i in range(5 + batch):
            await ledger.append(b"e%d-%d" % (batch, i))
        cp = publisher.maybe_sign(heartbeat_s=60)
        assert cp is not None
        note = await publisher.gather_cosignatures(cp)
        assert policy.met_by(log_key.verifier, note)
        assert (
            parse_checkpoint(open_note(note, [log_key.verifier]).note.text).size == ledger.head.size
        )
    assert publisher.maybe_sign(heartbeat_s=60) is None, "no growth, no heartbeat due"
    assert len(publisher.cosigned_note(publisher.latest()).splitlines()) == 6  # type: ignore[arg-type]
    await ledger.close()


def test_witness_refusals(log_key: NoteSigner, witness: Witness) -> None:
    def note(size: int, root: bytes) -> bytes:
        return sign_note(Checkpoint(ORIGIN, size, root).encode(), [log_key])

    witness.add_checkpoint(0, [], note(3, b"\x01" * 32))
    with pytest.raises(WitnessConflictError) as conflict:
        witness.add_checkpoint(0, [], note(4, b"\x02" * 32))
    assert conflict.value.held_size == 3
    with pytest.raises(InconsistentCheckpointError, match="does not extend"):
        witness.add_checkpoint(3, [b"\x00" * 32], note(4, b"\x02" * 32))
    with pytest.raises(InconsistentCheckpointError, match="equivocation"):
        witness.add_checkpoint(3, [], note(3, b"\x09" * 32))
    with session_scope(witness._sessions) as s:
        evidence = WitnessRepository(s).equivocations(ORIGIN)
    assert len(evidence) == 1
    other = NoteSigner("accord.test/unknown/2026", SigningKey(b"\x12" * 32))
    with pytest.raises(UnknownLogError):
        witness.add_checkpoint(
            0, [], sign_note(Checkpoint(other.name, 1, b"\x01" * 32).encode(), [other])
        )


def test_quorum_policy_refuses_emptiness() -> None:
    w = WitnessSigner("w", SigningKey(b"\x13" * 32)).verifier
    with pytest.raises(ValueError, match="between"):
        QuorumPolicy((w,), 2)
    with pytest.raises(ValueError, match="zero"):
        QuorumPolicy((w,), 0)
    assert QuorumPolicy.unsafe_none().threshold == 0


def test_checkpoint_time_is_injectable(tmp_path: Path, log_key: NoteSigner) -> None:
    fixed = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    sessions = store(tmp_path / "t.db")
    ledger = LedgerLog(sessions, LogId(ORIGIN))
    publisher = Publisher(ledger, sessions, log_key, clock=lambda: fixed)
    cp = publisher.sign()
    assert cp.size == 0
    assert cp.time == fixed
