"""The node's own ledger tables and what it keeps as a witness."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy.orm import Session

from node.ids import CheckpointId, LogId
from node.store.errors import DuplicateError, LedgerSequenceError, ReferenceViolationError
from node.store.ledger import LedgerEntry, LedgerRepository, TreeNode
from node.store.witness import WitnessedCheckpoint, WitnessRepository
from tests.unit.store.conftest import NOW

LOG = LogId("accord.example/santa-monica-pd/2025")
OTHER = LogId("accord.example/santa-monica-pd/2026")


def _entries(log: LogId, start: int, count: int) -> list[LedgerEntry]:
    return [
        LedgerEntry(
            log,
            i,
            b'accord/ledger-entry/v1\n{"i":%d}' % i,
            hashlib.sha256(b"\0%d" % i).digest(),
            NOW + dt.timedelta(milliseconds=i),
        )
        for i in range(start, start + count)
    ]


def test_entries_append_contiguously(session: Session) -> None:
    repo = LedgerRepository(session)
    assert repo.size(LOG) == 0
    assert repo.append(_entries(LOG, 0, 100)) == 100
    assert repo.append(_entries(LOG, 100, 1)) == 101
    assert repo.append(_entries(OTHER, 0, 3)) == 3
    assert repo.size(LOG) == 101
    assert repo.entries(LOG, 98, 200) == _entries(LOG, 98, 3)
    assert repo.leaf_hashes(LOG, 0, 2) == [e.leaf_hash for e in _entries(LOG, 0, 2)]
    assert repo.entries(OTHER, 0, 10) == _entries(OTHER, 0, 3)


@pytest.mark.parametrize(
    "batch",
    [
        _entries(LOG, 1, 2),  # gap
        _entries(LOG, 0, 1) + _entries(LOG, 2, 1),  # hole inside
        _entries(LOG, 0, 1) + _entries(OTHER, 1, 1),  # two logs
    ],
)
def test_out_of_sequence_batches_are_refused(session: Session, batch: list[LedgerEntry]) -> None:
    with pytest.raises(LedgerSequenceError):
        LedgerRepository(session).append(batch)
    assert LedgerRepository(session).size(LOG) == 0


def test_an_index_cannot_be_written_twice(session: Session) -> None:
    repo = LedgerRepository(session)
    repo.append(_entries(LOG, 0, 2))
    with pytest.raises(LedgerSequenceError):
        repo.append(_entries(LOG, 1, 1))
    with pytest.raises(ValueError, match="nothing"):
        repo.append([])


def test_tree_nodes_are_looked_up_by_coordinates(session: Session) -> None:
    repo = LedgerRepository(session)
    nodes = [
        TreeNode(level, i, bytes([level, i % 256]) * 16) for level in range(3) for i in range(700)
    ]
    repo.put_tree_nodes(LOG, nodes)
    repo.put_tree_nodes(LOG, [])
    wanted = [(0, 5), (2, 699), (1, 0), (9, 9), (0, 5)]
    found = repo.tree_nodes(LOG, wanted)
    assert found == {
        (0, 5): bytes([0, 5]) * 16,
        (2, 699): bytes([2, 699 % 256]) * 16,
        (1, 0): bytes([1, 0]) * 16,
    }
    every = repo.tree_nodes(LOG, [(n.level, n.index) for n in nodes])  # several chunks
    assert len(every) == len(nodes)
    assert repo.tree_nodes(OTHER, wanted) == {}
    with pytest.raises(DuplicateError), session.begin_nested():
        repo.put_tree_nodes(LOG, nodes[:1])


def test_checkpoints_and_cosignatures_keep_their_history(session: Session) -> None:
    repo = LedgerRepository(session)
    assert repo.latest_checkpoint(LOG) is None
    repo.append(_entries(LOG, 0, 10))
    first = repo.add_checkpoint(LOG, size=5, root=b"\x01" * 32, note=b"note-5", time=NOW)
    heartbeat = repo.add_checkpoint(LOG, size=5, root=b"\x01" * 32, note=b"note-5", time=NOW)
    second = repo.add_checkpoint(LOG, size=10, root=b"\x02" * 32, note=b"note-10", time=NOW)
    assert repo.latest_checkpoint(LOG) == second
    assert repo.checkpoints(LOG) == [first, heartbeat, second]
    for size in (4, 11):
        with pytest.raises(LedgerSequenceError):
            repo.add_checkpoint(LOG, size=size, root=b"\x03" * 32, note=b"n", time=NOW)

    line = "\u2014 witness.example/w1 AAAAAQ=="
    cosig = repo.add_cosignature(
        second.id,
        witness_name="witness.example/w1",
        key_id=b"\x00\x01\x02\x03",
        line=line,
        time=NOW,
    )
    assert repo.cosignatures(second.id) == [cosig]
    assert repo.cosignatures(first.id) == []
    with pytest.raises(DuplicateError), session.begin_nested():
        repo.add_cosignature(
            second.id, witness_name="witness.example/w1", key_id=b"\0\1\2\3", line=line, time=NOW
        )
    with pytest.raises(ReferenceViolationError), session.begin_nested():
        repo.add_cosignature(
            CheckpointId(second.id + 99), witness_name="w", key_id=b"abcd", line="x", time=NOW
        )


def _witnessed(size: int, root: bytes, received: dt.datetime = NOW) -> WitnessedCheckpoint:
    return WitnessedCheckpoint(
        origin="oakland.example/log/2025",
        size=size,
        root=root,
        note=b"oakland.example/log/2025\n%d\n..." % size,
        cosignature="\u2014 santa-monica-pd AAAA",
        received=received,
    )


def test_witnessed_checkpoints(session: Session) -> None:
    repo = WitnessRepository(session)
    origin = "oakland.example/log/2025"
    assert repo.latest(origin) is None
    assert repo.record(_witnessed(5, b"\x05" * 32))
    assert not repo.record(_witnessed(5, b"\x05" * 32))  # the same tree state again
    assert repo.record(_witnessed(9, b"\x09" * 32))
    assert repo.latest(origin) == _witnessed(9, b"\x09" * 32)
    assert [c.size for c in repo.history(origin)] == [5, 9]
    assert repo.prune(origin) == 1
    assert [c.size for c in repo.history(origin)] == [9]


def test_equivocation_evidence(session: Session) -> None:
    repo = WitnessRepository(session)
    evidence = repo.add_equivocation(
        "oakland.example/log/2025",
        reason="same size, different roots",
        note_a=b"note a",
        note_b=b"note b",
        detected=NOW,
    )
    repo.add_equivocation(
        "sf.example/log", reason="inconsistent", note_a=b"1", note_b=b"2", detected=NOW
    )
    assert repo.equivocations("oakland.example/log/2025") == [evidence]
    assert len(repo.equivocations()) == 2
