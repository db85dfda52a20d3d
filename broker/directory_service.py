"""The broker's gRPC servicers: the signed directory and the witness (thin)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import grpc.aio

from accord.v1 import broker_pb2, broker_pb2_grpc, ledger_pb2, ledger_pb2_grpc
from broker.snapshots import Snapshot
from broker.witness import BrokerWitness

Ctx = grpc.aio.ServicerContext[Any, Any]


class DirectoryServicer(broker_pb2_grpc.DirectoryServiceServicer):
    """Serves the current signed snapshot to members (the handshake admits only them).

    The whole document is returned whatever ``known_version`` says: it is small, and the
    node decides what is newer, not the broker.
    """

    def __init__(self, current: Callable[[], Snapshot]) -> None:
        self._current = current

    async def GetDirectory(
        self, request: broker_pb2.GetDirectoryRequest, context: Ctx
    ) -> broker_pb2.GetDirectoryResponse:
        snapshot = await asyncio.to_thread(self._current)
        return broker_pb2.GetDirectoryResponse(
            directory=snapshot.signed.body, signature=snapshot.signed.signature
        )


class BrokerWitnessServicer(ledger_pb2_grpc.WitnessServiceServicer):
    """``accord.v1.WitnessService`` as node witnesses serve it."""

    def __init__(self, witness: BrokerWitness) -> None:
        self._witness = witness

    async def AddCheckpoint(
        self, request: ledger_pb2.AddCheckpointRequest, context: Ctx
    ) -> ledger_pb2.AddCheckpointResponse:
        line = await asyncio.to_thread(
            self._witness.add_checkpoint, request.old_size, list(request.proof), request.checkpoint
        )
        return ledger_pb2.AddCheckpointResponse(cosignature=line)
