"""The peer-facing ``accord.v1.AgreementService`` (thin: translate and delegate).

The caller is whoever the TLS handshake and the interceptor say it is
(:func:`~node.rpc.context.calling_peer`); no name inside a message is believed. A node
calling its own AgreementService is refused: agreements are between two nodes, and this
node's admin uses ``NodeAdminService`` instead. Every refusal is a domain error mapped to
its status by :mod:`node.rpc.status`.
"""

from __future__ import annotations

from typing import Any

import grpc.aio

from accord.v1 import admin_pb2, admin_pb2_grpc
from node.exchange.agreement_messages import Answer, Proposal, RevocationNotice
from node.exchange.agreements import AgreementDesk
from node.exchange.errors import WrongPartyError
from node.ids import AgreementId
from node.policy.errors import InvalidAgreementError
from node.rpc.context import calling_peer
from node.server import ServiceRegistration

Ctx = grpc.aio.ServicerContext[Any, Any]


def _peer_name() -> str:
    caller = calling_peer()
    if caller.is_self:
        raise WrongPartyError("a node cannot make an agreement with itself")
    return caller.node_name


class AgreementServicer(admin_pb2_grpc.AgreementServiceServicer):
    def __init__(self, desk: AgreementDesk) -> None:
        self._desk = desk

    async def ProposeAgreement(
        self, request: admin_pb2.ProposeAgreementRequest, context: Ctx
    ) -> admin_pb2.ProposeAgreementResponse:
        peer = _peer_name()
        signed = request.agreement
        if signed.responder_signature:
            raise InvalidAgreementError(
                "a proposal carries the requester's signature only", "responder_signature"
            )
        proposal = Proposal(bytes(signed.document), bytes(signed.requester_signature))
        receipt = await self._desk.receive_proposal(proposal, from_peer=peer)
        return admin_pb2.ProposeAgreementResponse(
            agreement_hash=receipt.agreement_hash, ledger_index=receipt.ledger_index or 0
        )

    async def AnswerAgreement(
        self, request: admin_pb2.AnswerAgreementRequest, context: Ctx
    ) -> admin_pb2.AnswerAgreementResponse:
        peer = _peer_name()
        answer = Answer(
            AgreementId(request.agreement_id),
            request.version,
            request.accepted,
            bytes(request.signature),
            request.reason,
        )
        index = await self._desk.receive_answer(answer, from_peer=peer)
        return admin_pb2.AnswerAgreementResponse(ledger_index=index or 0)

    async def RevokeAgreement(
        self, request: admin_pb2.RevokeAgreementRequest, context: Ctx
    ) -> admin_pb2.RevokeAgreementResponse:
        peer = _peer_name()
        notice = RevocationNotice(
            AgreementId(request.agreement_id),
            request.version,
            bytes(request.revocation),
            bytes(request.signature),
        )
        index = await self._desk.receive_revocation(notice, from_peer=peer)
        return admin_pb2.RevokeAgreementResponse(ledger_index=index or 0)


def agreement_service(desk: AgreementDesk) -> ServiceRegistration:
    """The AgreementService of ``desk``, ready to mount on the node's server."""
    return ServiceRegistration(
        "accord.v1.AgreementService",
        admin_pb2_grpc.add_AgreementServiceServicer_to_server,
        AgreementServicer(desk),
    )
