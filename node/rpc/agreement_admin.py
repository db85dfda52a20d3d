"""The agreement half of ``accord.v1.NodeAdminService``.

:class:`AgreementAdminMethods` is a mixin without state: it reads ``self.agreements`` (an
:class:`~node.exchange.agreements.AgreementDesk`) set by
:class:`~node.rpc.node_admin_service.NodeAdminServicer`. Each method first requires the
caller to be this node itself, then converts the command to domain types, calls the desk
and converts the result back. Policy denials, this node's own or relayed from the peer,
reach the caller as PERMISSION_DENIED naming the rules in the message and carrying them
as ``accord.v1.PolicyDenial`` details (the interceptor attaches any error's ``rule_ids``,
see :mod:`node.rpc.denials`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import grpc.aio

from accord.v1 import common_pb2, node_admin_pb2
from node.exchange.agreement_terms import AgreementTerms, AgreementView
from node.exchange.agreements import AgreementDesk
from node.ids import AgreementId, NodeId
from node.policy import LabelDetail, QueryKind
from node.policy.errors import InvalidAgreementError
from node.rpc.context import require_self

Ctx = grpc.aio.ServicerContext[Any, Any]

_DETAIL_PREFIX = "LABEL_DETAIL_"


def _set(values: Any, field: str) -> frozenset[str]:
    items = [str(v) for v in values]
    if len(set(items)) != len(items):
        raise InvalidAgreementError("must not repeat an entry", field)
    return frozenset(items)


def _label_detail(value: common_pb2.LabelDetail.ValueType) -> LabelDetail:
    name = common_pb2.LabelDetail.Name(value)
    try:
        return LabelDetail(name.removeprefix(_DETAIL_PREFIX))
    except ValueError:
        allowed = ", ".join(d.value for d in LabelDetail)
        raise InvalidAgreementError(f"must be one of {allowed}", "label_detail") from None


def _query_kinds(values: Any) -> frozenset[QueryKind]:
    try:
        return frozenset(QueryKind(k) for k in _set(values, "query_kinds"))
    except ValueError:
        allowed = ", ".join(k.value for k in QueryKind)
        raise InvalidAgreementError(f"entries must be among {allowed}", "query_kinds") from None


def _time(message: Any, field: str) -> dt.datetime | None:
    if not message.HasField(field):
        return None
    when: dt.datetime = getattr(message, field).ToDatetime(tzinfo=dt.UTC)
    return when


def terms_from_proto(terms: node_admin_pb2.AgreementTerms) -> AgreementTerms:
    """The domain terms of an ``AgreementTerms`` message; raises
    :class:`InvalidAgreementError` naming the field."""
    valid_until = _time(terms, "valid_until")
    if valid_until is None:
        raise InvalidAgreementError("missing", "valid_until")
    if not terms.peer:
        raise InvalidAgreementError("missing", "peer")
    return AgreementTerms(
        agreement_id=AgreementId(terms.agreement_id),
        peer=NodeId(terms.peer),
        purposes=_set(terms.purposes, "purposes"),
        query_kinds=_query_kinds(terms.query_kinds),
        window_days=terms.window_days,
        label_detail=_label_detail(terms.label_detail),
        plates_per_day=terms.plates_per_day,
        max_batch=terms.max_batch,
        case_number_required=terms.case_number_required,
        case_number_pattern=terms.case_number_pattern or None,
        alert_categories=_set(terms.alert_categories, "alert_categories"),
        retention_days=terms.retention_days,
        onward_sharing_banned=terms.onward_sharing_banned,
        confusable_folding=terms.confusable_folding,
        valid_from=_time(terms, "valid_from"),
        valid_until=valid_until,
    )


def summary(view: AgreementView) -> node_admin_pb2.AgreementSummary:
    return node_admin_pb2.AgreementSummary(
        agreement_id=view.agreement_id,
        version=view.version,
        peer=view.peer,
        role=view.role,
        status=view.status,
        agreement_hash=view.agreement_hash,
        document_json=view.document.decode("utf-8"),
        ledger_index=view.ledger_index or 0,
    )


class AgreementAdminMethods:
    """ProposeAgreement, ListAgreements, DecideAgreement and EndAgreement."""

    agreements: AgreementDesk

    async def ProposeAgreement(
        self, request: node_admin_pb2.ProposeAgreementCommand, context: Ctx
    ) -> node_admin_pb2.AgreementSummary:
        require_self()
        view = await self.agreements.propose(terms_from_proto(request.terms), admin=request.admin)
        return summary(view)

    async def ListAgreements(
        self, request: node_admin_pb2.ListAgreementsRequest, context: Ctx
    ) -> node_admin_pb2.ListAgreementsResponse:
        require_self()
        views = await self.agreements.list(request.status or None)
        return node_admin_pb2.ListAgreementsResponse(agreements=[summary(v) for v in views])

    async def DecideAgreement(
        self, request: node_admin_pb2.DecideAgreementCommand, context: Ctx
    ) -> node_admin_pb2.AgreementSummary:
        require_self()
        view = await self.agreements.decide(
            AgreementId(request.agreement_id),
            request.version or None,
            request.accept,
            request.reason,
            admin=request.admin,
        )
        return summary(view)

    async def EndAgreement(
        self, request: node_admin_pb2.EndAgreementCommand, context: Ctx
    ) -> node_admin_pb2.AgreementSummary:
        require_self()
        view = await self.agreements.end(
            AgreementId(request.agreement_id), request.reason, admin=request.admin
        )
        return summary(view)
