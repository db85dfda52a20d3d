"""Shared fixtures: two agencies with fixed keys and an agreement between them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from nacl.signing import SigningKey

from node.config import AgencyKind, Jurisdiction
from node.policy import (
    Agreement,
    AgreementId,
    CaseNumberRule,
    LabelDetail,
    NodeId,
    Party,
    QueryContext,
    QueryKind,
    RateLimit,
    SignedAgreement,
    sign_agreement,
)

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
T1 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

REQUESTER_KEY = SigningKey(bytes([1]) * 32)
RESPONDER_KEY = SigningKey(bytes([2]) * 32)
OTHER_KEY = SigningKey(bytes([3]) * 32)


def party(
    node_id: str,
    key: SigningKey,
    *,
    jurisdiction: str = "US-CA",
    kind: AgencyKind = AgencyKind.MUNICIPAL,
    ori: str | None = None,
    name: str | None = None,
) -> Party:
    state = jurisdiction.partition("-")[2] or "DC"
    return Party(
        node_id=NodeId(node_id),
        name=name or f"{node_id} police",
        ori=ori or f"{state[:2]}0010900",
        jurisdiction=Jurisdiction.parse(jurisdiction),
        kind=kind,
        signing_key=bytes(key.verify_key),
    )


def make_agreement(**changes: Any) -> Agreement:
    """An agreement from oakland-pd (requester) to sf-pd (responder), both in California."""
    base = Agreement(
        id=AgreementId("oak-sf-2025"),
        version=1,
        requester=party("oakland-pd", REQUESTER_KEY, ori="CA0010900"),
        responder=party("sf-pd", RESPONDER_KEY, ori="CA0380100"),
        query_kinds=frozenset({QueryKind.HIT_QUERY, QueryKind.INDEX_STREAM, QueryKind.ALERTS}),
        purposes=frozenset({"stolen-vehicle", "homicide", "amber-alert"}),
        case_number=CaseNumberRule(required=True, pattern=r"^[0-9]{2}-[0-9]{5}$"),
        window_days=30,
        label_detail=LabelDetail.DAY_AND_CITY,
        rate_limit=RateLimit(plates_per_day=5000, max_batch=1000),
        alert_categories=frozenset({"stolen-vehicle", "wanted-person"}),
        retention_days=90,
        onward_sharing_banned=True,
        confusable_folding=True,
        valid_from=T0,
        valid_until=T1,
    )
    return dataclasses.replace(base, **changes)


def fully_signed(agreement: Agreement) -> SignedAgreement:
    return SignedAgreement(
        agreement,
        (
            sign_agreement(agreement, agreement.requester.node_id, REQUESTER_KEY),
            sign_agreement(agreement, agreement.responder.node_id, RESPONDER_KEY),
        ),
    )


def make_query(agreement: Agreement, **changes: Any) -> QueryContext:
    base = QueryContext(
        agreement_id=agreement.id,
        requester=agreement.requester.node_id,
        user="u-7f3a",
        ori=agreement.requester.ori,
        purpose="stolen-vehicle",
        case_number="25-00123",
        window_days=7,
        batch_size=100,
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture
def agreement() -> Agreement:
    return make_agreement()


@pytest.fixture
def signed(agreement: Agreement) -> SignedAgreement:
    return fully_signed(agreement)
