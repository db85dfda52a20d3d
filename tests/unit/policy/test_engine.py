"""Policy decisions: agreement rules and legal-profile rules, each reported by its id."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.resources
from typing import Any

import pytest

from node.config import AgencyKind
from node.policy import (
    AGREEMENT_RULES,
    DEFAULT_DENY,
    Agreement,
    AgreementId,
    CaseNumberRule,
    LegalProfile,
    NodeId,
    PolicyEngine,
    QueryKind,
    ShareContext,
    SignedAgreement,
    revoke_agreement,
    sign_agreement,
)
from node.policy.errors import AgreementSignatureError, InvalidQueryError, PolicyDeniedError
from node.policy.profile import BASELINE_FILE

from .conftest import (
    NOW,
    REQUESTER_KEY,
    RESPONDER_KEY,
    T0,
    T1,
    fully_signed,
    make_agreement,
    make_query,
    party,
)

CA = PolicyEngine("us-ca-sb34")
IL = PolicyEngine("us-il-2-130")
BASE = PolicyEngine("baseline")


def requester(**kw: Any) -> dict[str, Any]:
    return {"requester": party("them", REQUESTER_KEY, **kw)}


def il_responder() -> dict[str, Any]:
    return {"responder": party("chicago-pd", RESPONDER_KEY, jurisdiction="US-IL", ori="IL0162500")}


def share(agreement: Agreement, **changes: Any) -> ShareContext:
    base = ShareContext(
        agreement_id=agreement.id,
        requester=agreement.requester.node_id,
        ori=agreement.requester.ori,
        kind=QueryKind.ALERTS,
        categories=frozenset({"stolen-vehicle"}),
    )
    return dataclasses.replace(base, **changes)


# -- the baseline permits ------------------------------------------------------------------


@pytest.mark.parametrize("engine", [BASE, CA], ids=["baseline", "ca"])
def test_baseline_permits_a_matching_agreement_query_and_share(engine: PolicyEngine) -> None:
    agreement = make_agreement()
    signed = fully_signed(agreement)
    for local in ("oakland-pd", "sf-pd"):
        decision = engine.check_agreement(agreement, local, NOW)
        assert decision.allowed
        assert decision.rule_ids == ("baseline-sign-agreement",)
    decision = engine.check_query(signed, make_query(agreement), NOW, used_today=0)
    assert decision.allowed
    assert decision.rule_ids == ("baseline-honour-query",)
    assert decision.reasons
    assert "Accord architecture" in decision.reasons[0]
    decision = engine.check_share(signed, share(agreement), NOW)
    assert decision.allowed
    assert decision.rule_ids == ("baseline-share-alert",)
    plain = share(agreement, kind=QueryKind.INDEX_STREAM, categories=frozenset())
    assert engine.check_share(signed, plain, NOW).allowed


def test_baseline_profile_allows_what_california_forbids() -> None:
    federal = make_agreement(**requester(jurisdiction="US", kind=AgencyKind.FEDERAL))
    assert BASE.check_agreement(federal, "sf-pd", NOW).allowed
    assert not CA.check_agreement(federal, "sf-pd", NOW).allowed


# -- California SB 34 ----------------------------------------------------------------------


def test_ca_federal_recipient_refused() -> None:
    fbi_in_ca = make_agreement(**requester(jurisdiction="US-CA", kind=AgencyKind.FEDERAL))
    decision = CA.check_agreement(fbi_in_ca, "sf-pd", NOW)
    assert not decision.allowed
    assert decision.rule_ids == ("ca-sb34-no-federal",)
    assert "1798.90.55" in decision.reasons[0]
    national = make_agreement(**requester(jurisdiction="US", kind=AgencyKind.FEDERAL))
    decision = CA.check_agreement(national, "sf-pd", NOW)
    assert set(decision.rule_ids) == {"ca-sb34-no-federal", "ca-sb34-in-state-only"}


def test_ca_out_of_state_recipient_refused() -> None:
    reno = make_agreement(**requester(jurisdiction="US-NV"))
    decision = CA.check_agreement(reno, "sf-pd", NOW)
    assert decision.rule_ids == ("ca-sb34-in-state-only",)
    signed = fully_signed(reno)
    decision = CA.check_query(signed, make_query(reno), NOW, used_today=0)
    assert decision.rule_ids == ("ca-sb34-in-state-only",)
    assert CA.check_share(signed, share(reno), NOW).rule_ids == ("ca-sb34-in-state-only",)


@pytest.mark.parametrize("kind", [AgencyKind.PRIVATE, AgencyKind.TRIBAL])
def test_ca_non_public_recipient_refused(kind: AgencyKind) -> None:
    agreement = make_agreement(**requester(jurisdiction="US-CA", kind=kind))
    decision = CA.check_agreement(agreement, "sf-pd", NOW)
    assert decision.rule_ids == ("ca-sb34-public-agencies-only",)


def test_ca_query_for_an_out_of_state_ori_refused() -> None:
    # Onward sharing allowed by the agreement, but the ORI asked for is in Nevada.
    agreement = make_agreement(onward_sharing_banned=False)
    query = make_query(agreement, ori="NV0020000")
    decision = CA.check_query(fully_signed(agreement), query, NOW, used_today=0)
    assert decision.rule_ids == ("ca-sb34-in-state-only",)
    assert BASE.check_query(fully_signed(agreement), query, NOW, used_today=0).allowed


def test_ca_node_may_receive_from_out_of_state() -> None:
    # SB 34 restricts what a California agency shares, not what it receives.
    agreement = make_agreement(
        requester=party("sf-pd", REQUESTER_KEY, ori="CA0380100"),
        responder=party("reno-pd", RESPONDER_KEY, jurisdiction="US-NV", kind=AgencyKind.COUNTY),
    )
    assert CA.check_agreement(agreement, "sf-pd", NOW).allowed


# -- Illinois 625 ILCS 5/2-130 -------------------------------------------------------------


def test_il_immigration_purpose_refused() -> None:
    agreement = make_agreement(
        purposes=frozenset({"stolen-vehicle", "immigration-enforcement"}),
        **requester(jurisdiction="US-IL", ori="IL0160000"),
        **il_responder(),
    )
    decision = IL.check_agreement(agreement, "chicago-pd", NOW)
    assert decision.rule_ids == ("il-2-130-no-immigration-enforcement",)
    # An agreement signed before the rule applied still cannot be used for that purpose,
    # and even a declaration does not lift it.
    signed = fully_signed(agreement)
    query = make_query(agreement, purpose="immigration-enforcement")
    decision = IL.check_query(signed, query, NOW, used_today=0, declarations=frozenset({query.ori}))
    assert decision.rule_ids == ("il-2-130-no-immigration-enforcement",)
    assert IL.check_query(signed, make_query(agreement), NOW, used_today=0).allowed


def test_il_immigration_alert_category_refused() -> None:
    agreement = make_agreement(
        alert_categories=frozenset({"stolen-vehicle", "immigration-violator"}),
        **requester(jurisdiction="US-IL", ori="IL0160000"),
        **il_responder(),
    )
    signed = fully_signed(agreement)
    decision = IL.check_share(
        signed, share(agreement, categories=frozenset({"immigration-violator"})), NOW
    )
    assert decision.rule_ids == ("il-2-130-no-immigration-enforcement",)
    assert IL.check_share(signed, share(agreement), NOW).allowed


def test_il_reproductive_care_purpose_refused() -> None:
    agreement = make_agreement(
        purposes=frozenset({"abortion"}),
        **requester(jurisdiction="US-IL", ori="IL0160000"),
        **il_responder(),
    )
    decision = IL.check_agreement(agreement, "chicago-pd", NOW)
    assert decision.rule_ids == ("il-2-130-no-reproductive-care",)


def test_il_out_of_state_needs_a_declaration() -> None:
    agreement = make_agreement(**requester(jurisdiction="US-IN", ori="IN0490000"), **il_responder())
    decision = IL.check_agreement(agreement, "chicago-pd", NOW)
    assert decision.rule_ids == ("il-2-130-declaration-required",)
    with_declaration = frozenset({"IN0490000"})
    decision = IL.check_agreement(agreement, "chicago-pd", NOW, declarations=with_declaration)
    assert decision.allowed
    assert decision.rule_ids == ("baseline-sign-agreement",)

    signed = fully_signed(agreement)
    query = make_query(agreement)
    decision = IL.check_query(signed, query, NOW, used_today=0)
    assert decision.rule_ids == ("il-2-130-declaration-required",)
    decision = IL.check_query(signed, query, NOW, used_today=0, declarations=with_declaration)
    assert decision.allowed


def test_il_in_state_needs_no_declaration() -> None:
    agreement = make_agreement(**requester(jurisdiction="US-IL", ori="IL0160000"), **il_responder())
    assert IL.check_agreement(agreement, "chicago-pd", NOW).allowed


def test_il_rules_do_not_bind_an_illinois_requester() -> None:
    agreement = make_agreement(
        purposes=frozenset({"immigration-enforcement"}),
        requester=party("chicago-pd", REQUESTER_KEY, jurisdiction="US-IL", ori="IL0162500"),
        responder=party("gary-pd", RESPONDER_KEY, jurisdiction="US-IN", ori="IN0450000"),
    )
    assert IL.check_agreement(agreement, "chicago-pd", NOW).allowed


# -- deny by default -----------------------------------------------------------------------


def test_deny_by_default() -> None:
    only_signing = (
        '@id("sign-only")\n@reason("r")\n@citation("c")\n'
        'permit (principal, action == Accord::Action::"SignAgreement", resource);'
    )
    engine = PolicyEngine(LegalProfile("sign-only", [only_signing]))
    agreement = make_agreement()
    assert engine.check_agreement(agreement, "sf-pd", NOW).allowed
    decision = engine.check_query(fully_signed(agreement), make_query(agreement), NOW, used_today=0)
    assert not decision.allowed
    assert decision.rule_ids == (DEFAULT_DENY,)
    assert "sign-only" in decision.reasons[0]


def test_profile_forbid_overrides_a_broad_permit() -> None:
    permit_all = (
        '@id("anything")\n@reason("r")\n@citation("c")\npermit (principal, action, resource);'
    )
    packaged = importlib.resources.files("node.policy.profiles")
    texts = [
        packaged.joinpath(f).read_text(encoding="utf-8")
        for f in (BASELINE_FILE, "us-ca-sb34.cedar")
    ]
    engine = PolicyEngine(LegalProfile("ca-plus", [*texts, permit_all]))
    federal = make_agreement(**requester(jurisdiction="US-CA", kind=AgencyKind.FEDERAL))
    decision = engine.check_agreement(federal, "sf-pd", NOW)
    assert decision.rule_ids == ("ca-sb34-no-federal",)


# -- the agreement's own rules -------------------------------------------------------------


@pytest.mark.parametrize(
    ("query_changes", "used_today", "rule_id"),
    [
        ({"purpose": "traffic"}, 0, "agreement.purpose"),
        ({"window_days": 31}, 0, "agreement.window"),
        ({"case_number": ""}, 0, "agreement.case-number"),
        ({"case_number": "2400123"}, 0, "agreement.case-number"),
        ({"batch_size": 1001}, 0, "agreement.batch-size"),
        ({"batch_size": 1000}, 4001, "agreement.rate-limit"),
        ({"agreement_id": AgreementId("other")}, 0, "agreement.id"),
        ({"requester": NodeId("sf-pd")}, 0, "agreement.party"),
        ({"ori": "CA0010999"}, 0, "agreement.onward-sharing"),
    ],
)
def test_agreement_rules_refuse_queries(
    query_changes: dict[str, Any], used_today: int, rule_id: str
) -> None:
    assert rule_id in AGREEMENT_RULES
    agreement = make_agreement()
    query = make_query(agreement, **query_changes)
    for engine in (BASE, CA):
        decision = engine.check_query(fully_signed(agreement), query, NOW, used_today=used_today)
        assert not decision.allowed
        assert decision.rule_ids[0] == rule_id
        assert rule_id not in decision.rule_ids[1:]


def test_limits_are_inclusive() -> None:
    agreement = make_agreement()
    signed = fully_signed(agreement)
    at_limit = make_query(agreement, window_days=30, batch_size=1000)
    assert BASE.check_query(signed, at_limit, NOW, used_today=4000).allowed


def test_case_number_optional_when_the_agreement_says_so() -> None:
    agreement = make_agreement(case_number=CaseNumberRule(required=False, pattern=None))
    query = make_query(agreement, case_number="")
    assert BASE.check_query(fully_signed(agreement), query, NOW, used_today=0).allowed


def test_onward_sharing_when_allowed() -> None:
    agreement = make_agreement(onward_sharing_banned=False)
    query = make_query(agreement, ori="CA0010999")
    assert CA.check_query(fully_signed(agreement), query, NOW, used_today=0).allowed


def test_hit_queries_need_the_query_kind() -> None:
    agreement = make_agreement(
        query_kinds=frozenset({QueryKind.INDEX_STREAM, QueryKind.ALERTS}),
    )
    decision = BASE.check_query(fully_signed(agreement), make_query(agreement), NOW, used_today=0)
    assert decision.rule_ids == ("agreement.query-kind",)


@pytest.mark.parametrize(
    ("when", "signatures", "rule_id"),
    [
        (NOW, 1, "agreement.unsigned"),
        (T0 - dt.timedelta(days=1), 2, "agreement.not-yet-valid"),
        (T1, 2, "agreement.expired"),
    ],
)
def test_only_active_agreements_are_honoured(
    when: dt.datetime, signatures: int, rule_id: str
) -> None:
    agreement = make_agreement()
    sigs = fully_signed(agreement).signatures[:signatures]
    signed = SignedAgreement(agreement, sigs)
    decision = BASE.check_query(signed, make_query(agreement), when, used_today=0)
    assert decision.rule_ids == (rule_id,)
    assert BASE.check_share(signed, share(agreement), when).rule_ids == (rule_id,)


def test_revoked_agreement_refused(signed: SignedAgreement) -> None:
    revoked = signed.with_revocation(
        revoke_agreement(signed.agreement, NodeId("oakland-pd"), REQUESTER_KEY, NOW)
    )
    decision = BASE.check_query(revoked, make_query(signed.agreement), NOW, used_today=0)
    assert decision.rule_ids == ("agreement.revoked",)


def test_signing_checks(agreement: Agreement) -> None:
    decision = BASE.check_agreement(agreement, "la-pd", NOW)
    assert decision.rule_ids == ("agreement.party",)
    decision = BASE.check_agreement(agreement, "sf-pd", T1)
    assert decision.rule_ids == ("agreement.expired",)


def test_share_rules(signed: SignedAgreement) -> None:
    agreement = signed.agreement
    outside = share(agreement, categories=frozenset({"gang-member"}))
    assert BASE.check_share(signed, outside, NOW).rule_ids == ("agreement.alert-category",)
    no_alerts = make_agreement(
        query_kinds=frozenset({QueryKind.HIT_QUERY}), alert_categories=frozenset()
    )
    decision = BASE.check_share(fully_signed(no_alerts), share(no_alerts), NOW)
    assert decision.rule_ids[0] == "agreement.query-kind"
    assert "agreement.alert-category" in decision.rule_ids


def test_agreement_and_profile_rules_are_reported_together() -> None:
    national = make_agreement(**requester(jurisdiction="US-CA", kind=AgencyKind.FEDERAL))
    query = make_query(national, purpose="traffic", window_days=60)
    decision = CA.check_query(fully_signed(national), query, NOW, used_today=0)
    assert decision.rule_ids == ("agreement.purpose", "agreement.window", "ca-sb34-no-federal")
    assert len(decision.reasons) == 3


# -- the request itself --------------------------------------------------------------------


@pytest.mark.parametrize("field", ["case_number", "purpose", "ori", "user", "window_days"])
def test_missing_fields_refused_before_evaluation(
    field: str, signed: SignedAgreement, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_evaluation(*args: object) -> None:
        raise AssertionError("Cedar must not be asked about a malformed request")

    engine = PolicyEngine("us-ca-sb34")
    monkeypatch.setattr(engine.profile, "evaluate", no_evaluation)
    raw = make_query(signed.agreement).to_json()
    del raw[field]
    with pytest.raises(InvalidQueryError) as info:
        engine.check_query(signed, raw, NOW, used_today=0)
    assert info.value.field == field


def test_raw_queries_are_parsed_strictly(signed: SignedAgreement) -> None:
    raw = make_query(signed.agreement).to_json()
    assert CA.check_query(signed, raw, NOW, used_today=0).allowed
    for field, value in (("window_days", "7"), ("batch_size", True), ("purpose", "Traffic")):
        bad = dict(raw, **{field: value})
        with pytest.raises(InvalidQueryError) as info:
            CA.check_query(signed, bad, NOW, used_today=0)
        assert info.value.field == field
    with pytest.raises(InvalidQueryError, match="unknown"):
        CA.check_query(signed, dict(raw, plates=["ABC123"]), NOW, used_today=0)


def test_raw_share_parsed_strictly(signed: SignedAgreement) -> None:
    raw = share(signed.agreement).to_json()
    assert CA.check_share(signed, raw, NOW).allowed
    with pytest.raises(InvalidQueryError):
        CA.check_share(signed, dict(raw, kind="hit_query"), NOW)
    with pytest.raises(InvalidQueryError):
        CA.check_share(signed, dict(raw, categories=[]), NOW)


def test_clock_and_counter_are_checked(signed: SignedAgreement) -> None:
    query = make_query(signed.agreement)
    with pytest.raises(ValueError, match="timezone-aware"):
        CA.check_query(signed, query, dt.datetime(2025, 6, 1), used_today=0)
    with pytest.raises(ValueError, match="used_today"):
        CA.check_query(signed, query, NOW, used_today=-1)


# -- decisions -----------------------------------------------------------------------------


def test_require_variants(signed: SignedAgreement) -> None:
    agreement = signed.agreement
    assert CA.require_query(signed, make_query(agreement), NOW, used_today=0).allowed
    assert CA.require_agreement(agreement, "sf-pd", NOW).allowed
    assert CA.require_share(signed, share(agreement), NOW).allowed
    with pytest.raises(PolicyDeniedError) as info:
        CA.require_query(signed, make_query(agreement, purpose="traffic"), NOW, used_today=0)
    assert info.value.rule_ids == ("agreement.purpose",)
    assert "traffic" in info.value.reason
    reno = make_agreement(**requester(jurisdiction="US-NV"))
    with pytest.raises(PolicyDeniedError) as info:
        CA.require_agreement(reno, "sf-pd", NOW)
    assert info.value.rule_ids == ("ca-sb34-in-state-only",)
    with pytest.raises(PolicyDeniedError):
        CA.require_share(fully_signed(reno), share(reno), NOW)


def test_decision_for_the_ledger(signed: SignedAgreement) -> None:
    query = make_query(signed.agreement, window_days=99)
    decision = CA.check_query(signed, query, NOW, used_today=0)
    assert decision.to_json() == {
        "action": "HonourQuery",
        "allowed": False,
        "profile": "us-ca-sb34",
        "rules": ["agreement.window"],
    }


def test_signature_made_by_other_agreement_is_not_accepted(agreement: Agreement) -> None:
    other = make_agreement(version=2)
    stolen = sign_agreement(other, other.responder.node_id, RESPONDER_KEY)
    with pytest.raises(AgreementSignatureError, match="invalid signature"):
        SignedAgreement(agreement, (stolen,))
