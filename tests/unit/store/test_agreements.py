"""Agreements: versions, signatures, the status life cycle, and per-epoch OPRF keys."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy.orm import Session

from node.ids import AgreementId, Epoch, NodeId
from node.store.agreements import (
    AgreementRepository,
    AgreementSignature,
    AgreementStatus,
    OprfKeyRepository,
    StoredAgreement,
)
from node.store.errors import (
    ConstraintViolationError,
    DuplicateError,
    InvalidTransitionError,
    NotFoundError,
    ReferenceViolationError,
)
from tests.unit.store import _builders as b
from tests.unit.store.conftest import NOW

AGREEMENT = AgreementId("oak-smpd-2025")
OAKLAND = NodeId("oakland-pd")
YEAR = dt.timedelta(days=365)


@pytest.fixture
def agreements(session: Session) -> AgreementRepository:
    b.add_peer(session)
    return AgreementRepository(session)


def _propose(repo: AgreementRepository, version: int = 1, **overrides: object) -> StoredAgreement:
    document = b'{"format":"accord/agreement/v1","version":%d}' % version
    fields: dict[str, object] = {
        "agreement_id": AGREEMENT,
        "version": version,
        "peer_id": OAKLAND,
        "role": "responder",
        "document": document,
        "digest": hashlib.sha256(document).digest(),
        "valid_from": NOW,
        "valid_until": NOW + YEAR,
        "now": NOW,
    }
    fields.update(overrides)
    return repo.add_version(**fields)  # type: ignore[arg-type]


def _signature(role: str) -> AgreementSignature:
    return AgreementSignature(role, bytes([len(role)]) * 32, b"\x05" * 64, NOW)


def test_a_proposed_agreement_round_trips(agreements: AgreementRepository) -> None:
    proposed = _propose(agreements)
    assert proposed.status is AgreementStatus.PROPOSED
    assert proposed.signatures == ()
    agreements.add_signature(AGREEMENT, 1, _signature("responder"))
    agreements.add_signature(AGREEMENT, 1, _signature("requester"))
    stored = agreements.get(AGREEMENT, 1)
    assert stored is not None
    assert stored.document == proposed.document
    assert stored.valid_until == NOW + YEAR
    assert [s.role for s in stored.signatures] == ["requester", "responder"]
    assert agreements.by_digest(proposed.digest) == stored
    assert agreements.get(AgreementId("nope")) is None


def test_versions_digests_and_signatures_are_unique(
    agreements: AgreementRepository, session: Session
) -> None:
    first = _propose(agreements)
    with pytest.raises(ConstraintViolationError, match="must be higher"):
        _propose(agreements, version=1)
    with pytest.raises(DuplicateError, match="digest"), session.begin_nested():
        _propose(agreements, version=2, digest=first.digest)
    agreements.add_signature(AGREEMENT, 1, _signature("requester"))
    with pytest.raises(DuplicateError), session.begin_nested():
        agreements.add_signature(AGREEMENT, 1, _signature("requester"))
    with pytest.raises(ConstraintViolationError, match="cannot change"):
        _propose(agreements, version=3, role="requester")


def test_agreements_need_a_known_peer(agreements: AgreementRepository) -> None:
    with pytest.raises(ReferenceViolationError):
        _propose(agreements, peer_id=NodeId("unknown-pd"))


def test_the_status_life_cycle(agreements: AgreementRepository) -> None:
    _propose(agreements)
    later = NOW + dt.timedelta(hours=1)
    active = agreements.set_status(AGREEMENT, 1, AgreementStatus.ACTIVE, now=later)
    assert active.status is AgreementStatus.ACTIVE
    assert active.status_changed == later
    assert agreements.in_force(AGREEMENT) == active
    with pytest.raises(InvalidTransitionError, match="active"):
        agreements.set_status(AGREEMENT, 1, AgreementStatus.REJECTED, now=later)
    revoked = agreements.set_status(AGREEMENT, 1, AgreementStatus.REVOKED, now=later)
    assert revoked.status is AgreementStatus.REVOKED
    assert agreements.in_force(AGREEMENT) is None
    with pytest.raises(InvalidTransitionError):
        agreements.set_status(AGREEMENT, 1, AgreementStatus.ACTIVE, now=later)
    with pytest.raises(NotFoundError):
        agreements.set_status(AGREEMENT, 9, AgreementStatus.ACTIVE, now=later)


def test_activating_an_amendment_supersedes_the_version_in_force(
    agreements: AgreementRepository,
) -> None:
    _propose(agreements)
    agreements.set_status(AGREEMENT, 1, AgreementStatus.ACTIVE, now=NOW)
    _propose(agreements, version=2)
    latest = agreements.get(AGREEMENT)
    assert latest is not None
    assert latest.version == 2
    agreements.set_status(AGREEMENT, 2, AgreementStatus.ACTIVE, now=NOW)
    statuses = [(a.version, a.status) for a in agreements.find(peer_id=OAKLAND)]
    assert statuses == [(1, AgreementStatus.SUPERSEDED), (2, AgreementStatus.ACTIVE)]
    assert [a.version for a in agreements.find(status=AgreementStatus.ACTIVE)] == [2]
    assert agreements.find(peer_id=NodeId("sf-pd")) == []


def test_oprf_epoch_keys(agreements: AgreementRepository, session: Session) -> None:
    _propose(agreements)
    keys = OprfKeyRepository(session)
    for epoch in (10, 11, 12):
        keys.add(AGREEMENT, Epoch(epoch), secret=b"k%d" % epoch, public_key=b"P%d" % epoch, now=NOW)
    with pytest.raises(DuplicateError), session.begin_nested():
        keys.add(AGREEMENT, Epoch(10), secret=b"again", public_key=b"P", now=NOW)
    stored = keys.get(AGREEMENT, Epoch(10))
    assert stored is not None
    assert stored.secret == b"k10"
    assert stored.destroyed_at is None

    later = NOW + dt.timedelta(days=2)
    assert keys.destroy(AGREEMENT, before_epoch=Epoch(12), now=later) == [10, 11]
    assert keys.destroy(AGREEMENT, before_epoch=Epoch(12), now=later) == []
    after = keys.get(AGREEMENT, Epoch(10))
    assert after is not None
    assert after.secret is None
    assert after.public_key == b"P10"  # still verifiable against the ledger
    assert after.destroyed_at == later
    assert keys.destroy(AGREEMENT, now=later) == [12]  # revocation destroys the rest
    assert all(k.secret is None for k in keys.for_agreement(AGREEMENT))
    assert keys.get(AGREEMENT, Epoch(99)) is None
    with pytest.raises(ReferenceViolationError), session.begin_nested():
        keys.add(AgreementId("nope"), Epoch(1), secret=b"s", public_key=b"p", now=NOW)
