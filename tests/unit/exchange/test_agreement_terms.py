"""The pure half of the agreement workflow: parties from pinned facts, checks, views."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt

import pytest
from nacl.signing import SigningKey

from node.config import AgencyKind, Jurisdiction, NodeConfig
from node.exchange.agreement_messages import RevocationNotice, revocation_from_wire
from node.exchange.agreement_terms import (
    AgreementTerms,
    AgreementView,
    build_agreement,
    check_admin,
    check_parties,
    check_reason,
    newest_per_agreement,
    own_party,
    parse_document,
    peer_party,
    start_of_day,
    view_of,
)
from node.exchange.errors import InvalidCommandError, PartyMismatchError
from node.ids import AgreementId, NodeId
from node.policy import LabelDetail, QueryKind, revoke_agreement
from node.policy.errors import InvalidAgreementError
from node.store.agreements import AgreementStatus, StoredAgreement
from node.store.peers import Peer

NOW = dt.datetime(2026, 3, 14, 15, 9, 26, tzinfo=dt.UTC)
KEY_A, KEY_B = SigningKey(bytes([7]) * 32), SigningKey(bytes([8]) * 32)


def config(tmp: str = "/nonexistent") -> NodeConfig:
    from pathlib import Path

    return NodeConfig(
        home=Path(tmp),
        name="alpha-pd",
        ori="CA0000001",
        jurisdiction=Jurisdiction.parse("US-CA"),
        kind=AgencyKind.MUNICIPAL,
        listen="127.0.0.1:7443",
        database_url="sqlite://",
        legal_profile="us-ca-sb34",
    )


def peer(**changes: object) -> Peer:
    base = Peer(
        node_id=NodeId("bravo-pd"),
        name="bravo-pd",
        ori="CA0000002",
        jurisdiction=Jurisdiction.parse("US-CA"),
        kind=AgencyKind.COUNTY,
        endpoint="127.0.0.1:7444",
        cert_sha256="0" * 64,
        cert_pem=b"",
        signing_key=bytes(KEY_B.verify_key),
        log_key=b"\x01" * 32,
        witness_key=b"\x02" * 32,
        sealing_key=b"\x03" * 32,
        active=True,
        added=NOW,
        updated=NOW,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def terms(**changes: object) -> AgreementTerms:
    base = AgreementTerms(
        agreement_id=AgreementId("ab-1"),
        peer=NodeId("bravo-pd"),
        purposes=frozenset({"stolen-vehicle"}),
        query_kinds=frozenset({QueryKind.HIT_QUERY}),
        window_days=30,
        label_detail=LabelDetail.HIT_ONLY,
        plates_per_day=100,
        max_batch=10,
        case_number_required=True,
        case_number_pattern=None,
        alert_categories=frozenset(),
        retention_days=30,
        onward_sharing_banned=True,
        confusable_folding=False,
        valid_from=None,
        valid_until=NOW + dt.timedelta(days=30),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_parties_come_from_config_and_pinned_card_and_valid_from_defaults_to_today() -> None:
    agreement = build_agreement(
        terms(), version=1, requester=own_party(config(), KEY_A), responder=peer_party(peer()),
        now=NOW,
    )  # fmt: skip
    assert agreement.requester.ori == "CA0000001"
    assert agreement.responder.kind is AgencyKind.COUNTY
    assert agreement.responder.signing_key == bytes(KEY_B.verify_key)
    assert agreement.valid_from == start_of_day(NOW) == dt.datetime(2026, 3, 14, tzinfo=dt.UTC)
    # The same terms on the same day make the same document: a retry is a repeat.
    again = build_agreement(
        terms(), version=1, requester=own_party(config(), KEY_A), responder=peer_party(peer()),
        now=NOW + dt.timedelta(hours=5),
    )  # fmt: skip
    assert again.canonical_bytes() == agreement.canonical_bytes()
    assert parse_document(agreement.canonical_bytes()) == agreement


def test_bad_terms_name_the_field() -> None:
    with pytest.raises(InvalidAgreementError, match=r"rate_limit\.max_batch"):
        build_agreement(
            terms(max_batch=1000), version=1, requester=own_party(config(), KEY_A),
            responder=peer_party(peer()), now=NOW,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("pinned", "field"),
    [
        ({"kind": AgencyKind.FEDERAL}, "kind"),
        ({"ori": "CA0000009"}, "ori"),
        ({"jurisdiction": Jurisdiction.parse("US-NV")}, "jurisdiction"),
        ({"signing_key": bytes(SigningKey(bytes([9]) * 32).verify_key)}, "signing_key"),
    ],
)
def test_a_party_described_otherwise_than_pinned_is_refused(
    pinned: dict[str, object], field: str
) -> None:
    agreement = build_agreement(
        terms(), version=1, requester=own_party(config(), KEY_A), responder=peer_party(peer()),
        now=NOW,
    )  # fmt: skip
    check_parties(agreement, requester=own_party(config(), KEY_A), responder=peer_party(peer()))
    with pytest.raises(PartyMismatchError, match=f"responder's {field} differ") as err:
        check_parties(
            agreement,
            requester=own_party(config(), KEY_A),
            responder=peer_party(peer(**pinned)),
        )
    assert "CA0000009" not in str(err.value)  # fields are named, values are not


def test_a_non_canonical_document_is_refused() -> None:
    agreement = build_agreement(
        terms(), version=1, requester=own_party(config(), KEY_A), responder=peer_party(peer()),
        now=NOW,
    )  # fmt: skip
    with pytest.raises(InvalidAgreementError, match="canonical"):
        parse_document(agreement.canonical_bytes() + b" ")


def test_revocation_travels_as_its_canonical_body_and_signature() -> None:
    agreement = build_agreement(
        terms(), version=1, requester=own_party(config(), KEY_A), responder=peer_party(peer()),
        now=NOW,
    )  # fmt: skip
    revocation = revoke_agreement(agreement, agreement.requester.node_id, KEY_A, NOW)
    notice = RevocationNotice.of(1, revocation)
    assert revocation_from_wire(notice.body, notice.signature) == revocation
    with pytest.raises(InvalidAgreementError):
        revocation_from_wire(notice.body.replace(b":", b": ", 1), notice.signature)
    with pytest.raises(InvalidAgreementError, match="signature"):
        revocation_from_wire(notice.body, notice.signature[:10])
    inner = notice.body[:-1] + b',"signature":"' + base64.b64encode(notice.signature) + b'"}'
    with pytest.raises(InvalidAgreementError):
        revocation_from_wire(inner, notice.signature)


@pytest.mark.parametrize("reason", ["terms", "case-closed", "profile:ca"])
def test_reason_codes(reason: str) -> None:
    assert check_reason(reason) == reason


@pytest.mark.parametrize("reason", ["", "two words", "x" * 65, "naïve"])
def test_bad_reason_codes_are_refused(reason: str) -> None:
    with pytest.raises(InvalidCommandError):
        check_reason(reason)


@pytest.mark.parametrize("admin", ["", "a\nb", "x" * 129])
def test_bad_admin_names_are_refused(admin: str) -> None:
    with pytest.raises(InvalidCommandError):
        check_admin(admin)


def stored(version: int, status: AgreementStatus, *, until: dt.datetime) -> StoredAgreement:
    return StoredAgreement(
        id=AgreementId("ab-1"), version=version, peer_id=NodeId("bravo-pd"), role="requester",
        document=b"{}", digest=bytes([version]) * 32, status=status, valid_from=NOW,
        valid_until=until, created=NOW, status_changed=NOW, signatures=(),
    )  # fmt: skip


def test_views_show_expiry_and_listing_keeps_the_newest_version() -> None:
    later = NOW + dt.timedelta(days=1)
    assert view_of(stored(1, AgreementStatus.ACTIVE, until=later), NOW).status == "active"
    assert view_of(stored(1, AgreementStatus.ACTIVE, until=NOW), NOW).status == "expired"
    assert view_of(stored(1, AgreementStatus.REVOKED, until=NOW), NOW).status == "revoked"
    views = [
        view_of(stored(v, AgreementStatus.PROPOSED, until=later), NOW, ledger_index=v)
        for v in (2, 1, 3)
    ]
    other = dataclasses.replace(views[0], agreement_id=AgreementId("aa-0"))
    newest = newest_per_agreement([*views, other])
    assert [(v.agreement_id, v.version) for v in newest] == [("aa-0", 2), ("ab-1", 3)]
    assert isinstance(newest[0], AgreementView)
