"""Agreements as the exchange needs them: stored versions turned into verified documents.

The store keeps an agreement's canonical bytes and the parties' signatures; the policy
engine decides on a :class:`~node.policy.signing.SignedAgreement`. Turning one into the
other re-parses and re-verifies everything, so a row altered in the database is refused
rather than believed.
"""

from __future__ import annotations

from node.ids import AgreementId, NodeId
from node.policy.agreement import Agreement, QueryKind, Role
from node.policy.signing import AgreementSignature, SignedAgreement
from node.store.agreements import AgreementRepository, AgreementStatus, StoredAgreement


def signed_agreement(stored: StoredAgreement) -> SignedAgreement:
    """The verified document of a stored agreement version."""
    agreement = Agreement.from_canonical_bytes(stored.document)
    signatures = tuple(
        AgreementSignature(agreement.party(Role(s.role)).node_id, s.signature)
        for s in stored.signatures
    )
    return SignedAgreement(agreement, signatures)


def active_as(
    repo: AgreementRepository, role: Role, *, kinds: frozenset[QueryKind] | None = None
) -> list[tuple[StoredAgreement, SignedAgreement]]:
    """Active agreements in which this node plays ``role`` (allowing any of ``kinds``)."""
    out = []
    for stored in repo.find(status=AgreementStatus.ACTIVE):
        if stored.role != role.value:
            continue
        signed = signed_agreement(stored)
        if kinds is None or kinds & signed.agreement.query_kinds:
            out.append((stored, signed))
    return out


def with_peer(
    repo: AgreementRepository, peer: NodeId, role: Role, kind: QueryKind
) -> tuple[StoredAgreement, SignedAgreement] | None:
    """This node's active agreement with ``peer`` in ``role`` that allows ``kind``."""
    for stored, signed in active_as(repo, role, kinds=frozenset({kind})):
        if stored.peer_id == peer:
            return stored, signed
    return None


def in_force(repo: AgreementRepository, agreement_id: AgreementId) -> SignedAgreement | None:
    stored = repo.in_force(agreement_id)
    return None if stored is None else signed_agreement(stored)
