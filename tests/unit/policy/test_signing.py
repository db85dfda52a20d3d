"""Signatures by both admins, revocation, and the status they imply."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest

from node.policy import (
    Agreement,
    AgreementSignature,
    AgreementStatus,
    NodeId,
    Role,
    SignedAgreement,
    revoke_agreement,
    sign_agreement,
    verify_agreement_signature,
    verify_revocation,
)
from node.policy.errors import AgreementSignatureError, InvalidAgreementError

from .conftest import (
    NOW,
    OTHER_KEY,
    REQUESTER_KEY,
    RESPONDER_KEY,
    T0,
    T1,
    fully_signed,
    make_agreement,
)

REQ, RESP = NodeId("oakland-pd"), NodeId("sf-pd")


def test_sign_and_verify(agreement: Agreement) -> None:
    signature = sign_agreement(agreement, REQ, REQUESTER_KEY)
    verify_agreement_signature(agreement, signature)
    assert len(signature.signature) == 64


def test_signature_is_domain_separated(agreement: Agreement) -> None:
    # A bare signature over the canonical bytes (no domain tag) is not an agreement signature.
    raw = REQUESTER_KEY.sign(agreement.canonical_bytes()).signature
    with pytest.raises(AgreementSignatureError):
        verify_agreement_signature(agreement, AgreementSignature(REQ, raw))


def test_tampered_agreement_fails(agreement: Agreement) -> None:
    signature = sign_agreement(agreement, REQ, REQUESTER_KEY)
    for tampered in (
        dataclasses.replace(agreement, window_days=365),
        dataclasses.replace(agreement, purposes=agreement.purposes | {"traffic"}),
        dataclasses.replace(agreement, version=2),
    ):
        with pytest.raises(AgreementSignatureError):
            verify_agreement_signature(tampered, signature)


def test_tampered_signature_fails(agreement: Agreement) -> None:
    signature = sign_agreement(agreement, REQ, REQUESTER_KEY)
    flipped = bytes([signature.signature[0] ^ 1]) + signature.signature[1:]
    with pytest.raises(AgreementSignatureError):
        verify_agreement_signature(agreement, AgreementSignature(REQ, flipped))


def test_signature_moved_to_other_party_fails(agreement: Agreement) -> None:
    signature = sign_agreement(agreement, REQ, REQUESTER_KEY)
    with pytest.raises(AgreementSignatureError):
        verify_agreement_signature(agreement, AgreementSignature(RESP, signature.signature))
    with pytest.raises(AgreementSignatureError):
        verify_agreement_signature(
            agreement, AgreementSignature(NodeId("la-pd"), signature.signature)
        )


def test_signing_with_the_wrong_key_is_refused(agreement: Agreement) -> None:
    with pytest.raises(ValueError, match="not the signing key"):
        sign_agreement(agreement, REQ, OTHER_KEY)
    with pytest.raises(ValueError, match="not a party"):
        sign_agreement(agreement, NodeId("la-pd"), OTHER_KEY)


def test_signed_agreement_verifies_on_construction(agreement: Agreement) -> None:
    good = sign_agreement(agreement, REQ, REQUESTER_KEY)
    forged = AgreementSignature(RESP, bytes(64))
    with pytest.raises(AgreementSignatureError):
        SignedAgreement(agreement, (good, forged))
    with pytest.raises(InvalidAgreementError, match="twice"):
        SignedAgreement(agreement, (good, good))


def test_status_lifecycle(agreement: Agreement) -> None:
    proposed = SignedAgreement(agreement, (sign_agreement(agreement, REQ, REQUESTER_KEY),))
    assert proposed.status(NOW) is AgreementStatus.PROPOSED
    assert proposed.signed_by(Role.REQUESTER)
    assert not proposed.signed_by(Role.RESPONDER)
    active = proposed.with_signature(sign_agreement(agreement, RESP, RESPONDER_KEY))
    assert active.fully_signed
    assert active.status(T0 - dt.timedelta(seconds=1)) is AgreementStatus.PENDING
    assert active.status(T0) is AgreementStatus.ACTIVE
    assert active.status(NOW) is AgreementStatus.ACTIVE
    assert active.status(T1 - dt.timedelta(seconds=1)) is AgreementStatus.ACTIVE
    assert active.status(T1) is AgreementStatus.EXPIRED
    assert proposed.status(T1) is AgreementStatus.EXPIRED


def test_status_needs_an_aware_clock(signed: SignedAgreement) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        signed.status(dt.datetime(2025, 6, 1))


def test_revocation(signed: SignedAgreement) -> None:
    at = NOW + dt.timedelta(days=1)
    revocation = revoke_agreement(signed.agreement, RESP, RESPONDER_KEY, at)
    verify_revocation(signed.agreement, revocation)
    revoked = signed.with_revocation(revocation)
    assert revoked.status(NOW) is AgreementStatus.ACTIVE
    assert revoked.status(at) is AgreementStatus.REVOKED
    assert revoked.status(T1) is AgreementStatus.REVOKED
    with pytest.raises(ValueError, match="already revoked"):
        revoked.with_revocation(revocation)


def test_revocation_of_another_agreement_refused(signed: SignedAgreement) -> None:
    other = make_agreement(version=2)
    revocation = revoke_agreement(other, RESP, RESPONDER_KEY, NOW)
    with pytest.raises(AgreementSignatureError):
        signed.with_revocation(revocation)


def test_forged_revocation_refused(signed: SignedAgreement) -> None:
    revocation = revoke_agreement(signed.agreement, RESP, RESPONDER_KEY, NOW)
    later = dataclasses.replace(revocation, revoked_at=T1)
    with pytest.raises(AgreementSignatureError):
        signed.with_revocation(later)
    by_requester = dataclasses.replace(revocation, revoked_by=REQ)
    with pytest.raises(AgreementSignatureError):
        signed.with_revocation(by_requester)


def test_signed_agreement_json_round_trip(signed: SignedAgreement) -> None:
    revoked = signed.with_revocation(revoke_agreement(signed.agreement, REQ, REQUESTER_KEY, NOW))
    for value in (signed, revoked):
        text = json.dumps(value.to_json())
        assert SignedAgreement.from_json(json.loads(text)) == value


def test_signed_agreement_json_is_checked(signed: SignedAgreement) -> None:
    def doc() -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(json.dumps(signed.to_json()))
        return loaded

    tampered = doc()
    tampered["agreement"]["window_days"] = 365
    with pytest.raises(AgreementSignatureError):
        SignedAgreement.from_json(tampered)
    missing = doc()
    del missing["agreement"]["requester"]
    with pytest.raises(InvalidAgreementError) as info:
        SignedAgreement.from_json(missing)
    assert info.value.field == "agreement.requester"
    garbled = doc()
    garbled["signatures"][0]["signature"] = "not base64!"
    with pytest.raises(InvalidAgreementError) as info:
        SignedAgreement.from_json(garbled)
    assert info.value.field == "signatures[0].signature"


def test_fully_signed_helper_matches(agreement: Agreement) -> None:
    assert fully_signed(agreement).status(NOW) is AgreementStatus.ACTIVE
