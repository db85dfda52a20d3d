"""Private hit queries between two real nodes over mutual TLS: hits, refusals, ledgers.

Santa Monica (requester) asks Culver City (responder) about plates under an agreement
both admins signed. Culver City indexes its reads under per-epoch VOPRF keys; the query
travels as blinded elements; hits decrypt only for plates that were asked.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crypto.entries import decode_entry
from node.app import NodeApp
from node.exchange.asking import QueryOutcome
from node.store.db import session_scope
from node.store.ledger import LedgerRepository
from tests.support.federation import NodeSpec, add_reads, agree, federation, index_all

NOW = dt.datetime.now(dt.UTC)
SEEN = ["7QRS482", "8ABC123", "7QRS482", "5XYZ999"]


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[NodeApp, NodeApp]]:
    specs = [NodeSpec("santa-monica-pd", "CA0194200"), NodeSpec("culver-city-pd", "CA0190500")]
    async with federation(tmp_path, specs) as (smpd, ccpd):
        add_reads(ccpd, SEEN, at=NOW - dt.timedelta(minutes=30))
        assert await index_all(ccpd, await agree(smpd, ccpd)) == len(SEEN)
        yield smpd, ccpd


def entries(app: NodeApp, entry_type: str) -> list[dict[str, object]]:
    with session_scope(app.sessions) as s:
        repo = LedgerRepository(s)
        size = repo.size(app.ledger.log_id)
        rows = repo.entries(app.ledger.log_id, 0, size)
    decoded = [decode_entry(r.entry) for r in rows]
    return [dict(e.fields) for e in decoded if e.type == entry_type]


async def ask(smpd: NodeApp, plates: list[str], **overrides: object) -> QueryOutcome:
    args: dict[str, object] = {
        "peers": ["culver-city-pd"],
        "plates": plates,
        "purpose": "stolen-vehicle",
        "case_number": "24-00123",
        "days": 7,
        "user": "officer-17",
    }
    args.update(overrides)
    return await smpd.queries.query_hits(**args)  # type: ignore[arg-type]


async def test_hits_only_for_plates_asked_with_the_agreed_detail(
    pair: tuple[NodeApp, NodeApp],
) -> None:
    smpd, ccpd = pair
    outcome = await ask(smpd, ["7qr-s482", "4NOPE00"])
    (answer,) = outcome.answers
    assert answer.outcome == "answered", answer
    assert answer.evaluated == 2
    assert len(outcome.hits) == 2  # both reads of the plate, nothing for the other
    assert {h.plate for h in outcome.hits} == {"7qr-s482"}
    detail = outcome.hits[0].detail
    assert set(detail) == {"day", "city", "time", "camera", "lat", "lon"}
    assert detail["camera"] == "Pier entrance"
    assert detail["city"].startswith("culver-city-pd")
    # Both ledgers pair the exchange on the same request id and commitment.
    sent, received = entries(smpd, "query.sent"), entries(ccpd, "query.received")
    assert len(sent) == len(received) == 1
    for field in ("request_id", "q_commit", "case_commit", "agreement_hash", "actor"):
        assert sent[0][field] == received[0][field]
    assert received[0]["decision"] == "allow"
    (answered,) = entries(smpd, "answer.received")
    (sent_answer,) = entries(ccpd, "answer.sent")
    assert answered["q_commit"] == sent_answer["q_commit"] == sent[0]["q_commit"]
    assert answered["hits"] == 2
    assert isinstance(answered["receipt_index"], int) and answered["receipt_index"] > 0


async def test_confusable_folding_meets_a_misread(pair: tuple[NodeApp, NodeApp]) -> None:
    smpd, _ = pair
    outcome = await ask(smpd, ["8A8C123", "5XY2999"])  # B/8 and Z/2 misread
    assert sorted(h.plate for h in outcome.hits) == ["5XY2999", "8A8C123"]


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        ({"purpose": "immigration"}, "agreement.purpose"),
        ({"days": 45}, "agreement.window"),
        ({"case_number": ""}, "agreement.case-number"),
    ],
)
async def test_refusals_name_the_rule_and_are_logged_as_refusals(
    pair: tuple[NodeApp, NodeApp], overrides: dict[str, object], rule: str
) -> None:
    smpd, ccpd = pair
    outcome = await ask(smpd, ["7QRS482"], **overrides)
    (answer,) = outcome.answers
    assert answer.outcome == "refused"
    assert rule in answer.rule_ids
    assert outcome.hits == ()
    (received,) = entries(ccpd, "query.received")
    assert received["decision"] == "deny" and rule in received["rule_ids"]  # type: ignore[operator]
    assert entries(ccpd, "answer.sent") == []
    assert entries(smpd, "answer.received") == []


async def test_a_peer_without_an_agreement_is_not_asked(tmp_path: Path) -> None:
    specs = [NodeSpec("santa-monica-pd", "CA0194200"), NodeSpec("culver-city-pd", "CA0190500")]
    async with federation(tmp_path, specs) as (smpd, ccpd):
        outcome = await ask(smpd, ["7QRS482"])
        (answer,) = outcome.answers
        assert answer.outcome == "refused" and answer.rule_ids == ("agreement.id",)
        assert entries(ccpd, "query.received") == []


async def test_a_peer_that_is_down_is_reported_and_nothing_is_invented(
    pair: tuple[NodeApp, NodeApp],
) -> None:
    smpd, ccpd = pair
    await ccpd.server.stop(grace=0)
    outcome = await ask(smpd, ["7QRS482"])
    (answer,) = outcome.answers
    assert answer.outcome == "unavailable"
    assert outcome.hits == ()


def crafted(smpd: NodeApp, elements: list[bytes], **overrides: object) -> tuple[bytes, bytes]:
    """A well-formed signed query body from smpd over ``elements`` (fields overridable)."""
    import os
    import uuid

    from crypto.sign import sign
    from node.exchange.hit_query import HIT_QUERY_DOMAIN, HitQueryBody, elements_digest
    from node.ids import AgreementId, NodeId, RequestId
    from node.sealed_reads import day_epoch

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    fields: dict[str, object] = {
        "request_id": RequestId(uuid.uuid4().hex),
        "requester": NodeId("santa-monica-pd"),
        "responder": NodeId("culver-city-pd"),
        "ori": "CA0194200",
        "agreement_id": AgreementId("smpd-ccpd-2026"),
        "agreement_version": 1,
        "purpose": "stolen-vehicle",
        "case_number": "24-00123",
        "user": "ab" * 32,
        "window_days": 1,
        "epochs": (day_epoch(now),),
        "batch_size": len(elements),
        "elements_sha256": elements_digest(elements),
        "salt": os.urandom(32),
        "time": now,
    }
    fields.update(overrides)
    body = HitQueryBody(**fields).encode()  # type: ignore[arg-type]
    return body, sign(smpd.keys.signing, HIT_QUERY_DOMAIN, body)


async def send(smpd: NodeApp, body: bytes, signature: bytes, elements: list[bytes]) -> object:
    from node.exchange.asking import PeerRefusal
    from node.rpc.exchange_client import GrpcExchangeTransport
    from node.store.peers import PeerRepository

    with session_scope(smpd.sessions) as s:
        peer = PeerRepository(s).get("culver-city-pd")  # type: ignore[arg-type]
    assert peer is not None
    try:
        return await GrpcExchangeTransport(smpd.peer_channel).evaluate_hits(
            peer, body, signature, elements
        )
    except PeerRefusal as e:
        return e


def blinded(n: int) -> list[bytes]:
    from crypto.oprf import blind

    return [blind(f"PLATE{i}".encode()).blinded_element for i in range(n)]


async def test_malformed_requests_are_refused_precisely_and_nothing_is_evaluated(
    pair: tuple[NodeApp, NodeApp],
) -> None:
    from node.exchange.asking import PeerRefusal

    smpd, ccpd = pair
    good = blinded(2)
    body, signature = crafted(smpd, good)
    cases: list[tuple[str, bytes, bytes, list[bytes], str]] = [
        ("bad signature", body, bytes(64), good, "INVALID_ARGUMENT"),
        ("not the committed batch", body, signature, blinded(2), "INVALID_ARGUMENT"),
        (
            "an invalid element",
            *crafted(smpd, [good[0], b"\xff" * 32]),
            [good[0], b"\xff" * 32],
            "INVALID_ARGUMENT",
        ),
        (
            "a stale query",
            *crafted(
                smpd,
                good,
                time=dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1),
            ),
            good,
            "ALREADY_EXISTS",
        ),
        ("an oversized batch", *crafted(smpd, good), good * 5001, "RESOURCE_EXHAUSTED"),
        ("garbage body", b"{not json", signature, good, "INVALID_ARGUMENT"),
    ]
    for what, b, sig, elements, code in cases:
        result = await send(smpd, b, sig, elements)
        assert isinstance(result, PeerRefusal), what
        assert result.code == code, (what, result)
    # The genuine query goes through once; the same signed bytes again are a replay.
    first = await send(smpd, body, signature, good)
    assert not isinstance(first, PeerRefusal), first
    replay = await send(smpd, body, signature, good)
    assert isinstance(replay, PeerRefusal) and replay.code == "ALREADY_EXISTS"
    decisions = [e["decision"] for e in entries(ccpd, "query.received")]
    assert decisions.count("allow") == 1
    assert len(entries(ccpd, "answer.sent")) == 1
    refusals = [e for e in entries(ccpd, "admin.action") if e["action"] == "query.refused"]
    assert len(refusals) == 2  # the oversized batch and the garbage body did not parse


async def test_the_daily_rate_and_the_validity_are_enforced(tmp_path: Path) -> None:
    specs = [NodeSpec("santa-monica-pd", "CA0194200"), NodeSpec("culver-city-pd", "CA0190500")]
    async with federation(tmp_path, specs) as (smpd, ccpd):
        add_reads(ccpd, SEEN, at=NOW - dt.timedelta(minutes=30))
        soon = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=3)
        await agree(smpd, ccpd, plates_per_day=3, max_batch=3, valid_until=soon)
        first = await ask(smpd, ["7QRS482", "8ABC123"])
        assert first.answers[0].outcome == "answered"
        over = await ask(smpd, ["7QRS482", "8ABC123"])
        assert over.answers[0].outcome == "refused"
        assert "agreement.rate-limit" in over.answers[0].rule_ids
        await asyncio.sleep((soon - dt.datetime.now(dt.UTC)).total_seconds() + 1)
        late = await ask(smpd, ["7QRS482"])
        assert late.answers[0].outcome == "refused"
        assert "agreement.expired" in late.answers[0].rule_ids
        decisions = [(e["decision"], e["rule_ids"]) for e in entries(ccpd, "query.received")]
        assert decisions[0][0] == "allow"
        assert "agreement.rate-limit" in decisions[1][1]  # type: ignore[operator]
        assert len(entries(ccpd, "answer.sent")) == 1


async def test_epochs_whose_keys_are_destroyed_answer_nothing_and_verify(
    tmp_path: Path,
) -> None:
    """An answer with no live epoch carries no proof to check: answered, no hits."""
    from node.store.agreements import OprfKeyRepository

    specs = [NodeSpec("santa-monica-pd", "CA0194200"), NodeSpec("culver-city-pd", "CA0190500")]
    async with federation(tmp_path, specs) as (smpd, ccpd):
        add_reads(ccpd, SEEN, at=NOW - dt.timedelta(minutes=30))
        agreement_id = await agree(smpd, ccpd)
        assert await index_all(ccpd, agreement_id) == len(SEEN)
        assert len((await ask(smpd, ["7QRS482"], days=1)).hits) == 2
        with session_scope(ccpd.sessions) as s:
            assert OprfKeyRepository(s).destroy(agreement_id, now=dt.datetime.now(dt.UTC))
        outcome = await ask(smpd, ["7QRS482"], days=1)
        (answer,) = outcome.answers
        assert answer.outcome == "answered", answer
        assert outcome.hits == ()
        (_, last) = entries(smpd, "answer.received")
        assert last["hits"] == 0
