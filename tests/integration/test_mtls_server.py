"""A real grpc.aio server on 127.0.0.1:0 with real certificates: who gets in, who does not."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crypto.certs import TlsIdentity, new_tls_identity
from node.errors import PeerUnavailableError
from node.rpc.client import check_health, peer_channel
from node.rpc.context import REQUEST_ID_HEADER
from node.rpc.peers import KnownPeer, StaticPeers
from node.server import NodeServer

NOW = dt.datetime.now(dt.UTC)


def peer(name: str, tls: TlsIdentity, *, active: bool = True) -> KnownPeer:
    return KnownPeer(
        name=name, cert_sha256=tls.fingerprint, cert_pem=tls.cert_pem, endpoint="", active=active
    )


class BundleButNoMapping:
    """Trusts certificates at the TLS layer that its peer table does not (or no longer) map."""

    def __init__(self, trusted: Sequence[bytes], peers: Sequence[KnownPeer]) -> None:
        self._trusted = list(trusted)
        self._by_fp = {p.cert_sha256: p for p in peers}

    def by_fingerprint(self, cert_sha256: str) -> KnownPeer | None:
        return self._by_fp.get(cert_sha256)

    def trusted_certificates(self) -> Sequence[bytes]:
        return self._trusted


@pytest.fixture(scope="module")
def identities() -> dict[str, TlsIdentity]:
    return {n: new_tls_identity(n, now=NOW) for n in ("alpha", "bravo", "mallory")}


@pytest.fixture
async def bravo(identities: dict[str, TlsIdentity]) -> AsyncIterator[NodeServer]:
    server = NodeServer(
        name="bravo",
        tls=identities["bravo"],
        peers=BundleButNoMapping(
            [identities["alpha"].cert_pem, identities["mallory"].cert_pem],
            [peer("alpha", identities["alpha"])],
        ),
        listen="127.0.0.1:0",
    )
    await server.start()
    yield server
    await server.stop(grace=0.1)


def channel_from(
    identities: dict[str, TlsIdentity], me: str, server: NodeServer, *, claim: str | None = None
) -> grpc.aio.Channel:
    return peer_channel(
        own_name=claim or me,
        own_tls=identities[me],
        peer_name="bravo",
        peer_cert_pem=identities["bravo"].cert_pem,
        endpoint=f"127.0.0.1:{server.port}",
    )


async def test_known_peer_gets_health_over_mutual_tls(
    identities: dict[str, TlsIdentity], bravo: NodeServer
) -> None:
    async with channel_from(identities, "alpha", bravo) as ch:
        assert await check_health(ch, "bravo") == "SERVING"


async def test_request_id_comes_back_in_trailers(
    identities: dict[str, TlsIdentity], bravo: NodeServer
) -> None:
    async with channel_from(identities, "alpha", bravo) as ch:
        call = health_pb2_grpc.HealthStub(ch).Check(
            health_pb2.HealthCheckRequest(), metadata=((REQUEST_ID_HEADER, "req-1234"),)
        )
        await call
        trailers = dict(await call.trailing_metadata())
        assert trailers[REQUEST_ID_HEADER] == "req-1234"


async def test_certificate_not_in_bundle_fails_handshake_with_clear_message(
    bravo: NodeServer,
) -> None:
    stranger = new_tls_identity("stranger", now=NOW)
    identities = {"stranger": stranger, "bravo": bravo.tls}
    async with channel_from(identities, "stranger", bravo) as ch:
        with pytest.raises(PeerUnavailableError, match="refused our TLS handshake"):
            await check_health(ch, "bravo", deadline_s=3)


async def test_unmapped_certificate_is_unauthenticated(
    identities: dict[str, TlsIdentity], bravo: NodeServer
) -> None:
    async with channel_from(identities, "mallory", bravo) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest())
    assert err.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert "not a known peer" in (err.value.details() or "")


async def test_claimed_name_must_match_certificate(
    identities: dict[str, TlsIdentity], bravo: NodeServer
) -> None:
    async with channel_from(identities, "alpha", bravo, claim="charlie") as ch:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest())
    assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "belongs to alpha" in (err.value.details() or "")


async def test_inactive_peer_is_refused(identities: dict[str, TlsIdentity]) -> None:
    server = NodeServer(
        name="bravo",
        tls=identities["bravo"],
        peers=BundleButNoMapping(
            [identities["alpha"].cert_pem], [peer("alpha", identities["alpha"], active=False)]
        ),
        listen="127.0.0.1:0",
    )
    await server.start()
    try:
        async with channel_from(identities, "alpha", server) as ch:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest())
        assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED
    finally:
        await server.stop(grace=0.1)


async def test_port_in_use_is_a_clear_error(
    identities: dict[str, TlsIdentity], bravo: NodeServer
) -> None:
    from node.errors import ListenAddressError

    clash = NodeServer(
        name="bravo",
        tls=identities["bravo"],
        peers=StaticPeers([]),
        listen=f"127.0.0.1:{bravo.port}",
    )
    with pytest.raises(ListenAddressError, match=f"127.0.0.1:{bravo.port}"):
        await clash.start()


async def test_reflection_lists_the_services(
    identities: dict[str, TlsIdentity], bravo: NodeServer
) -> None:
    """What grpcurl uses to discover a node's API without the .proto files."""
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    async with channel_from(identities, "alpha", bravo) as ch:
        stub = reflection_pb2_grpc.ServerReflectionStub(ch)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        names: list[str] = []
        async for reply in stub.ServerReflectionInfo(iter([request])):
            names += [s.name for s in reply.list_services_response.service]
    assert "grpc.health.v1.Health" in names
    assert "grpc.reflection.v1alpha.ServerReflection" in names
