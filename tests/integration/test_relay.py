"""Exchanges through the broker's relay behave exactly like direct ones, and the broker
learns nothing it could use.

A federation of three real nodes and a real broker on 127.0.0.1 with TLS: Santa Monica
(direct), Culver City (relay-only: listed without an endpoint, its own server stopped,
reachable only through its outbound stream to the broker) and Los Angeles (direct).
Santa Monica asks both neighbours the same questions about the same reads; the answers,
refusals and ledgers must agree.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import grpc
import grpc.aio
import pytest

from crypto.entries import decode_entry
from crypto.envelope import ENVELOPE_ID_SIZE, seal_envelope
from node.app import NodeApp
from node.exchange.asking import QueryOutcome
from node.relay.link import RelayLink
from node.relay.wire import envelope_from_proto, envelope_to_proto
from node.rpc.exchange_client import GrpcExchangeTransport
from node.store.db import session_scope
from node.store.ledger import LedgerRepository
from node.store.peers import Peer, PeerRepository
from tests.integration.test_exchange_privacy import spellings
from tests.support.federation import NodeSpec, add_reads, agree, index_all
from tests.support.relay import RelayFederation, relay_federation

SMPD = NodeSpec("santa-monica-pd", "CA0194200")
CCPD = NodeSpec("culver-city-pd", "CA0190500")
LAPD = NodeSpec("los-angeles-pd", "CA0194900")
SEEN = ["7QRS482", "8ABC123", "7QRS482", "5XYZ999"]
ASKED_ONLY = ["4NOPE00"]
NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
async def fed(tmp_path: Path) -> AsyncIterator[RelayFederation]:
    async with relay_federation(tmp_path, [SMPD, CCPD, LAPD], relay_only={CCPD.name}) as fed:
        smpd, ccpd, lapd = (fed.node(s.name) for s in (SMPD, CCPD, LAPD))
        for responder, agreement_id in ((ccpd, "smpd-ccpd-2026"), (lapd, "smpd-lapd-2026")):
            add_reads(responder, SEEN, at=NOW - dt.timedelta(minutes=30))
            agreed = await agree(smpd, responder, agreement_id=agreement_id)
            assert await index_all(responder, agreed) == len(SEEN)
        yield fed


def link_of(node: NodeApp) -> RelayLink:
    assert node.relay is not None
    assert node.relay.link is not None
    return node.relay.link


def peer(node: NodeApp, name: str) -> Peer:
    with session_scope(node.sessions) as s:
        found = PeerRepository(s).get(name)  # type: ignore[arg-type]
    assert found is not None
    return found


def entries(app: NodeApp, entry_type: str) -> list[dict[str, object]]:
    with session_scope(app.sessions) as s:
        repo = LedgerRepository(s)
        rows = repo.entries(app.ledger.log_id, 0, repo.size(app.ledger.log_id))
    decoded = [decode_entry(r.entry) for r in rows]
    return [dict(e.fields) for e in decoded if e.type == entry_type]


async def ask(
    smpd: NodeApp, peer_name: str, plates: list[str], **overrides: object
) -> QueryOutcome:
    args: dict[str, object] = {
        "peers": [peer_name],
        "plates": plates,
        "purpose": "stolen-vehicle",
        "case_number": "24-00123",
        "days": 7,
        "user": "officer-17",
    }
    args.update(overrides)
    return await smpd.queries.query_hits(**args)  # type: ignore[arg-type]


async def until(condition: Callable[[], bool]) -> None:
    """Wait for ``condition`` (bounded; the bound is a hang guard, not an assertion)."""
    async with asyncio.timeout(30):
        while True:
            if condition():
                return
            await asyncio.sleep(0.02)


def comparable(outcome: QueryOutcome) -> tuple[object, ...]:
    hits = sorted((h.plate, tuple(sorted(h.detail))) for h in outcome.hits)
    answers = [(a.outcome, a.rule_ids, a.evaluated) for a in outcome.answers]
    return hits, answers


async def test_a_relayed_exchange_has_the_outcome_of_a_direct_one(fed: RelayFederation) -> None:
    smpd, ccpd, lapd = (fed.node(s.name) for s in (SMPD, CCPD, LAPD))
    assert smpd.relay is not None
    assert smpd.relay.routes_through_relay(peer(smpd, CCPD.name))
    assert not smpd.relay.routes_through_relay(peer(smpd, LAPD.name))
    answered_before = link_of(ccpd).answered  # the proposal already came through the relay

    relayed = await ask(smpd, CCPD.name, ["7qr-s482", *ASKED_ONLY])
    direct = await ask(smpd, LAPD.name, ["7qr-s482", *ASKED_ONLY])
    assert relayed.answers[0].outcome == "answered", relayed.answers
    assert comparable(relayed) == comparable(direct)
    assert {h.plate for h in relayed.hits} == {"7qr-s482"} and len(relayed.hits) == 2
    assert link_of(ccpd).answered > answered_before

    refused_relayed = await ask(smpd, CCPD.name, ["7QRS482"], purpose="immigration")
    refused_direct = await ask(smpd, LAPD.name, ["7QRS482"], purpose="immigration")
    assert refused_relayed.answers[0].outcome == "refused"
    assert "agreement.purpose" in refused_relayed.answers[0].rule_ids  # rule ids travel
    assert comparable(refused_relayed) == comparable(refused_direct)

    # Both ledgers pair the relayed exchange as they pair a direct one.
    sent = {e["q_commit"] for e in entries(smpd, "query.sent")}
    for responder in (ccpd, lapd):
        received, denied = entries(responder, "query.received")
        assert received["decision"] == "allow"
        assert denied["decision"] == "deny"
        assert {received["q_commit"], denied["q_commit"]} <= sent
    (answered_relayed, answered_direct) = entries(smpd, "answer.received")
    assert answered_relayed["hits"] == answered_direct["hits"] == 2


async def test_the_index_stream_comes_through_the_relay(fed: RelayFederation) -> None:
    smpd = fed.node(SMPD.name)
    transport = GrpcExchangeTransport(smpd.peer_channel)
    records = []
    async for batch in transport.stream_index(peer(smpd, CCPD.name), "smpd-ccpd-2026", 0):  # type: ignore[arg-type]
        records.extend(batch)
    fetched, _, complete = await transport.fetch_index(
        peer(smpd, CCPD.name),
        "smpd-ccpd-2026",  # type: ignore[arg-type]
        0,
        100,
    )
    assert complete
    assert len(records) == len(SEEN)
    assert records == fetched


async def test_broker_down_then_back(fed: RelayFederation) -> None:
    smpd, ccpd = fed.node(SMPD.name), fed.node(CCPD.name)
    assert fed.relay_broker is not None
    await fed.relay_broker.stop()
    down = await ask(smpd, CCPD.name, ["7QRS482"])
    (answer,) = down.answers
    assert answer.outcome == "unavailable"
    assert "reachable only through the relay" in answer.message
    assert "broker" in answer.message and "unreachable" in answer.message
    # Direct exchanges are unaffected.
    direct = await ask(smpd, LAPD.name, ["7QRS482"])
    assert direct.answers[0].outcome == "answered" and len(direct.hits) == 2

    await fed.relay_broker.restart()
    await asyncio.wait_for(link_of(ccpd).connected.wait(), 30)
    assert link_of(ccpd).sessions == 2
    back = await ask(smpd, CCPD.name, ["7QRS482"])
    assert back.answers[0].outcome == "answered", back.answers
    assert len(back.hits) == 2


async def test_a_forged_envelope_is_refused(fed: RelayFederation) -> None:
    """A broker (or anyone on its path) cannot speak for a member: an envelope claiming to
    be Santa Monica's but signed by another key is refused, by the relay and by the node."""
    smpd, ccpd, lapd = (fed.node(s.name) for s in (SMPD, CCPD, LAPD))
    await ask(smpd, CCPD.name, ["7QRS482"])
    genuine = envelope_from_proto(fed.relay.requests[-1].envelope)
    forged = seal_envelope(
        genuine_payload_stand_in(),
        sender=SMPD.name,  # claims to be Santa Monica, signed with Los Angeles's key
        sender_key=lapd.keys.signing,
        recipient=CCPD.name,
        recipient_public=peer(smpd, CCPD.name).sealing_key,
        envelope_id=os.urandom(ENVELOPE_ID_SIZE),
        now_ms=time.time_ns() // 1_000_000,
    )
    resigned = dataclasses.replace(genuine, signature=forged.signature)
    link = link_of(ccpd)
    refused_before = link.refused
    received_before = len(entries(ccpd, "query.received"))
    # A malicious broker pushes it down the stream itself.
    ccpd_link = fed.relay.routes.link_of(CCPD.name)
    assert ccpd_link is not None
    ccpd_link.outbox.put_nowait(forged)
    ccpd_link.outbox.put_nowait(resigned)
    await until(lambda: link.refused >= refused_before + 2)
    assert len(entries(ccpd, "query.received")) == received_before
    # Through Forward, the relay itself refuses an envelope its caller did not sign.
    from accord.v1 import broker_pb2, broker_pb2_grpc

    assert smpd.relay is not None
    stub = broker_pb2_grpc.RelayServiceStub(smpd.relay.channel)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Forward(broker_pb2.ForwardRequest(envelope=envelope_to_proto(forged)))
    assert raised.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert raised.value.details() == f"the envelope is not signed by {SMPD.name}"


async def test_a_replayed_envelope_is_refused(fed: RelayFederation) -> None:
    smpd, ccpd = fed.node(SMPD.name), fed.node(CCPD.name)
    first = await ask(smpd, CCPD.name, ["7QRS482"])
    assert first.answers[0].outcome == "answered"
    captured = envelope_from_proto(fed.relay.requests[-1].envelope)
    link = link_of(ccpd)
    refused_before = link.refused
    received_before = len(entries(ccpd, "query.received"))
    ccpd_link = fed.relay.routes.link_of(CCPD.name)
    assert ccpd_link is not None
    ccpd_link.outbox.put_nowait(captured)
    await until(lambda: link.refused > refused_before)
    assert len(entries(ccpd, "query.received")) == received_before


def genuine_payload_stand_in() -> bytes:
    """What a forger would send: a well-formed call it made up."""
    from node.relay.wire import encode_call

    return encode_call("/accord.v1.ExchangeService/FetchIndex", b"")


async def test_the_broker_never_holds_or_forwards_a_plate(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with relay_federation(tmp_path, [SMPD, CCPD], relay_only={CCPD.name}) as fed:
        smpd, ccpd = fed.node(SMPD.name), fed.node(CCPD.name)
        add_reads(ccpd, SEEN, at=NOW - dt.timedelta(minutes=5))
        await agree(smpd, ccpd)
        await ccpd.indexer.run_once()
        found = await ask(smpd, CCPD.name, [SEEN[0], *ASKED_ONLY], days=3)
        refused = await ask(smpd, CCPD.name, [SEEN[1]], purpose="immigration", days=3)
        assert {h.plate for h in found.hits} == {SEEN[0]}
        assert refused.answers[0].outcome == "refused"
        broker_files = [p.read_bytes() for p in sorted(fed.broker.home.rglob("*")) if p.is_file()]
        haystacks = {
            "relay traffic": fed.relay.frames,
            "relay state": fed.relay.held,
            "broker files": broker_files,
            "logs": [r.getMessage().encode() for r in caplog.records],
        }
        assert fed.relay.requests, "nothing went through the relay: the test proves nothing"
        assert link_of(ccpd).answered >= 4  # agreement, index, hits, refusal
    needles = {p: spellings(p) for p in SEEN + ASKED_ONLY}
    for where, items in haystacks.items():
        blob = b"\x00".join(items)
        for plate, forms in needles.items():
            leaked = [f for f in forms if f in blob]
            assert not leaked, f"{where} holds a form of {plate}: {leaked[:3]}"


async def test_alerts_arrive_from_a_relay_only_peer(tmp_path: Path) -> None:
    """The index stream through the relay is a long poll; alerts still arrive as they
    happen, for earlier reads and for new ones."""
    from node.exchange.alerts import WatchedPlate
    from node.policy.agreement import QueryKind

    async with relay_federation(tmp_path, [SMPD, CCPD], relay_only={CCPD.name}) as fed:
        smpd, ccpd = fed.node(SMPD.name), fed.node(CCPD.name)
        smpd.hotlist_override = [WatchedPlate("7QRS482", "ncic", "24-00123", "stolen-vehicle")]
        smpd.alerts.poll_s = 0.2
        now = dt.datetime.now(dt.UTC)
        add_reads(ccpd, ["7QRS482", "5XYZ999"], at=now - dt.timedelta(minutes=10))
        with smpd.alerts.subscription() as queue:
            await agree(
                smpd,
                ccpd,
                query_kinds=frozenset(
                    {QueryKind.HIT_QUERY, QueryKind.INDEX_STREAM, QueryKind.ALERTS}
                ),
                alert_categories=frozenset({"stolen-vehicle"}),
            )
            smpd.alerts.wake()
            earlier = await asyncio.wait_for(queue.get(), 60)
            assert (earlier.plate, earlier.peer) == ("7QRS482", CCPD.name)
            add_reads(ccpd, ["9OTH999", "7QRS482"], at=now - dt.timedelta(minutes=1))
            live = await asyncio.wait_for(queue.get(), 60)
            assert live.plate == "7QRS482"
            assert live.detail["time"] != earlier.detail["time"]


async def test_a_relay_only_node_witnesses_its_peers_through_the_relay(
    fed: RelayFederation,
) -> None:
    smpd = fed.node(SMPD.name)
    latest = await smpd.publish_once()
    assert latest is not None
    note = smpd.publisher.cosigned_note(latest).decode()
    witness_lines = [line for line in note.splitlines() if line.startswith("— ")]
    # Los Angeles directly, Culver City through the relay, and the broker itself.
    assert any(CCPD.name in line for line in witness_lines), witness_lines
    assert any(LAPD.name in line for line in witness_lines), witness_lines


async def test_a_removed_relay_only_member_is_cut_off_at_once(fed: RelayFederation) -> None:
    from broker.members import remove_member
    from node.errors import PeerUnavailableError

    smpd, ccpd = fed.node(SMPD.name), fed.node(CCPD.name)
    remove_member(fed.broker.app.home, CCPD.name, now=dt.datetime.now(dt.UTC))
    # Before any node refreshes its directory, the broker stops relaying to it...
    transport = GrpcExchangeTransport(smpd.peer_channel)
    with pytest.raises(PeerUnavailableError, match="not connected to the relay"):
        await transport.fetch_index(peer(smpd, CCPD.name), "smpd-ccpd-2026", 0, 10)  # type: ignore[arg-type]
    # ...and closes its stream (its new handshakes fail: it left the trust bundle).
    assert fed.relay.routes.link_of(CCPD.name) is None
    await until(lambda: not link_of(ccpd).connected.is_set())


async def test_a_removed_members_idle_stream_is_closed_when_the_directory_changes(
    fed: RelayFederation,
) -> None:
    """Nothing is forwarded to it: the broker notices the new directory version and
    drops the stream without waiting for the stream's heartbeat."""
    from broker.members import remove_member

    ccpd = fed.node(CCPD.name)
    assert fed.relay_broker is not None
    broker = fed.relay_broker.running.app
    assert not broker.check_directory()
    remove_member(broker.home, CCPD.name, now=dt.datetime.now(dt.UTC))
    assert fed.relay.routes.link_of(CCPD.name) is not None
    assert broker.check_directory()  # what the broker's watch loop runs every second
    assert fed.relay.routes.link_of(CCPD.name) is None
    await until(lambda: not link_of(ccpd).connected.is_set())


async def test_a_multi_peer_query_reports_the_missing_peer_and_keeps_the_others(
    fed: RelayFederation,
) -> None:
    """One query to both peers: with the broker down, the relay-only one is reported
    unavailable and the direct one still answers; with the direct one down instead,
    the relayed one answers and the direct one is reported."""
    smpd, lapd = fed.node(SMPD.name), fed.node(LAPD.name)
    assert fed.relay_broker is not None
    await fed.relay_broker.stop()
    outcome = await ask(smpd, CCPD.name, ["7QRS482"], peers=[CCPD.name, LAPD.name])
    by_peer = {str(a.peer): a for a in outcome.answers}
    assert by_peer[CCPD.name].outcome == "unavailable"
    assert by_peer[LAPD.name].outcome == "answered"
    assert {h.peer for h in outcome.hits} == {LAPD.name} and len(outcome.hits) == 2

    await fed.relay_broker.restart()
    await asyncio.wait_for(link_of(fed.node(CCPD.name)).connected.wait(), 30)
    await lapd.server.stop(grace=0)
    outcome = await ask(smpd, CCPD.name, ["7QRS482"], peers=[CCPD.name, LAPD.name])
    by_peer = {str(a.peer): a for a in outcome.answers}
    assert by_peer[LAPD.name].outcome == "unavailable"
    assert by_peer[CCPD.name].outcome == "answered"
    assert {h.peer for h in outcome.hits} == {CCPD.name} and len(outcome.hits) == 2
