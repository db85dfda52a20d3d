"""Opening mutually authenticated channels to peers.

The client pins the peer: its trust anchor is exactly the peer's certificate from the
directory (or the node's peer table), and the TLS target name is the peer's node name,
which its certificate carries as a DNS SAN. Nothing else can answer in its place.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crypto.certs import TlsIdentity
from node.errors import PeerUnavailableError
from node.rpc.context import NODE_NAME_HEADER, REQUEST_ID_HEADER, request_id_var
from node.server import MAX_MESSAGE_BYTES

#: Longest wait between reconnection attempts to a peer that is down.
RECONNECT_BACKOFF_MAX_MS = 2000


class _IdentityHeaders(grpc.aio.UnaryUnaryClientInterceptor, grpc.aio.UnaryStreamClientInterceptor):
    """Adds our node name and the current request id to every outgoing call."""

    def __init__(self, own_name: str) -> None:
        self._own_name = own_name

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        rid = request_id_var.get()
        metadata.add(REQUEST_ID_HEADER, rid if rid != "-" else uuid.uuid4().hex)
        metadata.add(NODE_NAME_HEADER, self._own_name)
        return grpc.aio.ClientCallDetails(
            details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
        )

    async def intercept_unary_unary(
        self,
        continuation: Callable[..., Any],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        return await continuation(self._details(client_call_details), request)

    async def intercept_unary_stream(
        self,
        continuation: Callable[..., Any],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        return await continuation(self._details(client_call_details), request)


def peer_channel(
    *,
    own_name: str,
    own_tls: TlsIdentity,
    peer_name: str,
    peer_cert_pem: bytes,
    endpoint: str,
    interceptors: Sequence[grpc.aio.ClientInterceptor] = (),
) -> grpc.aio.Channel:
    """A channel to ``peer_name`` at ``endpoint`` that only that peer can terminate.

    ``interceptors`` run after the identity headers are added (tests record traffic).
    """
    creds = grpc.ssl_channel_credentials(
        root_certificates=peer_cert_pem,
        private_key=own_tls.key_pem,
        certificate_chain=own_tls.cert_pem,
    )
    return grpc.aio.secure_channel(
        endpoint,
        creds,
        options=[
            ("grpc.ssl_target_name_override", peer_name),
            ("grpc.default_authority", peer_name),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            # A peer that was down is retried within seconds once it is back, instead of
            # after gRPC's default backoff (up to two minutes, failing calls meanwhile).
            ("grpc.initial_reconnect_backoff_ms", 250),
            ("grpc.max_reconnect_backoff_ms", RECONNECT_BACKOFF_MAX_MS),
        ],
        interceptors=[_IdentityHeaders(own_name), *interceptors],
    )


def describe_rpc_error(peer_name: str, error: grpc.aio.AioRpcError) -> str:
    """One readable line for a failed call to a peer."""
    code = error.code()
    if code is grpc.StatusCode.UNAVAILABLE:
        return (
            f"{peer_name} is unreachable or refused our TLS handshake "
            f"(is this node registered with it, and is it running?): {error.details()}"
        )
    return f"{peer_name} answered {code.name}: {error.details()}"


async def check_health(channel: grpc.aio.Channel, peer_name: str, deadline_s: float = 5.0) -> str:
    """Ask a peer's health service for its overall status; returns the status name."""
    stub: Any = health_pb2_grpc.HealthStub(channel)  # the stubs do not type its methods
    try:
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=deadline_s)
    except grpc.aio.AioRpcError as e:
        raise PeerUnavailableError(describe_rpc_error(peer_name, e)) from e
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))
