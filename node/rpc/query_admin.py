"""The query half of ``accord.v1.NodeAdminService``: this node's users asking its peers.

:class:`QueryAdminMethods` is a mixin without state: it reads ``self.queries`` (a
:class:`~node.exchange.asking.QueryDesk`) set by
:class:`~node.rpc.node_admin_service.NodeAdminServicer`. Only the node itself may call it
(:func:`~node.rpc.context.require_self`): the plates of a query or an alert travel
between the node's own CLI and the node, never to a peer. It also reads ``self.alerts``
(the :class:`~node.exchange.alerts.AlertWatcher`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import grpc.aio
from google.protobuf import timestamp_pb2

from accord.v1 import node_admin_pb2
from node.exchange.alerts import AlertWatcher
from node.exchange.asking import QueryDesk
from node.policy.errors import InvalidQueryError
from node.rpc.context import require_self

Ctx = grpc.aio.ServicerContext[Any, Any]


class QueryAdminMethods:
    queries: QueryDesk
    alerts: AlertWatcher

    async def WatchAlerts(
        self, request: node_admin_pb2.WatchAlertsRequest, context: Ctx
    ) -> AsyncIterator[node_admin_pb2.Alert]:
        require_self()
        with self.alerts.subscription() as queue:
            while True:
                alert = await queue.get()
                received = timestamp_pb2.Timestamp()
                received.FromDatetime(alert.received_at)
                yield node_admin_pb2.Alert(
                    peer=alert.peer,
                    plate=alert.plate,
                    hotlist_id=alert.hotlist_id,
                    case_number=alert.case_number,
                    category=alert.category,
                    epoch=alert.epoch,
                    detail_json=json.dumps(alert.detail, sort_keys=True),
                    received_at=received,
                )

    async def QueryHits(
        self, request: node_admin_pb2.QueryHitsCommand, context: Ctx
    ) -> node_admin_pb2.QueryHitsResult:
        require_self()
        try:
            outcome = await self.queries.query_hits(
                peers=list(request.peers),
                plates=list(request.plates),
                purpose=request.purpose,
                case_number=request.case_number,
                days=request.days,
                user=request.user,
            )
        except ValueError as e:
            raise InvalidQueryError(str(e)) from e
        return node_admin_pb2.QueryHitsResult(
            hits=[
                node_admin_pb2.Hit(
                    peer=h.peer,
                    plate=h.plate,
                    epoch=h.epoch,
                    detail_json=json.dumps(h.detail, sort_keys=True),
                )
                for h in outcome.hits
            ],
            answers=[
                node_admin_pb2.PeerAnswer(
                    peer=a.peer,
                    outcome=a.outcome,
                    message=a.message,
                    rule_ids=list(a.rule_ids),
                    plates_evaluated=a.evaluated,
                    hits=a.hits,
                    receipt_index=a.receipt_index,
                )
                for a in outcome.answers
            ],
        )
