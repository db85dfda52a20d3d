"""A node's relay: channels to relay-only peers, and its own link when it is relay-only.

:class:`NodeRelay` is what :class:`~node.app.NodeApp` holds when it belongs to a
federation. Per call it decides whether a peer is reached directly or through the
broker (the directory's ``relay_only`` flag) and hands out
:class:`~node.relay.channel.RelayChannel` s for the latter; while this node's own
directory entry is relay-only, it keeps :class:`~node.relay.link.RelayLink` running so
peers can reach it. All of it shares the federation link's one channel to the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

import grpc.aio
from sqlalchemy.orm import Session, sessionmaker

from node.federation.errors import FederationError
from node.federation.link import FederationLink
from node.identity import NodeKeys
from node.ids import NodeId
from node.relay.channel import BrokerForwarder, RelayChannel
from node.relay.dispatch import RelayDispatcher
from node.relay.handlers import HandlerTable
from node.relay.link import RelayLink
from node.rpc.interceptors import CallGuard
from node.rpc.peers import PeerResolver
from node.server import ServiceRegistration
from node.store.db import session_scope
from node.store.peers import Peer, PeerRepository

log = logging.getLogger(__name__)

#: How often a node that is not (yet) relay-only looks again at its directory entry.
LISTEN_CHECK_S = 1.0


class NodeRelay:
    """Routes calls to relay-only peers through the broker, and keeps this node reachable
    through it while it is relay-only itself."""

    def __init__(
        self,
        *,
        own_name: str,
        keys: NodeKeys,
        channel: grpc.aio.Channel,
        broker_endpoint: str,
        relay_only: Callable[[str], bool],
        peer_named: Callable[[str], Peer | None],
    ) -> None:
        self.own_name = own_name
        self._keys = keys
        self._relay_only = relay_only
        self._peer_named = peer_named
        self.channel = channel
        self.forwarder = BrokerForwarder(channel, broker_endpoint=broker_endpoint)
        self.link: RelayLink | None = None
        self._task: asyncio.Task[None] | None = None

    def routes_through_relay(self, peer: Peer) -> bool:
        return self._relay_only(peer.name)

    def channel_for(self, peer: Peer) -> RelayChannel:
        """A channel to ``peer`` through the broker (cheap: the broker channel is shared)."""
        return RelayChannel(
            own_name=self.own_name,
            signing_key=self._keys.signing,
            sealing_key=self._keys.sealing,
            peer=peer,
            forwarder=self.forwarder,
        )

    def start(self, services: Sequence[ServiceRegistration], peers: PeerResolver) -> None:
        """Run the link over ``services`` (the registrations the node's server mounts,
        guarded as its server guards them) whenever this node is relay-only."""
        if self._task is not None:
            return
        guard = CallGuard(
            own_cert_sha256=self._keys.tls.fingerprint, own_name=self.own_name, peers=peers
        )
        self.link = RelayLink(
            own_name=self.own_name,
            signing_key=self._keys.signing,
            sealing_key=self._keys.sealing,
            broker=self.channel,
            peer_named=self._peer_named,
            dispatcher=RelayDispatcher(HandlerTable.from_registrations(services), guard),
        )
        self._task = asyncio.create_task(self._listen(self.link), name="relay-link")

    async def _listen(self, link: RelayLink) -> None:
        while True:
            if await asyncio.to_thread(self._relay_only, self.own_name):
                break
            await asyncio.sleep(LISTEN_CHECK_S)
        log.info("%s is relay-only: keeping a stream to the broker", self.own_name)
        await link.run()

    async def close(self) -> None:
        """Stop the link (the broker channel belongs to the federation link)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def federated_relay(
    *, own_name: str, keys: NodeKeys, federation: FederationLink, sessions: sessionmaker[Session]
) -> NodeRelay:
    """The relay of a federated node: routes and keys from its held, verified directory,
    peers (and their pinned keys) from its peer table, which that directory fills."""

    def relay_only(name: str) -> bool:
        try:
            return federation.relay_only(name)
        except FederationError:
            return False  # not listed, or no valid directory: nothing to relay to

    def peer_named(name: str) -> Peer | None:
        with session_scope(sessions) as s:
            return PeerRepository(s).get(NodeId(name))

    return NodeRelay(
        own_name=own_name,
        keys=keys,
        channel=federation.channel(),
        broker_endpoint=federation.settings.broker,
        relay_only=relay_only,
        peer_named=peer_named,
    )
