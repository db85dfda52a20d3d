"""Agreements between two real nodes over mutual TLS: propose, accept, reject, revoke, refuse.

Alpha (requester) proposes through its own NodeAdminService, called as the node itself
(the CLI's self client); Bravo (responder, California SB 34) decides through its own. The
peer-facing AgreementService is also called directly, with documents a well-behaved node
would never send, to check that each is refused with a precise status and nothing stored.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest

from accord.v1 import admin_pb2, admin_pb2_grpc, common_pb2, node_admin_pb2, node_admin_pb2_grpc
from crypto.certs import new_tls_identity
from crypto.entries import Entry, decode_entry
from node.app import NodeApp
from node.config import AgencyKind
from node.exchange.agreement_terms import build_agreement, own_party, peer_party
from node.ids import AgreementId, Epoch, NodeId
from node.policy import Agreement, sign_agreement
from node.rpc.client import peer_channel
from node.rpc.denials import rule_ids_of
from node.rpc.self_client import node_admin_stub, self_channel
from node.store.agreements import OprfKeyRepository
from node.store.db import session_scope
from node.store.peers import PeerRepository
from tests.support.cli import accord
from tests.support.federation import NodeSpec, federation, terms

ALPHA = NodeSpec("alpha-pd", "CA0000001")
BRAVO = NodeSpec("bravo-pd", "CA0000002")
FEDERAL = NodeSpec("fbi-la", "DCFBI0000", jurisdiction="US", kind="federal")
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
Pair = tuple[NodeApp, NodeApp]


@pytest.fixture
def channels() -> list[grpc.aio.Channel]:
    return []


@pytest.fixture
async def pair(tmp_path: Path, channels: list[grpc.aio.Channel]) -> AsyncIterator[Pair]:
    async with federation(tmp_path, [ALPHA, BRAVO]) as (a, b):
        yield a, b
        for ch in channels:
            await ch.close()


@pytest.fixture
async def federal_pair(tmp_path: Path, channels: list[grpc.aio.Channel]) -> AsyncIterator[Pair]:
    async with federation(tmp_path, [FEDERAL, BRAVO]) as (a, b):
        yield a, b
        for ch in channels:
            await ch.close()


def admin(app: NodeApp, channels: list[grpc.aio.Channel]) -> Any:
    """``app``'s own NodeAdminService, called as the node itself (like the CLI)."""
    channel = self_channel(app.config.home, endpoint=f"127.0.0.1:{app.server.port}")
    channels.append(channel)
    return node_admin_stub(channel)


def peer_stub(caller: NodeApp, callee: NodeApp) -> Any:
    """``callee``'s peer-facing AgreementService on ``caller``'s pinned channel."""
    with session_scope(caller.sessions) as s:
        peer = PeerRepository(s).get(NodeId(callee.config.name))
    assert peer is not None
    return admin_pb2_grpc.AgreementServiceStub(caller.peer_channel(peer))


def propose_command(peer: str, agreement_id: str = "ab-2026", **changes: Any) -> Any:
    fields: dict[str, Any] = {
        "agreement_id": agreement_id,
        "peer": peer,
        "purposes": ["stolen-vehicle", "homicide"],
        "query_kinds": ["hit_query", "index_stream", "alerts"],
        "window_days": 30,
        "label_detail": common_pb2.LABEL_DETAIL_DAY_AND_CITY,
        "plates_per_day": 5000,
        "max_batch": 1000,
        "case_number_required": True,
        "case_number_pattern": r"^[0-9]{2}-[0-9]{5}$",
        "alert_categories": ["stolen-vehicle"],
        "retention_days": 90,
        "onward_sharing_banned": True,
        "confusable_folding": True,
    }
    fields.update(changes)
    t = node_admin_pb2.AgreementTerms(**fields)
    t.valid_until.FromDatetime(NOW + dt.timedelta(days=365))
    return node_admin_pb2.ProposeAgreementCommand(terms=t, admin="alice")


def ledger(app: NodeApp) -> list[Entry]:
    return [decode_entry(r.entry) for r in app.ledger.entries(0, app.ledger.head.size)]


def of_type(app: NodeApp, entry_type: str) -> list[dict[str, Any]]:
    return [dict(e.fields) for e in ledger(app) if e.type == entry_type]


async def listed(stub: Any, status: str = "") -> list[tuple[str, int, str, str, str]]:
    reply = await stub.ListAgreements(node_admin_pb2.ListAgreementsRequest(status=status))
    return [(a.agreement_id, a.version, a.peer, a.role, a.status) for a in reply.agreements]


def document_for(a: NodeApp, b: NodeApp, **overrides: Any) -> Agreement:
    """The document ``a`` would propose to ``b`` (parties as ``a`` knows them)."""
    with session_scope(a.sessions) as s:
        peer = PeerRepository(s).get(NodeId(b.config.name))
    assert peer is not None
    return build_agreement(
        terms(b.config.name, "direct-1", **overrides),
        version=1,
        requester=own_party(a.config, a.keys.signing),
        responder=peer_party(peer),
        now=NOW,
    )


def signed_request(a: NodeApp, agreement: Agreement, *, flip: bool = False) -> Any:
    signature = bytearray(
        sign_agreement(agreement, NodeId(a.config.name), a.keys.signing).signature
    )
    if flip:
        signature[5] ^= 0x40
    return admin_pb2.ProposeAgreementRequest(
        agreement=admin_pb2.SignedAgreementDocument(
            document=agreement.canonical_bytes(), requester_signature=bytes(signature)
        )
    )


async def test_propose_then_accept_is_active_on_both_with_one_hash_in_both_ledgers(
    pair: Pair, channels: list[grpc.aio.Channel]
) -> None:
    a, b = pair
    admin_a, admin_b = admin(a, channels), admin(b, channels)
    proposed = await admin_a.ProposeAgreement(propose_command("bravo-pd"))
    assert (proposed.agreement_id, proposed.version, proposed.status) == ("ab-2026", 1, "proposed")
    assert proposed.ledger_index > 0
    assert await listed(admin_a) == [("ab-2026", 1, "bravo-pd", "requester", "proposed")]
    assert await listed(admin_b, "proposed") == [
        ("ab-2026", 1, "alpha-pd", "responder", "proposed")
    ]
    assert await listed(admin_b, "active") == []

    accepted = await admin_b.DecideAgreement(
        node_admin_pb2.DecideAgreementCommand(agreement_id="ab-2026", accept=True, admin="bob")
    )
    assert accepted.status == "active"
    assert await listed(admin_a) == [("ab-2026", 1, "bravo-pd", "requester", "active")]
    assert await listed(admin_b) == [("ab-2026", 1, "alpha-pd", "responder", "active")]

    digest = Agreement.from_canonical_bytes(proposed.document_json.encode()).digest().hex()
    assert bytes(accepted.agreement_hash).hex() == digest
    created_a, created_b = of_type(a, "agreement.created"), of_type(b, "agreement.created")
    assert [(c["agreement_hash"], c["role"], c["peer"]) for c in created_a] == [
        (digest, "requester", "bravo-pd")
    ]
    assert [(c["agreement_hash"], c["role"], c["peer"]) for c in created_b] == [
        (digest, "responder", "alpha-pd")
    ]
    actions_a = {e["action"]: e for e in of_type(a, "admin.action")}
    actions_b = {e["action"]: e for e in of_type(b, "admin.action")}
    assert digest in actions_a["agreement.activated"]["detail"]
    assert digest in actions_b["agreement.accept"]["detail"]
    assert actions_a["agreement.propose"]["actor"] == a.recorder.actor("alice")
    assert actions_b["agreement.accept"]["actor"] == b.recorder.actor("bob")
    assert all("alice" not in e.fields.get("detail", "") for e in ledger(a))

    again = admin_b.DecideAgreement(
        node_admin_pb2.DecideAgreementCommand(agreement_id="ab-2026", accept=True, admin="bob")
    )
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await again
    assert err.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "is active" in (err.value.details() or "")


async def test_reject_marks_both_rejected(pair: Pair, channels: list[grpc.aio.Channel]) -> None:
    a, b = pair
    admin_a, admin_b = admin(a, channels), admin(b, channels)
    await admin_a.ProposeAgreement(propose_command("bravo-pd"))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin_a.DecideAgreement(
            node_admin_pb2.DecideAgreementCommand(agreement_id="ab-2026", accept=True, admin="x")
        )
    assert err.value.code() is grpc.StatusCode.FAILED_PRECONDITION  # the requester can't
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin_b.DecideAgreement(
            node_admin_pb2.DecideAgreementCommand(
                agreement_id="ab-2026", reason="not a code!", admin="bob"
            )
        )
    assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    rejected = await admin_b.DecideAgreement(
        node_admin_pb2.DecideAgreementCommand(agreement_id="ab-2026", reason="terms", admin="bob")
    )
    assert rejected.status == "rejected"
    assert await listed(admin_a) == [("ab-2026", 1, "bravo-pd", "requester", "rejected")]
    assert await listed(admin_b) == [("ab-2026", 1, "alpha-pd", "responder", "rejected")]
    assert (
        "(terms)"
        in {e["action"]: e for e in of_type(a, "admin.action")}["agreement.rejected"]["detail"]
    )


async def test_accept_while_the_requester_is_down_changes_nothing(
    pair: Pair, channels: list[grpc.aio.Channel]
) -> None:
    a, b = pair
    admin_b = admin(b, channels)
    await admin(a, channels).ProposeAgreement(propose_command("bravo-pd"))
    await a.server.stop(grace=0)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin_b.DecideAgreement(
            node_admin_pb2.DecideAgreementCommand(agreement_id="ab-2026", accept=True, admin="bob")
        )
    assert err.value.code() is grpc.StatusCode.UNAVAILABLE
    assert await listed(admin_b) == [("ab-2026", 1, "alpha-pd", "responder", "proposed")]
    assert [e["action"] for e in of_type(b, "admin.action")] == ["node.start", "retention.set"]


async def test_revoke_destroys_keys_and_ends_it_on_both(
    pair: Pair, channels: list[grpc.aio.Channel]
) -> None:
    a, b = pair
    admin_a, admin_b = admin(a, channels), admin(b, channels)
    await admin_a.ProposeAgreement(propose_command("bravo-pd"))
    await admin_b.DecideAgreement(
        node_admin_pb2.DecideAgreementCommand(agreement_id="ab-2026", accept=True, admin="bob")
    )
    with session_scope(b.sessions) as s:
        keys = OprfKeyRepository(s)
        for epoch in (20000, 20001):
            keys.add(
                AgreementId("ab-2026"),
                Epoch(epoch),
                secret=bytes([epoch % 256]) * 32,
                public_key=b"\x01" * 32,
                now=NOW,
            )
    ended = await admin_a.EndAgreement(
        node_admin_pb2.EndAgreementCommand(agreement_id="ab-2026", reason="case-closed", admin="a")
    )
    assert ended.status == "revoked"
    assert await listed(admin_a) == [("ab-2026", 1, "bravo-pd", "requester", "revoked")]
    assert await listed(admin_b) == [("ab-2026", 1, "alpha-pd", "responder", "revoked")]
    with session_scope(b.sessions) as s:
        remaining = OprfKeyRepository(s).for_agreement(AgreementId("ab-2026"))
    assert [(k.secret, k.destroyed_at is not None) for k in remaining] == [(None, True)] * 2
    (revoked_a,) = of_type(a, "agreement.revoked")
    (revoked_b,) = of_type(b, "agreement.revoked")
    assert (
        revoked_a["agreement_hash"]
        == revoked_b["agreement_hash"]
        == bytes(ended.agreement_hash).hex()
    )
    assert (revoked_a["reason"], revoked_b["reason"]) == ("case-closed", "revoked-by-peer")
    # Run again: the revocation is only re-sent; nothing new on either ledger.
    sizes = (a.ledger.head.size, b.ledger.head.size)
    again = await admin_a.EndAgreement(
        node_admin_pb2.EndAgreementCommand(agreement_id="ab-2026", reason="case-closed", admin="a")
    )
    assert again.status == "revoked" and (a.ledger.head.size, b.ledger.head.size) == sizes


async def test_revoke_while_the_peer_is_down_ends_it_here_and_says_so(
    pair: Pair, channels: list[grpc.aio.Channel]
) -> None:
    a, b = pair
    admin_a = admin(a, channels)
    await admin_a.ProposeAgreement(propose_command("bravo-pd"))
    await admin(b, channels).DecideAgreement(
        node_admin_pb2.DecideAgreementCommand(agreement_id="ab-2026", accept=True, admin="bob")
    )
    await b.server.stop(grace=0)
    end = node_admin_pb2.EndAgreementCommand(agreement_id="ab-2026", reason="audit", admin="a")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin_a.EndAgreement(end)
    assert err.value.code() is grpc.StatusCode.UNAVAILABLE
    assert "agreement ab-2026 v1 is revoked here, but bravo-pd" in (err.value.details() or "")
    assert await listed(admin_a) == [("ab-2026", 1, "bravo-pd", "requester", "revoked")]
    assert len(of_type(a, "agreement.revoked")) == 1
    size = a.ledger.head.size
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin_a.EndAgreement(end)  # a retry only re-sends
    assert err.value.code() is grpc.StatusCode.UNAVAILABLE
    assert a.ledger.head.size == size


async def test_federal_requester_is_refused_by_a_california_responder(
    federal_pair: Pair, channels: list[grpc.aio.Channel]
) -> None:
    fed, b = federal_pair
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin(fed, channels).ProposeAgreement(propose_command("bravo-pd"))
    assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "ca-sb34-no-federal" in (err.value.details() or "")
    assert "ca-sb34-no-federal" in rule_ids_of(err.value)
    assert await listed(admin(fed, channels)) == []
    assert await listed(admin(b, channels)) == []
    (refusal,) = [e for e in of_type(b, "admin.action") if e["action"] == "agreement.refused"]
    assert "ca-sb34-no-federal" in refusal["detail"]
    assert of_type(b, "agreement.created") == of_type(fed, "agreement.created") == []


async def test_a_peer_calling_the_admin_api_is_refused(pair: Pair) -> None:
    a, _ = pair
    with session_scope(a.sessions) as s:
        peer = PeerRepository(s).get(NodeId("bravo-pd"))
    assert peer is not None
    stub = node_admin_pb2_grpc.NodeAdminServiceStub(a.peer_channel(peer))
    for call in (
        stub.ListAgreements(node_admin_pb2.ListAgreementsRequest()),
        stub.ProposeAgreement(propose_command("alpha-pd")),
        stub.EndAgreement(node_admin_pb2.EndAgreementCommand(agreement_id="x", reason="r")),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED
        assert "only the node itself" in (err.value.details() or "")


@pytest.mark.parametrize(
    ("tamper", "code", "text"),
    [
        ("signature", grpc.StatusCode.INVALID_ARGUMENT, "invalid signature"),
        ("terms after signing", grpc.StatusCode.INVALID_ARGUMENT, "invalid signature"),
        ("requester kind", grpc.StatusCode.INVALID_ARGUMENT, "kind"),
        ("responder", grpc.StatusCode.INVALID_ARGUMENT, "responder"),
        ("not canonical", grpc.StatusCode.INVALID_ARGUMENT, "canonical"),
        ("someone else's", grpc.StatusCode.PERMISSION_DENIED, "not the requester"),
        ("expired", grpc.StatusCode.PERMISSION_DENIED, "agreement.expired"),
    ],
)
async def test_bad_proposals_are_refused_and_nothing_is_stored(
    pair: Pair, channels: list[grpc.aio.Channel], tamper: str, code: grpc.StatusCode, text: str
) -> None:
    a, b = pair
    agreement = document_for(a, b)
    request = signed_request(a, agreement, flip=tamper == "signature")
    if tamper == "terms after signing":
        changed = dataclasses.replace(agreement, window_days=3000)
        request.agreement.document = changed.canonical_bytes()
    elif tamper in ("requester kind", "responder", "someone else's"):
        party = agreement.requester if tamper != "responder" else agreement.responder
        if tamper == "requester kind":
            forged = dataclasses.replace(party, kind=AgencyKind.COUNTY)
            agreement = dataclasses.replace(agreement, requester=forged)
        elif tamper == "responder":
            forged = dataclasses.replace(party, node_id=NodeId("charlie-pd"))
            agreement = dataclasses.replace(agreement, responder=forged)
        else:
            forged = dataclasses.replace(party, node_id=NodeId("charlie-pd"))
            agreement = dataclasses.replace(agreement, requester=forged)
        request = admin_pb2.ProposeAgreementRequest(
            agreement=admin_pb2.SignedAgreementDocument(
                document=agreement.canonical_bytes(),
                requester_signature=bytes(64),
            )
        )
    elif tamper == "not canonical":
        request.agreement.document = request.agreement.document.replace(b",", b", ", 1)
    elif tamper == "expired":
        agreement = document_for(
            a,
            b,
            valid_from=NOW - dt.timedelta(days=30),
            valid_until=NOW - dt.timedelta(days=1),
        )
        request = signed_request(a, agreement)
    size = b.ledger.head.size
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await peer_stub(a, b).ProposeAgreement(request)
    assert err.value.code() is code, err.value.details()
    assert text in (err.value.details() or ""), err.value.details()
    assert await listed(admin(b, channels)) == []
    assert of_type(b, "agreement.created") == []
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        assert b.ledger.head.size == size  # malformed input is not a decision


async def test_expired_terms_are_refused_by_the_proposer_itself(
    pair: Pair, channels: list[grpc.aio.Channel]
) -> None:
    a, b = pair
    command = propose_command("bravo-pd")
    command.terms.valid_from.FromDatetime(NOW - dt.timedelta(days=30))
    command.terms.valid_until.FromDatetime(NOW - dt.timedelta(days=1))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin(a, channels).ProposeAgreement(command)
    assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "agreement.expired" in rule_ids_of(err.value)
    assert await listed(admin(b, channels)) == []


async def test_a_repeated_proposal_gets_the_stored_state_a_different_one_is_refused(
    pair: Pair, channels: list[grpc.aio.Channel]
) -> None:
    a, b = pair
    stub = peer_stub(a, b)
    agreement = document_for(a, b)
    first = await stub.ProposeAgreement(signed_request(a, agreement))
    size = b.ledger.head.size
    second = await stub.ProposeAgreement(signed_request(a, agreement))
    assert bytes(first.agreement_hash) == bytes(second.agreement_hash) == agreement.digest()
    assert first.ledger_index > 0 and second.ledger_index == 0
    assert b.ledger.head.size == size
    other = dataclasses.replace(agreement, window_days=7)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ProposeAgreement(signed_request(a, other))
    assert err.value.code() is grpc.StatusCode.ALREADY_EXISTS
    assert await listed(admin(b, channels)) == [
        ("direct-1", 1, "alpha-pd", "responder", "proposed")
    ]


async def test_unknown_peers_are_refused(pair: Pair, channels: list[grpc.aio.Channel]) -> None:
    a, b = pair
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin(a, channels).ProposeAgreement(propose_command("nobody-pd"))
    assert err.value.code() is grpc.StatusCode.NOT_FOUND
    assert "nobody-pd" in (err.value.details() or "")
    # A node Bravo never pinned cannot reach its AgreementService at all.
    stranger = new_tls_identity("charlie-pd", now=NOW)
    channel = peer_channel(
        own_name="charlie-pd",
        own_tls=stranger,
        peer_name="bravo-pd",
        peer_cert_pem=b.keys.tls.cert_pem,
        endpoint=f"127.0.0.1:{b.server.port}",
    )
    channels.append(channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin_pb2_grpc.AgreementServiceStub(channel).ProposeAgreement(
            signed_request(a, document_for(a, b))
        )
    assert err.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED)
    assert await listed(admin(b, channels)) == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _serving(home: Path) -> Iterator[Path]:
    """``accord node serve`` for ``home`` until the block ends; yields its log file."""
    log = home.parent / f"{home.name}.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "accord.cli", "node", "serve", "--dir", str(home)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        )
        try:
            assert proc.stdout is not None
            assert "serving on" in proc.stdout.readline(), log.read_text()
            yield log
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_cli_propose_list_accept_show_between_two_served_nodes(tmp_path: Path) -> None:
    homes = {"alpha-pd": tmp_path / "a", "bravo-pd": tmp_path / "b"}
    ports = {name: _free_port() for name in homes}
    for (name, home), ori in zip(homes.items(), ("CA0000001", "CA0000002"), strict=True):
        made = accord(
            "node", "init", "--dir", str(home), "--name", name, "--ori", ori,
            "--jurisdiction", "US-CA", "--kind", "municipal",
            "--listen", f"127.0.0.1:{ports[name]}",
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
    for me, other in (("alpha-pd", "bravo-pd"), ("bravo-pd", "alpha-pd")):
        pinned = accord(
            "node", "peers", "add", "--dir", str(homes[me]),
            "--cert", str(homes[other] / "tls/node.crt"),
            "--keys", str(homes[other] / "keys/public.toml"),
            "--endpoint", f"127.0.0.1:{ports[other]}",
        )  # fmt: skip
        assert pinned.returncode == 0, pinned.stderr
    a, b = str(homes["alpha-pd"]), str(homes["bravo-pd"])
    with _serving(homes["alpha-pd"]) as log_a, _serving(homes["bravo-pd"]) as log_b:
        proposed = accord(
            "agreement", "propose", "--dir", a, "--peer", "bravo-pd", "--id", "ab-cli",
            "--purposes", "stolen-vehicle,homicide", "--kinds", "hit_query,index_stream,alerts",
            "--alert-categories", "stolen-vehicle", "--window-days", "30",
            "--detail", "DAY_AND_CITY", "--rate", "5000/day", "--max-batch", "1000",
            "--case-pattern", "^[0-9]{2}-[0-9]{5}$", "--valid-until", "2099-06-30",
            "--fold-confusables", "--admin", "alice",
        )  # fmt: skip
        assert proposed.returncode == 0, (proposed.stderr, log_a.read_text(), log_b.read_text())
        assert "ab-cli v1 with bravo-pd: proposed" in proposed.stdout
        listed_b = accord("agreement", "list", "--dir", b, "--status", "proposed")
        assert listed_b.returncode == 0, listed_b.stderr
        assert "ab-cli" in listed_b.stdout and "alpha-pd" in listed_b.stdout
        assert "responder" in listed_b.stdout and "2099-07-01T00:00:00Z" in listed_b.stdout
        accepted = accord("agreement", "accept", "--dir", b, "ab-cli", "--admin", "bob")
        assert accepted.returncode == 0, accepted.stderr
        assert "ab-cli v1 with alpha-pd: active" in accepted.stdout
        listed_a = accord("agreement", "list", "--dir", a)
        assert "active" in listed_a.stdout and "requester" in listed_a.stdout
        shown = accord("agreement", "show", "--dir", a, "ab-cli")
        assert shown.returncode == 0, shown.stderr
        doc = json.loads(shown.stdout)
        assert doc["responder"]["node_id"] == "bravo-pd" and doc["rate_limit"]["max_batch"] == 1000
        again = accord("agreement", "accept", "--dir", b, "ab-cli", "--admin", "bob")
        assert again.returncode == 1
        assert again.stderr.startswith("error: FAILED_PRECONDITION: agreement ab-cli v1 is active")
        assert len(again.stderr.strip().splitlines()) == 1
        _query_through_the_cli(homes["alpha-pd"], homes["bravo-pd"], tmp_path)


def _query_through_the_cli(a: Path, b: Path, tmp_path: Path) -> None:
    """bravo-pd imports reads; alpha-pd's officer asks about them with ``accord query hits``."""
    added = accord(
        "node", "cameras", "add", "--dir", str(b), "--id", "cam-1", "--name", "Main St",
        "--lat", "34.02", "--lon", "-118.49",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    export = tmp_path / "reads.csv"
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    export.write_text(f"plate,time\n7QRS482,{now.isoformat()}\n8ABC123,{now.isoformat()}\n")
    imported = accord(
        "node", "import", "--dir", str(b), str(export), "--format", "csv", "--camera", "cam-1"
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    args = (
        "query", "hits", "--dir", str(a), "--peer", "bravo-pd", "--plate", "7qr-s482",
        "--plate", "4NOPE00", "--purpose", "stolen-vehicle", "--case", "24-00123",
        "--user", "officer-17", "--days", "2", "--json",
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:  # the served node indexes new reads within about a second
        asked = accord(*args)
        assert asked.returncode == 0, asked.stderr
        result = json.loads(asked.stdout)
        if result["hits"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert [h["plate"] for h in result["hits"]] == ["7qr-s482"]
    assert result["hits"][0]["detail"]["day"] == now.strftime("%Y-%m-%d")
    (answer,) = result["answers"]
    assert answer["outcome"] == "answered" and answer["receipt_index"] > 0
    refused = accord(*args[:-1], "--purpose", "immigration")
    assert refused.returncode == 1
    assert "refused" in refused.stdout and "agreement.purpose" in refused.stdout


def test_cli_needs_a_fixed_listen_port_and_says_so(home: Path) -> None:
    result = accord("agreement", "list", "--dir", str(home))
    assert result.returncode == 1
    assert "server.listen" in result.stderr and "port 0" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
