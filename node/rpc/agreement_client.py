"""Calling a peer's ``AgreementService``: the gRPC side of
:class:`~node.exchange.agreement_messages.AgreementTransport`.

The peer's refusals become domain errors here, at the edge, keeping the peer's status and
message (so its rule ids reach our admin): UNAVAILABLE and DEADLINE_EXCEEDED are
:class:`~node.errors.PeerUnavailableError`, PERMISSION_DENIED is
:class:`~node.exchange.errors.PeerDeniedError`, anything else
:class:`~node.exchange.errors.PeerRefusedError`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
import grpc.aio

from accord.v1 import admin_pb2, admin_pb2_grpc
from node.errors import PeerUnavailableError
from node.exchange.agreement_messages import Answer, Proposal, ProposalReceipt, RevocationNotice
from node.exchange.errors import PeerDeniedError, PeerRefusedError
from node.rpc.client import describe_rpc_error
from node.rpc.denials import rule_ids_of
from node.store.peers import Peer

#: Covers reaching the peer (calls wait for a connection, so a peer that is just coming
#: back is not refused) and its store and ledger writes; short enough for an admin to wait.
DEADLINE_S = 10.0

T = TypeVar("T")

_UNREACHABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


def _index(value: int) -> int | None:
    # Proto3 cannot tell 0 from unset; a peer's agreement entries never sit at index 0,
    # which every node's log gives to its own first record.
    return value or None


class GrpcAgreementTransport:
    """Delivers agreement messages over the node's cached mutual-TLS peer channels."""

    def __init__(
        self, channel_for: Callable[[Peer], grpc.aio.Channel], *, deadline_s: float = DEADLINE_S
    ) -> None:
        self._channel_for = channel_for
        self._deadline_s = deadline_s

    @property
    def _options(self) -> dict[str, Any]:
        return {"timeout": self._deadline_s, "wait_for_ready": True}

    def _stub(self, peer: Peer) -> Any:  # the generated stubs do not type their methods
        return admin_pb2_grpc.AgreementServiceStub(self._channel_for(peer))

    async def _call(self, peer: Peer, call: Awaitable[T]) -> T:
        try:
            return await call
        except grpc.aio.AioRpcError as e:
            line = describe_rpc_error(peer.name, e)
            code = e.code()
            if code is grpc.StatusCode.DEADLINE_EXCEEDED:
                line = (
                    f"{peer.name} did not answer within {self._deadline_s:g} s (is it running, "
                    "and is this node registered with it?)"
                )
            if code in _UNREACHABLE:
                raise PeerUnavailableError(line) from e
            if code is grpc.StatusCode.PERMISSION_DENIED:
                raise PeerDeniedError(peer.name, line, code.name, rule_ids_of(e)) from e
            raise PeerRefusedError(peer.name, line, code.name) from e

    async def propose(self, peer: Peer, proposal: Proposal) -> ProposalReceipt:
        request = admin_pb2.ProposeAgreementRequest(
            agreement=admin_pb2.SignedAgreementDocument(
                document=proposal.document, requester_signature=proposal.requester_signature
            )
        )
        reply = await self._call(peer, self._stub(peer).ProposeAgreement(request, **self._options))
        return ProposalReceipt(bytes(reply.agreement_hash), _index(reply.ledger_index))

    async def answer(self, peer: Peer, answer: Answer) -> int | None:
        request = admin_pb2.AnswerAgreementRequest(
            agreement_id=answer.agreement_id,
            version=answer.version,
            accepted=answer.accepted,
            signature=answer.signature,
            reason=answer.reason,
        )
        reply = await self._call(peer, self._stub(peer).AnswerAgreement(request, **self._options))
        return _index(reply.ledger_index)

    async def revoke(self, peer: Peer, notice: RevocationNotice) -> int | None:
        request = admin_pb2.RevokeAgreementRequest(
            agreement_id=notice.agreement_id,
            version=notice.version,
            revocation=notice.body,
            signature=notice.signature,
        )
        reply = await self._call(peer, self._stub(peer).RevokeAgreement(request, **self._options))
        return _index(reply.ledger_index)
