"""Agreements and legal profiles: what a node may sign, answer and share, and why.

Sans-IO: no network, no database, no clock of its own. The public API:

- :class:`Agreement` (and :class:`Party`, :class:`RateLimit`, :class:`CaseNumberRule`):
  the versioned agreement document, its canonical bytes and hash;
- :func:`sign_agreement`, :func:`revoke_agreement`, :class:`SignedAgreement`: signatures
  by both admins and the :class:`AgreementStatus` they imply;
- :class:`QueryContext`, :class:`ShareContext`: what a request carries;
- :class:`PolicyEngine`, :class:`Decision`, :class:`LegalProfile`: decisions with the
  stable ids of the rules that made them;
- :mod:`node.policy.retention_caps`: statutory retention caps by state.
"""

from node.ids import AgreementId, NodeId
from node.policy.agreement import (
    AGREEMENT_FORMAT,
    Agreement,
    LabelDetail,
    Party,
    QueryKind,
    RateLimit,
    Role,
)
from node.policy.case_number import CaseNumberRule
from node.policy.engine import AGREEMENT_RULES, DEFAULT_DENY, Decision, PolicyEngine
from node.policy.profile import SHIPPED_PROFILES, LegalProfile
from node.policy.query import QueryContext, ShareContext
from node.policy.signing import (
    AgreementSignature,
    AgreementStatus,
    Revocation,
    SignedAgreement,
    revoke_agreement,
    sign_agreement,
    verify_agreement_signature,
    verify_revocation,
)

__all__ = [
    "AGREEMENT_FORMAT",
    "AGREEMENT_RULES",
    "DEFAULT_DENY",
    "SHIPPED_PROFILES",
    "Agreement",
    "AgreementId",
    "AgreementSignature",
    "AgreementStatus",
    "CaseNumberRule",
    "Decision",
    "LabelDetail",
    "LegalProfile",
    "NodeId",
    "Party",
    "PolicyEngine",
    "QueryContext",
    "QueryKind",
    "RateLimit",
    "Revocation",
    "Role",
    "ShareContext",
    "SignedAgreement",
    "revoke_agreement",
    "sign_agreement",
    "verify_agreement_signature",
    "verify_revocation",
]
