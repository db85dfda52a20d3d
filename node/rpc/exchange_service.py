"""The responder's ``accord.v1.ExchangeService``: hit queries, index fetch and stream, keys.

Protobuf stays here: requests become domain calls on :class:`~node.exchange.answering.
Answerer` and the index store, answers become messages. The caller's identity is the
peer the interceptor established from its certificate, never a name in a message.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc.aio
from google.protobuf import timestamp_pb2
from sqlalchemy.orm import Session, sessionmaker

from accord.v1 import common_pb2, exchange_pb2, exchange_pb2_grpc
from node.exchange.answering import Answerer
from node.exchange.in_force import signed_agreement
from node.exchange.indexer import Indexer
from node.ids import AgreementId, NodeId
from node.policy.agreement import QueryKind
from node.policy.errors import PolicyDeniedError
from node.rpc.context import calling_peer
from node.server import ServiceRegistration
from node.store.agreements import AgreementRepository, OprfKeyRepository
from node.store.db import session_scope
from node.store.index import MAX_PAGE, IndexRecord, IndexRepository

Context = grpc.aio.ServicerContext[Any, Any]
_SHARING = frozenset({QueryKind.HIT_QUERY, QueryKind.INDEX_STREAM, QueryKind.ALERTS})


def _entries(records: list[IndexRecord]) -> list[exchange_pb2.IndexEntry]:
    return [
        exchange_pb2.IndexEntry(
            sequence=r.sequence, epoch=r.epoch, entry_id=r.entry_id, label=r.label
        )
        for r in records
    ]


class ExchangeServicer(exchange_pb2_grpc.ExchangeServiceServicer):
    def __init__(
        self, sessions: sessionmaker[Session], answerer: Answerer, indexer: Indexer
    ) -> None:
        self._sessions = sessions
        self._answerer = answerer
        self._indexer = indexer

    async def EvaluateHits(
        self, request: exchange_pb2.EvaluateHitsRequest, context: Context
    ) -> exchange_pb2.EvaluateHitsResponse:
        caller = NodeId(calling_peer().node_name)
        answer = await self._answerer.evaluate_hits(
            caller, request.query.body, request.query.signature, list(request.blinded_elements)
        )
        r = answer.receipt
        return exchange_pb2.EvaluateHitsResponse(
            request_id=answer.request_id,
            epochs=[
                exchange_pb2.EpochEvaluation(
                    epoch=e.epoch,
                    public_key=e.public_key,
                    evaluated_elements=list(e.evaluated),
                    proof=e.proof,
                )
                for e in answer.epochs
            ],
            receipt=common_pb2.InclusionReceipt(
                origin=r.origin,
                leaf_index=r.leaf_index,
                entry=r.entry,
                proof=list(r.proof),
                checkpoint=r.checkpoint,
            ),
        )

    def _require_sharing(self, agreement_id: str) -> AgreementId:
        """The agreement, if the caller is its requester and it is active and shares."""
        caller = calling_peer().node_name
        with session_scope(self._sessions) as s:
            stored = AgreementRepository(s).in_force(AgreementId(agreement_id))
            if stored is None or stored.peer_id != caller or stored.role != "responder":
                raise PolicyDeniedError(
                    ["agreement.id"], f"no active agreement {agreement_id} with {caller}"
                )
            if not signed_agreement(stored).agreement.query_kinds & _SHARING:
                raise PolicyDeniedError(
                    ["agreement.query-kind"], "the agreement shares no index entries"
                )
        return AgreementId(agreement_id)

    async def FetchIndex(
        self, request: exchange_pb2.FetchIndexRequest, context: Context
    ) -> exchange_pb2.FetchIndexResponse:
        agreement_id = await asyncio.to_thread(self._require_sharing, request.agreement_id)
        limit = min(request.limit or MAX_PAGE, MAX_PAGE)
        epochs = list(request.epochs) or None

        def fetch() -> list[IndexRecord]:
            with session_scope(self._sessions) as s:
                return IndexRepository(s).after(
                    agreement_id, request.cursor, limit=limit, epochs=epochs
                )

        records = await asyncio.to_thread(fetch)
        next_cursor = records[-1].sequence if records else request.cursor
        return exchange_pb2.FetchIndexResponse(
            entries=_entries(records), next_cursor=next_cursor, complete=len(records) < limit
        )

    async def StreamIndex(
        self, request: exchange_pb2.StreamIndexRequest, context: Context
    ) -> AsyncIterator[exchange_pb2.StreamIndexResponse]:
        agreement_id = await asyncio.to_thread(self._require_sharing, request.agreement_id)
        cursor = request.cursor
        while True:

            def fetch(after: int = cursor) -> list[IndexRecord]:
                with session_scope(self._sessions) as s:
                    return IndexRepository(s).after(agreement_id, after, limit=1000)

            records = await asyncio.to_thread(fetch)
            if records:
                cursor = records[-1].sequence
                yield exchange_pb2.StreamIndexResponse(entries=_entries(records))
                continue
            async with self._indexer.changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._indexer.changed.wait(), timeout=5.0)
            # An agreement revoked while streaming ends the stream.
            await asyncio.to_thread(self._require_sharing, request.agreement_id)

    async def GetEpochKeys(
        self, request: exchange_pb2.GetEpochKeysRequest, context: Context
    ) -> exchange_pb2.GetEpochKeysResponse:
        agreement_id = await asyncio.to_thread(self._require_sharing, request.agreement_id)
        wanted = set(request.epochs)

        def load() -> list[exchange_pb2.EpochKey]:
            with session_scope(self._sessions) as s:
                keys = OprfKeyRepository(s).for_agreement(agreement_id)
            out = []
            for k in keys:
                if wanted and k.epoch not in wanted:
                    continue
                destroyed = None
                if k.destroyed_at is not None:
                    destroyed = timestamp_pb2.Timestamp()
                    destroyed.FromDatetime(k.destroyed_at)
                out.append(
                    exchange_pb2.EpochKey(
                        epoch=k.epoch, public_key=k.public_key, destroyed_at=destroyed
                    )
                )
            return out

        return exchange_pb2.GetEpochKeysResponse(keys=await asyncio.to_thread(load))


def exchange_service(servicer: ExchangeServicer) -> ServiceRegistration:
    return ServiceRegistration(
        "accord.v1.ExchangeService",
        exchange_pb2_grpc.add_ExchangeServiceServicer_to_server,
        servicer,
    )
