"""The messages two nodes exchange about an agreement, and the port that carries them.

:class:`AgreementDesk <node.exchange.agreements.AgreementDesk>` speaks to its peers only
through :class:`AgreementTransport`, in these frozen dataclasses; the gRPC adapter
(:mod:`node.rpc.agreement_client`) turns them into ``accord.v1`` messages and turns the
peer's refusals into :mod:`node.exchange.errors`. Tests can plug in a fake transport.

A revocation travels as its canonical body (``accord/agreement-revocation/v1``, without the
signature) and the signature beside it; :func:`revocation_from_wire` rebuilds the
:class:`~node.policy.signing.Revocation` and insists the body was canonical.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Protocol

from crypto.canonical_json import CanonicalJsonError, loads
from node.ids import AgreementId
from node.policy.errors import InvalidAgreementError
from node.policy.signing import Revocation
from node.store.peers import Peer


@dataclass(frozen=True, slots=True)
class Proposal:
    """An agreement document (canonical bytes) signed by its requester."""

    document: bytes
    requester_signature: bytes


@dataclass(frozen=True, slots=True)
class ProposalReceipt:
    """The responder's acknowledgement: the hash it stored and its ledger index of
    ``agreement.created`` (``None`` when it had stored the same proposal before)."""

    agreement_hash: bytes
    ledger_index: int | None


@dataclass(frozen=True, slots=True)
class Answer:
    """The responder's decision on one version: its signature, or a rejection reason."""

    agreement_id: AgreementId
    version: int
    accepted: bool
    signature: bytes
    reason: str


@dataclass(frozen=True, slots=True)
class RevocationNotice:
    """A party's signed revocation of one version, as it travels."""

    agreement_id: AgreementId
    version: int
    body: bytes
    signature: bytes

    @classmethod
    def of(cls, version: int, revocation: Revocation) -> RevocationNotice:
        return cls(
            AgreementId(revocation.agreement_id),
            version,
            revocation.signed_bytes(),
            revocation.signature,
        )


class AgreementTransport(Protocol):
    """Delivers agreement messages to a peer.

    Each method returns what the peer acknowledged and raises
    :class:`~node.errors.PeerUnavailableError` when the peer cannot be reached,
    :class:`~node.exchange.errors.PeerDeniedError` when its policy refused and
    :class:`~node.exchange.errors.PeerRefusedError` for any other refusal.
    """

    async def propose(self, peer: Peer, proposal: Proposal) -> ProposalReceipt:
        """Ask ``peer`` to store ``proposal`` for its admin."""
        ...

    async def answer(self, peer: Peer, answer: Answer) -> int | None:
        """Tell the requester ``peer`` our decision; returns its ledger index."""
        ...

    async def revoke(self, peer: Peer, notice: RevocationNotice) -> int | None:
        """Tell the other party ``peer`` the agreement ends; returns its ledger index."""
        ...


def revocation_from_wire(body: bytes, signature: bytes) -> Revocation:
    """Parse a revocation's canonical body and signature (the signature is verified
    later, against the agreement, by :func:`~node.policy.signing.verify_revocation`).

    Raises :class:`~node.policy.errors.InvalidAgreementError` for a malformed or
    non-canonical body.
    """
    try:
        obj = loads(body)
    except CanonicalJsonError as e:
        raise InvalidAgreementError(f"the revocation is not canonical JSON ({e})") from None
    if not isinstance(obj, dict):
        raise InvalidAgreementError("the revocation must be a JSON object")
    if "signature" in obj:
        raise InvalidAgreementError("the signature travels beside the body", "signature")
    obj["signature"] = base64.b64encode(signature).decode("ascii")
    revocation = Revocation.from_json(obj)
    if revocation.signed_bytes() != body:
        raise InvalidAgreementError("the revocation is not in canonical form")
    return revocation
