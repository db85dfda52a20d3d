"""gRPC servicers of the ledger and witness roles (thin: translate and delegate)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

import grpc
import grpc.aio

from accord.v1 import ledger_pb2, ledger_pb2_grpc
from node.ledger.errors import ProofRequestError, WitnessConflictError
from node.ledger.log import LedgerLog
from node.ledger.publisher import Publisher, WitnessCall
from node.ledger.witness import Witness
from node.server import ServiceRegistration

MAX_ENTRIES_PER_CALL = 1000

Ctx = grpc.aio.ServicerContext[Any, Any]


class LedgerServicer(ledger_pb2_grpc.LedgerServiceServicer):
    def __init__(self, ledger: LedgerLog, publisher: Publisher) -> None:
        self._ledger = ledger
        self._publisher = publisher

    async def GetCheckpoint(
        self, request: ledger_pb2.GetCheckpointRequest, context: Ctx
    ) -> ledger_pb2.GetCheckpointResponse:
        latest = await asyncio.to_thread(self._publisher.latest)
        if latest is None:
            raise ProofRequestError("the log has no checkpoint yet")
        note = await asyncio.to_thread(self._publisher.cosigned_note, latest)
        return ledger_pb2.GetCheckpointResponse(checkpoint=note)

    async def GetEntries(
        self, request: ledger_pb2.GetEntriesRequest, context: Ctx
    ) -> ledger_pb2.GetEntriesResponse:
        size = self._ledger.head.size
        if not request.start < request.end <= size:
            raise ProofRequestError(
                f"entries [{request.start}, {request.end}) not in a log of {size}"
            )
        end = min(request.end, request.start + MAX_ENTRIES_PER_CALL)
        rows = await asyncio.to_thread(self._ledger.entries, request.start, end)
        return ledger_pb2.GetEntriesResponse(entries=[r.entry for r in rows])

    async def GetInclusionProof(
        self, request: ledger_pb2.GetInclusionProofRequest, context: Ctx
    ) -> ledger_pb2.GetInclusionProofResponse:
        try:
            proof = await asyncio.to_thread(
                self._ledger.inclusion_proof, request.leaf_index, request.tree_size
            )
        except ValueError as e:
            raise ProofRequestError(str(e)) from e
        return ledger_pb2.GetInclusionProofResponse(proof=proof)

    async def GetConsistencyProof(
        self, request: ledger_pb2.GetConsistencyProofRequest, context: Ctx
    ) -> ledger_pb2.GetConsistencyProofResponse:
        try:
            proof = await asyncio.to_thread(
                self._ledger.consistency_proof, request.first_size, request.second_size
            )
        except ValueError as e:
            raise ProofRequestError(str(e)) from e
        return ledger_pb2.GetConsistencyProofResponse(proof=proof)


class WitnessServicer(ledger_pb2_grpc.WitnessServiceServicer):
    def __init__(self, witness: Witness) -> None:
        self._witness = witness

    async def AddCheckpoint(
        self, request: ledger_pb2.AddCheckpointRequest, context: Ctx
    ) -> ledger_pb2.AddCheckpointResponse:
        line = await asyncio.to_thread(
            self._witness.add_checkpoint, request.old_size, list(request.proof), request.checkpoint
        )
        return ledger_pb2.AddCheckpointResponse(cosignature=line)


_HELD = re.compile(r"witness holds size (\d+)")


def grpc_witness_call(channel: grpc.aio.Channel, deadline_s: float = 10.0) -> WitnessCall:
    """A :data:`WitnessCall` over a channel to a peer's WitnessService."""
    stub: Any = ledger_pb2_grpc.WitnessServiceStub(channel)

    async def call(old_size: int, proof: Sequence[bytes], note: bytes) -> str:
        try:
            reply = await stub.AddCheckpoint(
                ledger_pb2.AddCheckpointRequest(
                    old_size=old_size, proof=list(proof), checkpoint=note
                ),
                timeout=deadline_s,
            )
        except grpc.aio.AioRpcError as e:
            held = _HELD.search(e.details() or "")
            if e.code() is grpc.StatusCode.FAILED_PRECONDITION and held:
                raise WitnessConflictError("peer", int(held.group(1))) from e
            raise
        return str(reply.cosignature)

    return call


def ledger_services(
    ledger: LedgerLog, publisher: Publisher, witness: Witness
) -> list[ServiceRegistration]:
    """The ledger and witness servicers, ready to mount on a node's server."""
    return [
        ServiceRegistration(
            "accord.v1.LedgerService",
            ledger_pb2_grpc.add_LedgerServiceServicer_to_server,
            LedgerServicer(ledger, publisher),
        ),
        ServiceRegistration(
            "accord.v1.WitnessService",
            ledger_pb2_grpc.add_WitnessServiceServicer_to_server,
            WitnessServicer(witness),
        ),
    ]
