"""The ledger and witness services of two real nodes, over mutual TLS on loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from accord.v1 import ledger_pb2, ledger_pb2_grpc
from crypto.checkpoint import Checkpoint, parse_checkpoint
from crypto.merkle import leaf_hash, verify_consistency, verify_inclusion
from crypto.note import open_note, sign_note
from node.app import NodeApp, add_peer_from_files, own_card_paths
from node.home import init_node_home
from node.ledger.names import log_signer

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[NodeApp, NodeApp]]:
    homes = {}
    for name, ori in (("alpha-pd", "CA0000001"), ("bravo-pd", "CA0000002")):
        homes[name] = tmp_path / name
        init_node_home(
            homes[name], name=name, ori=ori, jurisdiction="US-CA", kind="municipal", now=NOW
        )
    a = NodeApp.open(homes["alpha-pd"], listen="127.0.0.1:0")
    b = NodeApp.open(homes["bravo-pd"], listen="127.0.0.1:0")
    a.publish_interval_s = b.publish_interval_s = 3600  # publish only when the test says
    pa, pb = await a.start(), await b.start()
    for me, other, port in (
        (homes["alpha-pd"], homes["bravo-pd"], pb),
        (homes["bravo-pd"], homes["alpha-pd"], pa),
    ):
        cert, card = own_card_paths(other)
        add_peer_from_files(
            me, cert_path=cert, keys_path=card, endpoint=f"127.0.0.1:{port}", now=NOW
        )
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


def stubs(a: NodeApp, b: NodeApp) -> tuple[Any, Any]:
    from node.store.db import session_scope
    from node.store.peers import PeerRepository

    with session_scope(a.sessions) as s:
        peer = next(p for p in PeerRepository(s).all() if p.name == b.config.name)
    channel = a.peer_channel(peer)
    return ledger_pb2_grpc.LedgerServiceStub(channel), ledger_pb2_grpc.WitnessServiceStub(channel)


async def test_checkpoint_entries_and_proofs_verify(pair: tuple[NodeApp, NodeApp]) -> None:
    a, b = pair
    for i in range(40):
        await b.recorder.record(
            "admin.action", action="test", actor=b.recorder.actor("x"), detail=f"n{i}"
        )
    small = b.publisher.sign()
    for i in range(25):
        await b.recorder.record(
            "admin.action", action="test", actor=b.recorder.actor("x"), detail=f"m{i}"
        )
    await b.publish_once()
    ledger, _ = stubs(a, b)
    note = (await ledger.GetCheckpoint(ledger_pb2.GetCheckpointRequest())).checkpoint
    opened = open_note(note, [b.publisher.signer.verifier])
    cp = parse_checkpoint(opened.note.text)
    assert cp.size == b.ledger.head.size
    assert "accord/alpha-pd/witness" in note.decode(), "alpha witnessed bravo's checkpoint"
    entries = (await ledger.GetEntries(ledger_pb2.GetEntriesRequest(start=0, end=cp.size))).entries
    assert len(entries) == cp.size
    for index in (0, 17, cp.size - 1):
        proof = (
            await ledger.GetInclusionProof(
                ledger_pb2.GetInclusionProofRequest(leaf_index=index, tree_size=cp.size)
            )
        ).proof
        verify_inclusion(index, cp.size, leaf_hash(entries[index]), list(proof), cp.root)
    proof = (
        await ledger.GetConsistencyProof(
            ledger_pb2.GetConsistencyProofRequest(first_size=small.size, second_size=cp.size)
        )
    ).proof
    verify_consistency(small.size, cp.size, small.root, cp.root, list(proof))


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (
            ("GetEntries", ledger_pb2.GetEntriesRequest(start=5, end=10_000)),
            grpc.StatusCode.OUT_OF_RANGE,
        ),
        (
            ("GetInclusionProof", ledger_pb2.GetInclusionProofRequest(leaf_index=99, tree_size=5)),
            grpc.StatusCode.OUT_OF_RANGE,
        ),
        (
            (
                "GetConsistencyProof",
                ledger_pb2.GetConsistencyProofRequest(first_size=0, second_size=1),
            ),
            grpc.StatusCode.OUT_OF_RANGE,
        ),
        (
            (
                "GetConsistencyProof",
                ledger_pb2.GetConsistencyProofRequest(first_size=1, second_size=2**40),
            ),
            grpc.StatusCode.OUT_OF_RANGE,
        ),
    ],
)
async def test_out_of_range_requests(
    pair: tuple[NodeApp, NodeApp], request_: tuple[str, Any], code: grpc.StatusCode
) -> None:
    a, b = pair
    ledger, _ = stubs(a, b)
    method, message = request_
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await getattr(ledger, method)(message)
    assert err.value.code() is code


async def test_witness_refusals_over_grpc_store_nothing(pair: tuple[NodeApp, NodeApp]) -> None:
    a, b = pair
    _, witness = stubs(a, b)  # bravo witnesses alpha's log
    signer = log_signer(a.config.name, a.keys.log)
    body = Checkpoint(signer.name, 3, b"\x01" * 32).encode()
    first = await witness.AddCheckpoint(
        ledger_pb2.AddCheckpointRequest(old_size=0, checkpoint=sign_note(body, [signer]))
    )
    assert first.cosignature.startswith("\u2014 accord/bravo-pd/witness ")
    cases = [
        (
            ledger_pb2.AddCheckpointRequest(
                old_size=0,
                checkpoint=sign_note(Checkpoint(signer.name, 4, b"\x02" * 32).encode(), [signer]),
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
            "holds size 3",
        ),
        (
            ledger_pb2.AddCheckpointRequest(
                old_size=3,
                proof=[b"\x00" * 32],
                checkpoint=sign_note(Checkpoint(signer.name, 4, b"\x02" * 32).encode(), [signer]),
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "does not extend",
        ),
        (
            ledger_pb2.AddCheckpointRequest(
                old_size=3,
                proof=[b"\x00" * 7],
                checkpoint=sign_note(Checkpoint(signer.name, 4, b"\x02" * 32).encode(), [signer]),
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "32",
        ),
        (
            ledger_pb2.AddCheckpointRequest(old_size=0, checkpoint=b"garbage"),
            grpc.StatusCode.NOT_FOUND,
            "does not witness",
        ),
        (
            ledger_pb2.AddCheckpointRequest(old_size=3, checkpoint=body + b"\n"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "",
        ),
    ]
    for request, code, text in cases:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await witness.AddCheckpoint(request)
        assert err.value.code() is code, err.value.details()
        assert text in (err.value.details() or "")
    from node.store.db import session_scope
    from node.store.witness import WitnessRepository

    with session_scope(b.sessions) as s:
        history = WitnessRepository(s).history(signer.name)
    assert [h.size for h in history] == [3]
