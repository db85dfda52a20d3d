"""Calls from this node to its federation's broker, over mutual TLS.

The node presents its own certificate (the broker admits current members only) and pins
the broker's certificate from ``[federation]``: nothing else can answer as the broker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc
import grpc.aio

from accord.v1 import broker_pb2, broker_pb2_grpc
from crypto.certs import TlsIdentity
from crypto.directory import SignedDirectory
from node.federation.errors import BrokerUnreachableError
from node.federation.settings import PinnedBroker
from node.rpc.client import peer_channel

FETCH_DEADLINE_S = 5.0


def broker_channel(
    *,
    own_name: str,
    own_tls: TlsIdentity,
    pinned: PinnedBroker,
    endpoint: str,
    interceptors: Sequence[grpc.aio.ClientInterceptor] = (),
) -> grpc.aio.Channel:
    """A channel that only the pinned broker can terminate."""
    return peer_channel(
        own_name=own_name,
        own_tls=own_tls,
        peer_name=pinned.tls_name,
        peer_cert_pem=pinned.cert_pem,
        endpoint=endpoint,
        interceptors=interceptors,
    )


async def fetch_directory(
    channel: grpc.aio.Channel, *, known_version: int, deadline_s: float = FETCH_DEADLINE_S
) -> SignedDirectory:
    """The broker's current signed directory (not yet verified).

    Waits for the channel to be ready (up to the deadline) rather than failing at once
    while gRPC backs off reconnecting: a broker that just came back, or a node that was
    just admitted, is reached at the next refresh.
    """
    stub: Any = broker_pb2_grpc.DirectoryServiceStub(channel)
    try:
        reply = await stub.GetDirectory(
            broker_pb2.GetDirectoryRequest(known_version=known_version),
            timeout=deadline_s,
            wait_for_ready=True,
        )
    except grpc.aio.AioRpcError as e:
        if e.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            detail = (
                "unreachable or refused our TLS handshake (is it running, and is this node "
                f"still a member?): {e.details()}"
            )
        else:
            detail = f"answered {e.code().name}: {e.details()}"
        raise BrokerUnreachableError(f"broker {detail}") from e
    return SignedDirectory(body=bytes(reply.directory), signature=bytes(reply.signature))
