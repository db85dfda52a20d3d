"""The retention part of ``accord.v1.NodeAdminService``: purge now, and case holds.

:class:`RetentionAdminMethods` is a mixin without state: it reads ``self.retention_side``
(anything with the node's :class:`~node.retention.purge.Purger` as ``retention`` and its
:class:`~node.retention.holds.HoldDesk` as ``holds``, both read at call time), set by
:class:`~node.rpc.node_admin_service.NodeAdminServicer`. Only the node itself may call
it (:func:`~node.rpc.context.require_self`): a hold names a plate and a case number,
which never leave the node.

Hold errors are the admin's input (INVALID_ARGUMENT), an unknown hold (NOT_FOUND) or one
already released (FAILED_PRECONDITION); they are answered here with those codes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

import grpc
import grpc.aio
from google.protobuf import timestamp_pb2

from accord.v1 import node_admin_pb2
from node.retention.errors import (
    HoldError,
    HoldNotFoundError,
    HoldStateError,
    InvalidHoldError,
)
from node.retention.holds import HoldDesk, HoldRequest
from node.retention.purge import Purger
from node.rpc.context import require_self
from node.store.holds import Hold

Ctx = grpc.aio.ServicerContext[Any, Any]

_HOLD_STATUS: dict[type[HoldError], grpc.StatusCode] = {
    InvalidHoldError: grpc.StatusCode.INVALID_ARGUMENT,
    HoldNotFoundError: grpc.StatusCode.NOT_FOUND,
    HoldStateError: grpc.StatusCode.FAILED_PRECONDITION,
}


class RetentionSide(Protocol):
    """Where the servicer finds the purge and the holds (the node app, at call time)."""

    @property
    def retention(self) -> Purger: ...

    @property
    def holds(self) -> HoldDesk: ...


class RetentionAdminMethods:
    retention_side: RetentionSide

    async def PurgeRetention(
        self, request: node_admin_pb2.PurgeRetentionRequest, context: Ctx
    ) -> node_admin_pb2.PurgeRetentionResult:
        require_self()
        purged = await self.retention_side.retention.run_once()
        return node_admin_pb2.PurgeRetentionResult(
            purged=[
                node_admin_pb2.PurgedEpoch(
                    data_class=p.data_class.value,
                    epoch=p.epoch,
                    counts=dict(p.counts),
                    deleted_root=p.deleted_root,
                    ledger_index=p.ledger_index,
                )
                for p in purged
            ]
        )

    async def AddHold(
        self, request: node_admin_pb2.AddHoldCommand, context: Ctx
    ) -> node_admin_pb2.HoldSummary:
        require_self()
        hold_request = HoldRequest(
            case_number=request.case_number,
            approver=request.approver,
            reason=request.reason,
            expires=_time(request, "expires"),
            plate=request.plate or None,
            read_ids=tuple(request.read_ids),
            camera_id=request.camera or None,
            from_time=_time(request, "from_time"),
            to_time=_time(request, "to_time"),
        )
        try:
            added = await self.retention_side.holds.add(hold_request)
        except HoldError as e:
            await _abort(context, e)
            raise
        return _summary(added.hold, added.ledger_index)

    async def ListHolds(
        self, request: node_admin_pb2.ListHoldsRequest, context: Ctx
    ) -> node_admin_pb2.ListHoldsResponse:
        require_self()
        holds = self.retention_side.holds.all()
        return node_admin_pb2.ListHoldsResponse(
            holds=[_summary(h, h.ledger_index or 0) for h in holds]
        )

    async def ReleaseHold(
        self, request: node_admin_pb2.ReleaseHoldCommand, context: Ctx
    ) -> node_admin_pb2.HoldSummary:
        require_self()
        try:
            hold, index = await self.retention_side.holds.release(
                request.hold_id, admin=request.admin or "admin"
            )
        except HoldError as e:
            await _abort(context, e)
            raise
        return _summary(hold, index)


async def _abort(context: Ctx, error: HoldError) -> None:
    for cls in type(error).__mro__:
        code = _HOLD_STATUS.get(cls)
        if code is not None:
            await context.abort(code, str(error))


def _time(message: Any, field: str) -> dt.datetime | None:
    if not message.HasField(field):
        return None
    stamp: timestamp_pb2.Timestamp = getattr(message, field)
    return stamp.ToDatetime(tzinfo=dt.UTC)


def _stamp(at: dt.datetime | None) -> timestamp_pb2.Timestamp | None:
    if at is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(at)
    return stamp


def _status(hold: Hold) -> str:
    if hold.ledger_index is None:
        return "not-logged"
    if hold.released_at is not None:
        return "released"
    if hold.expires <= dt.datetime.now(dt.UTC):
        return "expired"
    return "in-force"


def _summary(hold: Hold, ledger_index: int) -> node_admin_pb2.HoldSummary:
    return node_admin_pb2.HoldSummary(
        hold_id=hold.id,
        case_number=hold.case_number,
        approver=hold.approver,
        reason=hold.reason,
        selector=hold.selector.value,
        camera=hold.camera_id or "",
        from_time=_stamp(hold.from_time),
        to_time=_stamp(hold.to_time),
        expires=_stamp(hold.expires),
        created=_stamp(hold.created),
        released_at=_stamp(hold.released_at),
        status=_status(hold),
        reads=hold.held,
        ledger_index=ledger_index,
    )
