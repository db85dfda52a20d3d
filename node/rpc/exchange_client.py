"""The requester's gRPC transport to peers' ExchangeService (see :mod:`node.exchange.asking`).

Refusals come back as :class:`~node.exchange.asking.PeerRefusal` with the status code name,
message and the PolicyDenial rule ids; an unreachable peer as
:class:`~node.errors.PeerUnavailableError`. Messages become domain values here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import grpc
import grpc.aio

from accord.v1 import exchange_pb2, exchange_pb2_grpc
from node.errors import PeerUnavailableError
from node.exchange.answering import EpochAnswer, HitAnswer
from node.exchange.asking import PeerRefusal
from node.exchange.receipts import Receipt
from node.ids import AgreementId, Epoch
from node.rpc.client import describe_rpc_error
from node.rpc.denials import rule_ids_of
from node.store.index import IndexRecord
from node.store.peers import Peer

#: Seconds a peer has to answer one hit query (a large batch over many epochs).
QUERY_DEADLINE_S = 60.0
FETCH_DEADLINE_S = 30.0
_UNAVAILABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}


class GrpcExchangeTransport:
    """Calls peers over the node's pinned mutual-TLS channels."""

    def __init__(self, channel_for: Callable[[Peer], grpc.aio.Channel]) -> None:
        self._channel_for = channel_for

    def _stub(self, peer: Peer) -> Any:
        return exchange_pb2_grpc.ExchangeServiceStub(self._channel_for(peer))

    async def evaluate_hits(
        self, peer: Peer, body: bytes, signature: bytes, elements: Sequence[bytes]
    ) -> HitAnswer:
        request = exchange_pb2.EvaluateHitsRequest(
            query=exchange_pb2.HitQuery(body=body, signature=signature),
            blinded_elements=list(elements),
        )
        try:
            reply = await self._stub(peer).EvaluateHits(request, timeout=QUERY_DEADLINE_S)
        except grpc.aio.AioRpcError as e:
            raise _refusal(peer, e) from e
        r = reply.receipt
        return HitAnswer(
            request_id=reply.request_id,
            epochs=tuple(
                EpochAnswer(Epoch(e.epoch), e.public_key, tuple(e.evaluated_elements), e.proof)
                for e in reply.epochs
            ),
            receipt=Receipt(r.origin, r.leaf_index, r.entry, tuple(r.proof), r.checkpoint),
        )

    async def fetch_index(
        self, peer: Peer, agreement_id: AgreementId, cursor: int, limit: int
    ) -> tuple[list[IndexRecord], int, bool]:
        request = exchange_pb2.FetchIndexRequest(
            agreement_id=agreement_id, cursor=cursor, limit=limit
        )
        try:
            reply = await self._stub(peer).FetchIndex(request, timeout=FETCH_DEADLINE_S)
        except grpc.aio.AioRpcError as e:
            raise _refusal(peer, e) from e
        records = [
            IndexRecord(e.sequence, Epoch(e.epoch), e.entry_id, e.label) for e in reply.entries
        ]
        return records, reply.next_cursor, reply.complete

    async def stream_index(
        self, peer: Peer, agreement_id: AgreementId, cursor: int
    ) -> AsyncIterator[list[IndexRecord]]:
        """The peer's index entries after ``cursor``, then new ones as they are made."""
        request = exchange_pb2.StreamIndexRequest(agreement_id=agreement_id, cursor=cursor)
        call = self._stub(peer).StreamIndex(request)
        try:
            async for reply in call:
                yield [
                    IndexRecord(e.sequence, Epoch(e.epoch), e.entry_id, e.label)
                    for e in reply.entries
                ]
        except grpc.aio.AioRpcError as e:
            raise _refusal(peer, e) from e
        finally:
            call.cancel()


def _refusal(peer: Peer, error: grpc.aio.AioRpcError) -> Exception:
    if error.code() in _UNAVAILABLE:
        return PeerUnavailableError(describe_rpc_error(peer.name, error))
    return PeerRefusal(error.code().name, str(error.details() or ""), rule_ids_of(error))
