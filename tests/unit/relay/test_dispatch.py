"""Relayed calls run through the node's own handler table and interceptor: the identity
the envelope proved is checked like a TLS identity, and refusals keep their status."""

from __future__ import annotations

import datetime as dt

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio

from crypto.certs import TlsIdentity, new_tls_identity
from node.relay.dispatch import RelayDispatcher
from node.relay.handlers import HandlerTable
from node.rpc.interceptors import CallGuard
from node.rpc.peers import KnownPeer, StaticPeers
from node.server import ServiceRegistration

CHECK = "/grpc.health.v1.Health/Check"
NOW = dt.datetime.now(dt.UTC)


def identity(name: str) -> TlsIdentity:
    return new_tls_identity(name, now=NOW)


@pytest.fixture
def peers() -> dict[str, TlsIdentity]:
    return {n: identity(n) for n in ("own-pd", "peer-pd", "suspended-pd", "stranger-pd")}


@pytest.fixture
def dispatcher(peers: dict[str, TlsIdentity]) -> RelayDispatcher:
    known = [
        KnownPeer(n, peers[n].fingerprint, peers[n].cert_pem, "", active=(n == "peer-pd"))
        for n in ("peer-pd", "suspended-pd")
    ]
    guard = CallGuard(
        own_cert_sha256=peers["own-pd"].fingerprint, own_name="own-pd", peers=StaticPeers(known)
    )
    health = health_aio.HealthServicer()
    services = [
        ServiceRegistration(
            "grpc.health.v1.Health", health_pb2_grpc.add_HealthServicer_to_server, health
        )
    ]
    return RelayDispatcher(HandlerTable.from_registrations(services), guard)


def check_request() -> bytes:
    return health_pb2.HealthCheckRequest(service="").SerializeToString()


async def call(
    dispatcher: RelayDispatcher,
    peers: dict[str, TlsIdentity],
    caller: str,
    method: str,
    body: bytes,
) -> tuple[grpc.StatusCode, str, bytes]:
    reply = await dispatcher.dispatch(
        caller=caller, caller_cert_pem=peers[caller].cert_pem, method=method, request=body
    )
    return reply.code, reply.message, reply.body


async def test_the_handler_table_is_the_servers(dispatcher: RelayDispatcher) -> None:
    assert CHECK in dispatcher._table.methods()


async def test_a_known_active_peer_is_served(
    dispatcher: RelayDispatcher, peers: dict[str, TlsIdentity]
) -> None:
    code, _, body = await call(dispatcher, peers, "peer-pd", CHECK, check_request())
    assert code is grpc.StatusCode.OK
    assert health_pb2.HealthCheckResponse.FromString(body).status == (
        health_pb2.HealthCheckResponse.SERVING
    )


@pytest.mark.parametrize(
    ("caller", "status", "message"),
    [
        ("stranger-pd", grpc.StatusCode.UNAUTHENTICATED, "is not a known peer"),
        ("suspended-pd", grpc.StatusCode.PERMISSION_DENIED, "is not active"),
    ],
)
async def test_the_interceptor_refuses_as_it_would_refuse_a_direct_call(
    dispatcher: RelayDispatcher,
    peers: dict[str, TlsIdentity],
    caller: str,
    status: grpc.StatusCode,
    message: str,
) -> None:
    code, details, _ = await call(dispatcher, peers, caller, CHECK, check_request())
    assert code is status
    assert message in details


async def test_unknown_methods_and_unparsable_requests(
    dispatcher: RelayDispatcher, peers: dict[str, TlsIdentity]
) -> None:
    code, details, _ = await call(dispatcher, peers, "peer-pd", "/accord.v1.Nope/Nope", b"")
    assert code is grpc.StatusCode.UNIMPLEMENTED
    assert "not served through the relay" in details
    code, details, _ = await call(dispatcher, peers, "peer-pd", CHECK, b"\xff\xff\xff")
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert details == "request does not parse"
