"""The broker's RelayService on the broker's own TLS server: who may hold a stream, what
Forward refuses and with which status, and that it holds nothing once calls are done."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio
import pytest

from accord.v1 import broker_pb2, broker_pb2_grpc
from broker.relay_service import (
    RELAY_REFUSAL_HEADER,
    RELAY_SERVICE_NAME,
    DirectoryMembers,
    RelayServicer,
    envelope_from_proto,
    envelope_to_proto,
)
from broker.server import BrokerServer
from crypto.certs import TlsIdentity, new_tls_identity
from crypto.directory import Member
from crypto.envelope import MAX_CIPHERTEXT_BYTES, Envelope
from tests.support.relay import Party, RawStream, channel_to


@dataclass
class Relay:
    server: BrokerServer
    relay: RelayServicer
    tls: TlsIdentity
    members: list[Member]
    parties: dict[str, Party]

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    def channel(self, name: str) -> grpc.aio.Channel:
        return channel_to(self.parties[name], self.tls, self.endpoint)

    def stub(self, name: str) -> Any:
        return broker_pb2_grpc.RelayServiceStub(self.channel(name))

    def stream(self, name: str) -> RawStream:
        return RawStream(self.channel(name))


@pytest.fixture
async def relay() -> AsyncIterator[Relay]:
    parties = {n: Party(n) for n in ("alpha-pd", "bravo-pd", "charlie-pd")}
    members = [p.member() for p in parties.values()]
    tls = new_tls_identity("broker", now=dt.datetime.now(dt.UTC))
    server = BrokerServer(name="broker", tls=tls, members=lambda: members, listen="127.0.0.1:0")
    servicer = RelayServicer(DirectoryMembers(lambda: members))
    server.add_service(
        RELAY_SERVICE_NAME, broker_pb2_grpc.add_RelayServiceServicer_to_server, servicer
    )
    await server.start()
    try:
        yield Relay(server, servicer, tls, members, parties)
    finally:
        await server.stop(grace=0)


async def forward(stub: Any, envelope: Envelope, deadline_s: float = 30) -> Envelope:
    reply = await stub.Forward(
        broker_pb2.ForwardRequest(envelope=envelope_to_proto(envelope)), timeout=deadline_s
    )
    return envelope_from_proto(reply.reply)


async def refused(stub: Any, envelope: Envelope, deadline_s: float = 30) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await forward(stub, envelope, deadline_s)
    return raised.value


async def test_a_call_reaches_a_connected_member_and_its_reply_comes_back(relay: Relay) -> None:
    alpha, bravo = relay.parties["alpha-pd"], relay.parties["bravo-pd"]
    stream = relay.stream("bravo-pd")
    assert (await stream.read()).WhichOneof("frame") == "heartbeat"  # attached
    request = alpha.seal_to(bravo, b"sealed call")
    pending = asyncio.ensure_future(forward(relay.stub("alpha-pd"), request))
    arrived = envelope_from_proto(await stream.next_envelope())
    assert arrived == request  # byte for byte: the relay forwards, never rewrites
    reply = bravo.seal_to(alpha, b"sealed answer", in_reply_to=request.envelope_id)
    stream.send(reply)
    assert await pending == reply
    assert relay.relay.routes.state_summary()["pending"] == []


async def test_a_member_that_is_not_connected_is_unavailable(relay: Relay) -> None:
    alpha, bravo = relay.parties["alpha-pd"], relay.parties["bravo-pd"]
    error = await refused(relay.stub("alpha-pd"), alpha.seal_to(bravo))
    assert error.code() is grpc.StatusCode.UNAVAILABLE
    assert error.details() == "bravo-pd is not connected to the relay"
    assert any(k == RELAY_REFUSAL_HEADER for k, _ in error.trailing_metadata() or ())


async def test_an_envelope_must_be_sent_and_signed_by_the_caller(relay: Relay) -> None:
    alpha, bravo, charlie = (relay.parties[n] for n in ("alpha-pd", "bravo-pd", "charlie-pd"))
    relay.stream("bravo-pd")
    as_charlie = charlie.seal_to(bravo)
    error = await refused(relay.stub("alpha-pd"), as_charlie)  # alpha's certificate
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "claims sender 'charlie-pd'" in (error.details() or "")
    forged = dataclasses.replace(alpha.seal_to(bravo), signature=charlie.seal_to(bravo).signature)
    error = await refused(relay.stub("alpha-pd"), forged)
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED
    assert error.details() == "the envelope is not signed by alpha-pd"


async def test_malformed_or_oversized_envelopes_are_invalid(relay: Relay) -> None:
    alpha, bravo = relay.parties["alpha-pd"], relay.parties["bravo-pd"]
    stub = relay.stub("alpha-pd")
    good = alpha.seal_to(bravo)
    for bad in (
        dataclasses.replace(good, ciphertext=bytes(MAX_CIPHERTEXT_BYTES + 1)),
        dataclasses.replace(good, envelope_id=b"short"),
        dataclasses.replace(good, in_reply_to=good.envelope_id),  # a reply is not a call
    ):
        error = await refused(stub, bad)
        assert error.code() is grpc.StatusCode.INVALID_ARGUMENT, error.details()


async def test_no_reply_in_time_is_deadline_exceeded(relay: Relay) -> None:
    alpha, bravo = relay.parties["alpha-pd"], relay.parties["bravo-pd"]
    stream = relay.stream("bravo-pd")
    await stream.read()
    relay.relay.max_wait_s = 0.2
    error = await refused(relay.stub("alpha-pd"), alpha.seal_to(bravo))
    assert error.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert "did not reply through the relay" in (error.details() or "")
    assert relay.relay.routes.state_summary()["pending"] == []


async def test_a_reply_from_another_member_is_not_delivered(relay: Relay) -> None:
    alpha, bravo, charlie = (relay.parties[n] for n in ("alpha-pd", "bravo-pd", "charlie-pd"))
    to_bravo = relay.stream("bravo-pd")
    intruder = relay.stream("charlie-pd")
    await to_bravo.read()
    await intruder.read()
    relay.relay.max_wait_s = 1.0
    request = alpha.seal_to(bravo)
    pending = asyncio.ensure_future(refused(relay.stub("alpha-pd"), request))
    await to_bravo.next_envelope()
    intruder.send(charlie.seal_to(alpha, b"not yours", in_reply_to=request.envelope_id))
    assert (await pending).code() is grpc.StatusCode.DEADLINE_EXCEEDED


async def test_a_new_stream_replaces_the_old_one(relay: Relay) -> None:
    first = relay.stream("bravo-pd")
    await first.read()
    second = relay.stream("bravo-pd")
    await second.read()
    assert await first.ended_with() is grpc.StatusCode.ABORTED
    assert list(relay.relay.routes.connected()) == ["bravo-pd"]


async def test_a_removed_member_loses_its_stream_and_its_calls(relay: Relay) -> None:
    alpha, bravo = relay.parties["alpha-pd"], relay.parties["bravo-pd"]
    stream = relay.stream("bravo-pd")
    await stream.read()
    relay.members[:] = [m for m in relay.members if m.name != "bravo-pd"]
    relay.relay.directory_changed()
    assert await stream.ended_with() is grpc.StatusCode.PERMISSION_DENIED
    error = await refused(relay.stub("alpha-pd"), alpha.seal_to(bravo))
    assert error.code() is grpc.StatusCode.UNAVAILABLE
    with pytest.raises(grpc.aio.AioRpcError):  # and it cannot come back
        await relay.stream("bravo-pd").read()


async def test_a_silent_member_is_dropped(relay: Relay) -> None:
    relay.relay.heartbeat_s = 0.1
    stream = relay.stream("bravo-pd")
    await stream.read()
    # The member never writes (not even heartbeats): after three heartbeats it is closed.
    assert await stream.ended_with() is grpc.StatusCode.OK
    assert relay.relay.routes.connected() == {}
