"""A channel from the ``accord`` CLI to its own running node.

The CLI on the node's host authenticates exactly as the node does: with the node's own
TLS key and certificate (``tls/node.key``, readable only by its admins). The server's
:class:`~node.rpc.interceptors.CallGuard` recognises its own certificate and marks the
call ``is_self``, which ``NodeAdminService`` requires; the channel pins that same
certificate, so only the node itself can answer. Typical use::

    async with node_admin(home) as stub:   # waits for the node, or says it is not running
        reply = await stub.ListAgreements(node_admin_pb2.ListAgreementsRequest())

The node MUST listen on a fixed port for this (``server.listen`` in ``accord.toml``); a
wildcard host (``0.0.0.0``, ``[::]``) is reached on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc.aio

from accord.v1 import node_admin_pb2_grpc
from node.config import load_config
from node.errors import ConfigError, PeerUnavailableError
from node.identity import load_tls_identity
from node.rpc.client import peer_channel

_HOST_PORT = re.compile(r"^(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(?P<port>\d{1,5})$")
_LOOPBACK = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]"}  # noqa: S104 - mapped away, not bound


def self_endpoint(listen: str) -> str:
    """Where a client on this host reaches a node that listens on ``listen``.

    Raises ``ValueError`` for port 0 (the node picks a port only when it starts, so no
    client can know it) and for anything that is not ``host:port``.
    """
    m = _HOST_PORT.match(listen)
    if not m:
        raise ValueError(f"listen address {listen!r} must be host:port")
    if int(m.group("port")) == 0:
        raise ValueError("the node listens on port 0 (any free port); set a fixed port")
    host = _LOOPBACK.get(m.group("host"), m.group("host"))
    return f"{host}:{m.group('port')}"


#: How long a CLI command waits for its node to accept the connection.
CONNECT_TIMEOUT_S = 5.0


def _endpoint(home: Path) -> str:
    config = load_config(home)
    try:
        return self_endpoint(config.listen)
    except ValueError as e:
        raise ConfigError(config.config_path, str(e), setting="server.listen") from e


def self_channel(home: Path, *, endpoint: str | None = None) -> grpc.aio.Channel:
    """A mutual-TLS channel to the node at ``home``, as the node itself.

    ``endpoint`` overrides the address from ``server.listen``. Raises
    :class:`~node.errors.ConfigError` or :class:`~node.errors.KeyFileError` when the home,
    its configuration or its TLS key cannot be used. Nothing is sent until the first
    call; the caller closes the channel (``async with``).
    """
    config = load_config(home)
    tls = load_tls_identity(home)
    return peer_channel(
        own_name=config.name,
        own_tls=tls,
        peer_name=config.name,
        peer_cert_pem=tls.cert_pem,
        endpoint=endpoint or _endpoint(home),
    )


def node_admin_stub(channel: grpc.aio.Channel) -> Any:
    """The ``NodeAdminService`` stub on ``channel`` (the generated stubs are untyped)."""
    return node_admin_pb2_grpc.NodeAdminServiceStub(channel)


@contextlib.asynccontextmanager
async def node_admin(
    home: Path, *, endpoint: str | None = None, timeout_s: float = CONNECT_TIMEOUT_S
) -> AsyncIterator[Any]:
    """The ``NodeAdminService`` of the node at ``home``, once it accepts the connection.

    Raises :class:`~node.errors.PeerUnavailableError` naming the address when the node
    does not answer within ``timeout_s`` (it is not running, or listens elsewhere), so a
    CLI prints one clear line instead of gRPC's connection error.
    """
    target = endpoint or _endpoint(home)
    async with self_channel(home, endpoint=target) as channel:
        try:
            await asyncio.wait_for(channel.channel_ready(), timeout_s)
        except TimeoutError:
            raise PeerUnavailableError(
                f"the node at {home} does not answer on {target} "
                f"(is `accord node serve --dir {home}` running?)"
            ) from None
        yield node_admin_stub(channel)
