"""The node's gRPC server: mutual TLS, health, reflection, graceful shutdown.

The TLS trust bundle is the node's own certificate plus those of its active peers. It is
re-read on every new handshake (``dynamic_ssl_server_credentials``), so adding or
removing a peer takes effect without a restart; calls on connections that are already
open are re-checked by the interceptor on every call.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import cast

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from crypto.certs import TlsIdentity
from node.errors import ListenAddressError
from node.rpc.interceptors import CallGuard, ServerGuardInterceptor
from node.rpc.peers import PeerResolver

log = logging.getLogger(__name__)

#: Largest request a node accepts. A 10,000-plate batch of 32-byte elements is ~330 KB;
#: anything much larger is an error or an attack, refused by gRPC with RESOURCE_EXHAUSTED.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024

#: How long in-flight calls may finish after SIGTERM before they are cancelled.
SHUTDOWN_GRACE_SECONDS = 5.0


@dataclass(slots=True)
class ServiceRegistration:
    """A servicer to mount: ``add`` is the generated ``add_XServicer_to_server``."""

    full_name: str
    add: object
    servicer: object


@dataclass
class NodeServer:
    """A running (or startable) gRPC server for one node."""

    name: str
    tls: TlsIdentity
    peers: PeerResolver
    listen: str
    services: Sequence[ServiceRegistration] = ()
    health: health_aio.HealthServicer = field(default_factory=health_aio.HealthServicer)
    _server: grpc.aio.Server | None = None
    port: int = 0

    def _bundle(self) -> bytes:
        certs: Iterable[bytes] = [self.tls.cert_pem, *self.peers.trusted_certificates()]
        return b"".join(c if c.endswith(b"\n") else c + b"\n" for c in certs)

    def _credentials(self) -> grpc.ServerCredentials:
        def config() -> grpc.ServerCertificateConfiguration:
            return grpc.ssl_server_certificate_configuration(
                [(self.tls.key_pem, self.tls.cert_pem)], root_certificates=self._bundle()
            )

        current = {"bundle": self._bundle()}

        def fetch() -> grpc.ServerCertificateConfiguration | None:
            bundle = self._bundle()
            if bundle == current["bundle"]:
                return None
            current["bundle"] = bundle
            return config()

        # The stubs say the fetcher must return a configuration; grpc documents None as
        # "no change", which is what we return when the peer set is unchanged.
        fetcher = cast("Callable[[], grpc.ServerCertificateConfiguration]", fetch)
        return grpc.dynamic_ssl_server_credentials(config(), fetcher, True)

    def health_registration(self) -> ServiceRegistration:
        """The health service as a registration, for callers that mount services
        elsewhere too (the relay answers health checks like the server does)."""
        return ServiceRegistration(
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            health_pb2_grpc.add_HealthServicer_to_server,
            self.health,
        )

    async def start(self) -> int:
        """Bind, start serving and return the bound port (useful with port 0)."""
        guard = CallGuard(
            own_cert_sha256=self.tls.fingerprint, own_name=self.name, peers=self.peers
        )
        server = grpc.aio.server(
            interceptors=[ServerGuardInterceptor(guard)],
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                # Without this a second node could bind the same port and share its calls.
                ("grpc.so_reuseport", 0),
            ],
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        names = [health_pb2.DESCRIPTOR.services_by_name["Health"].full_name]
        for reg in self.services:
            reg.add(reg.servicer, server)  # type: ignore[operator]
            names.append(reg.full_name)
        names.append(reflection.SERVICE_NAME)
        reflection.enable_server_reflection(names, server)
        try:
            port = server.add_secure_port(self.listen, self._credentials())
        except RuntimeError as e:
            await server.stop(None)
            raise ListenAddressError(self.listen) from e
        await server.start()
        for n in names:
            await self.health.set(n, health_pb2.HealthCheckResponse.SERVING)
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        self._server = server
        self.port = port
        log.info("node %s serving on port %d with mutual TLS", self.name, port)
        return port

    async def stop(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Stop accepting calls, let in-flight calls finish for ``grace`` seconds, stop."""
        if self._server is None:
            return
        await self.health.enter_graceful_shutdown()
        await self._server.stop(grace)
        self._server = None
        log.info("node %s stopped", self.name)

    async def serve_until_signalled(self) -> None:
        """Serve until SIGTERM or SIGINT, then shut down gracefully."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            await self.stop()
