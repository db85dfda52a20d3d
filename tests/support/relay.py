"""The broker's relay in tests: a broker with the relay mounted, raw relay streams, and a
tap that records every byte the relay receives and sends.

Everything is real: the broker's own server (``broker.server.BrokerServer``) with TLS
client certificates, the relay servicer, and nodes joined through the federation code.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import time
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc.aio
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from accord.v1 import broker_pb2, broker_pb2_grpc
from broker.app import BrokerApp
from broker.home import init_broker_home
from broker.relay_service import (
    RELAY_SERVICE_NAME,
    DirectoryMembers,
    RelayServicer,
    envelope_to_proto,
)
from crypto.certs import TlsIdentity, new_tls_identity
from crypto.directory import Member
from crypto.envelope import ENVELOPE_ID_SIZE, Envelope, seal_envelope
from node.app import NodeApp
from node.rpc.client import peer_channel
from tests.support.broker import FEDERATION, Federation, RunningBroker, admit, join
from tests.support.federation import NodeSpec, init_homes


class RelayTap(RelayServicer):
    """The relay, recording the serialized bytes of every message in and out of it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.frames: list[bytes] = []
        #: Every Forward request, as received (a malicious broker could replay these).
        self.requests: list[broker_pb2.ForwardRequest] = []
        #: Snapshots of everything the relay held, taken as each message passed.
        self.held: list[bytes] = []

    def _record(self, message: Any) -> None:
        self.frames.append(message.SerializeToString())
        self.held.append(repr(self.routes.state_summary()).encode())
        for link in list(self.routes._links.values()):
            self.held.extend(e.ciphertext for e in list(link.outbox._queue) if e is not None)  # type: ignore[attr-defined]

    async def Connect(  # type: ignore[override]
        self, request_iterator: AsyncIterator[broker_pb2.RelayFrame], context: Any
    ) -> AsyncIterator[broker_pb2.RelayFrame]:
        async def recorded() -> AsyncIterator[broker_pb2.RelayFrame]:
            async for frame in request_iterator:
                self._record(frame)
                yield frame

        async for frame in super().Connect(recorded(), context):
            self._record(frame)
            yield frame

    async def Forward(
        self, request: broker_pb2.ForwardRequest, context: Any
    ) -> broker_pb2.ForwardResponse:
        self._record(request)
        self.requests.append(request)
        reply = await super().Forward(request, context)
        self._record(reply)
        return reply


def tap_relay(app: BrokerApp) -> RelayTap:
    """Put a :class:`RelayTap` in place of the relay the broker mounts (before start)."""
    for service in app.server.services:
        if service.full_name == RELAY_SERVICE_NAME:
            tap = RelayTap(DirectoryMembers(lambda: app.directory().members))
            service.servicer = tap
            return tap
    raise AssertionError("the broker mounts no relay")


@dataclass
class RelayBroker:
    """A running broker with a (tapped) relay; stoppable and restartable on its port."""

    running: RunningBroker
    relay: RelayTap

    async def stop(self) -> None:
        await self.running.stop()

    async def restart(self) -> None:
        """Serve again on the same port with a fresh relay (a broker restart)."""
        app = BrokerApp.open(self.running.home, listen=self.running.endpoint)
        self.relay = tap_relay(app)
        await app.start()
        self.running.app = app


async def start_relay_broker(home: Path) -> RelayBroker:
    init_broker_home(
        home,
        federation=FEDERATION,
        listen="127.0.0.1:0",
        validity_s=7 * 24 * 3600,
        now=dt.datetime.now(dt.UTC),
    )
    app = BrokerApp.open(home)
    relay = tap_relay(app)
    port = await app.start()
    return RelayBroker(RunningBroker(app=app, home=home, port=port), relay)


@dataclass
class RelayFederation(Federation):
    relay_broker: RelayBroker | None = None

    @property
    def relay(self) -> RelayTap:
        assert self.relay_broker is not None
        return self.relay_broker.relay

    def node(self, name: str) -> NodeApp:
        return next(n for n in self.nodes if n.config.name == name)


@contextlib.asynccontextmanager
async def relay_federation(
    tmp_path: Path, specs: Sequence[NodeSpec], *, relay_only: Collection[str]
) -> AsyncIterator[RelayFederation]:
    """A broker with the relay and one node per spec; the ``relay_only`` nodes are listed
    without an endpoint and their own servers are stopped (nobody can dial them)."""
    rb = await start_relay_broker(tmp_path / "broker")
    homes = init_homes(tmp_path, specs)
    for home in homes:
        join(home, rb.running)
    nodes = [NodeApp.open(h, listen="127.0.0.1:0") for h in homes]
    fed = RelayFederation(
        broker=rb.running, nodes=nodes, homes=homes, specs=list(specs), relay_broker=rb
    )
    try:
        for node in nodes:
            node.publish_interval_s = 3600
            fed.ports.append(await node.start())
        for spec, home, port in zip(specs, homes, fed.ports, strict=True):
            admit(
                rb.running,
                home,
                spec,
                endpoint=f"127.0.0.1:{port}",
                relay_only=spec.name in relay_only,
            )
        await fed.refresh_all()
        for node in nodes:
            if node.config.name in relay_only:
                await node.server.stop(grace=0)  # reachable only through the relay now
                assert node.relay is not None and node.relay.link is not None
                await asyncio.wait_for(node.relay.link.connected.wait(), 30)
        yield fed
    finally:
        for node in nodes:
            await node.close()
        await fed.broker.stop()


# -- raw relay clients (for the relay's own tests) ------------------------------------------


@dataclass
class Party:
    """A member as the relay sees it: TLS identity and signing and sealing keys."""

    name: str
    tls: TlsIdentity = field(init=False)
    signing: SigningKey = field(default_factory=SigningKey.generate)
    sealing: PrivateKey = field(default_factory=PrivateKey.generate)

    def __post_init__(self) -> None:
        self.tls = new_tls_identity(self.name, now=dt.datetime.now(dt.UTC))

    def member(self) -> Member:
        return Member(
            name=self.name,
            ori="CA0000000",
            jurisdiction="US-CA",
            kind="municipal",
            endpoint="",
            relay_only=True,
            cert_pem=self.tls.cert_pem.decode(),
            cert_sha256=self.tls.fingerprint,
            signing_key=bytes(self.signing.verify_key).hex(),
            log_key="00" * 32,
            witness_key="00" * 32,
            sealing_key=bytes(self.sealing.public_key).hex(),
        )

    def seal_to(
        self, recipient: Party, payload: bytes = b"call", *, in_reply_to: bytes = b""
    ) -> Envelope:
        return seal_envelope(
            payload,
            sender=self.name,
            sender_key=self.signing,
            recipient=recipient.name,
            recipient_public=bytes(recipient.sealing.public_key),
            envelope_id=os.urandom(ENVELOPE_ID_SIZE),
            now_ms=time.time_ns() // 1_000_000,
            in_reply_to=in_reply_to,
        )


def channel_to(party: Party, broker: TlsIdentity, endpoint: str) -> grpc.aio.Channel:
    return peer_channel(
        own_name=party.name,
        own_tls=party.tls,
        peer_name="broker",
        peer_cert_pem=broker.cert_pem,
        endpoint=endpoint,
    )


class RawStream:
    """A member's Connect stream, driven by hand."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.out: asyncio.Queue[broker_pb2.RelayFrame | None] = asyncio.Queue()
        self.call: Any = broker_pb2_grpc.RelayServiceStub(channel).Connect(self._frames())

    async def _frames(self) -> AsyncIterator[broker_pb2.RelayFrame]:
        while True:
            frame = await self.out.get()
            if frame is None:
                return
            yield frame

    async def read(self) -> broker_pb2.RelayFrame:
        frame = await asyncio.wait_for(self.call.read(), 30)
        assert frame is not grpc.aio.EOF, "the relay ended the stream"
        return frame  # type: ignore[no-any-return]

    async def next_envelope(self) -> broker_pb2.SealedEnvelope:
        while True:
            frame = await self.read()
            if frame.WhichOneof("frame") == "envelope":
                return frame.envelope

    def send(self, envelope: Envelope) -> None:
        self.out.put_nowait(broker_pb2.RelayFrame(envelope=envelope_to_proto(envelope)))

    async def ended_with(self) -> grpc.StatusCode:
        """Read until the relay ends the stream; its status code."""
        with contextlib.suppress(grpc.aio.AioRpcError):
            while await asyncio.wait_for(self.call.read(), 30) is not grpc.aio.EOF:
                pass
        return await self.call.code()  # type: ignore[no-any-return]
