"""A ``grpc.aio.Channel`` to a relay-only peer: the existing clients work through it unchanged.

Each unary call is sealed into a ``RelayedCall`` envelope to the peer, carried by the
broker's ``RelayService.Forward``, and its reply envelope opened and checked (from that
peer, to us, answering this very envelope). A refusal comes back as the
``grpc.aio.AioRpcError`` a direct call would raise: same code, same message, same
``PolicyDenial`` details. Server-streaming calls (the index stream) return what the
peer's stream produced in one window and then end normally; the caller resumes from its
cursor (see :mod:`node.relay.dispatch`). Client-streaming methods cannot travel through
the relay (Accord has none) and fail with UNIMPLEMENTED.

When the broker cannot be reached, calls fail with UNAVAILABLE saying that the peer is
reachable only through the relay and that the broker is unreachable.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Generator
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import grpc
import grpc.aio
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from accord.v1 import broker_pb2, broker_pb2_grpc
from crypto.envelope import ENVELOPE_ID_SIZE, Envelope, open_envelope, seal_envelope
from crypto.errors import EnvelopeError
from node.relay.errors import RelayedCallError
from node.relay.link import wall_clock_ms
from node.relay.wire import (
    decode_reply,
    decode_stream,
    encode_call,
    envelope_from_proto,
    envelope_to_proto,
)
from node.rpc.denials import DETAILS_KEY
from node.store.peers import Peer

Req = TypeVar("Req")
Resp = TypeVar("Resp")

#: Trailer the broker's relay sets on its own refusals (to tell them from a dead broker).
RELAY_REFUSAL_HEADER = "accord-relay-refusal"
#: How long a call waits for the broker's connection before calling it unreachable.
CONNECT_WAIT_S = 5.0
#: Deadline of a relayed call made without one (a stream's window plus margin).
DEFAULT_DEADLINE_S = 45.0


def _error(
    code: grpc.StatusCode, details: str, status_details: bytes = b""
) -> grpc.aio.AioRpcError:
    trailers = grpc.aio.Metadata()
    if status_details:
        trailers.add(DETAILS_KEY, status_details)
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), trailers, details=details)


class BrokerForwarder:
    """``RelayService.Forward`` over the node's mutual-TLS channel to the broker."""

    def __init__(self, channel: grpc.aio.Channel, *, broker_endpoint: str) -> None:
        self.channel = channel
        self._stub: Any = broker_pb2_grpc.RelayServiceStub(channel)
        self._endpoint = broker_endpoint

    async def forward(self, envelope: Envelope, *, peer_name: str, timeout_s: float) -> Envelope:
        """The reply envelope to ``envelope``, or the ``AioRpcError`` a caller should see."""
        unreachable = (
            f"{peer_name} is reachable only through the relay, and the broker at "
            f"{self._endpoint} is unreachable"
        )
        try:
            await asyncio.wait_for(self.channel.channel_ready(), min(timeout_s, CONNECT_WAIT_S))
        except TimeoutError as e:
            raise _error(grpc.StatusCode.UNAVAILABLE, unreachable) from e
        try:
            reply = await self._stub.Forward(
                broker_pb2.ForwardRequest(envelope=envelope_to_proto(envelope)),
                timeout=timeout_s,
                wait_for_ready=False,
            )
        except grpc.aio.AioRpcError as e:
            refused = any(k == RELAY_REFUSAL_HEADER for k, _ in e.trailing_metadata() or ())
            if refused:
                raise _error(
                    e.code(), f"{peer_name} is reachable only through the relay: {e.details()}"
                ) from e
            if e.code() is grpc.StatusCode.DEADLINE_EXCEEDED:
                raise _error(
                    e.code(), f"{peer_name} did not answer through the relay within {timeout_s:g} s"
                ) from e
            raise _error(grpc.StatusCode.UNAVAILABLE, f"{unreachable}: {e.details()}") from e
        return envelope_from_proto(reply.reply)


class RelayChannel(grpc.aio.Channel):
    """A channel whose calls travel to ``peer`` as sealed envelopes through the broker."""

    def __init__(
        self,
        *,
        own_name: str,
        signing_key: SigningKey,
        sealing_key: PrivateKey,
        peer: Peer,
        forwarder: BrokerForwarder,
        clock_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self._own_name = own_name
        self._signing_key = signing_key
        self._sealing_key = sealing_key
        self._peer = peer
        self._forwarder = forwarder
        self._clock_ms = clock_ms

    async def invoke(self, method: str, request: bytes, timeout_s: float | None) -> bytes:
        """Relay one call; returns the reply body or raises the call's ``AioRpcError``."""
        peer = self._peer
        timeout = DEFAULT_DEADLINE_S if timeout_s is None else timeout_s
        envelope_id = os.urandom(ENVELOPE_ID_SIZE)
        try:
            envelope = seal_envelope(
                encode_call(method, request),
                sender=self._own_name,
                sender_key=self._signing_key,
                recipient=peer.name,
                recipient_public=peer.sealing_key,
                envelope_id=envelope_id,
                now_ms=self._clock_ms(),
            )
        except EnvelopeError as e:
            raise _error(grpc.StatusCode.RESOURCE_EXHAUSTED, str(e)) from e
        reply = await self._forwarder.forward(envelope, peer_name=peer.name, timeout_s=timeout)
        try:
            if reply.in_reply_to != envelope_id or reply.sender != peer.name:
                raise EnvelopeError("the relay returned a reply to another envelope")
            opened = open_envelope(
                reply,
                recipient=self._own_name,
                recipient_key=self._sealing_key,
                sender_public=peer.signing_key,
            )
            answer = decode_reply(opened.payload)
        except (EnvelopeError, RelayedCallError) as e:
            raise _error(
                grpc.StatusCode.UNAVAILABLE,
                f"the reply of {peer.name} through the relay does not verify: {e}",
            ) from e
        if answer.code is not grpc.StatusCode.OK:
            raise _error(answer.code, answer.message, answer.body)
        return answer.body

    # -- grpc.aio.Channel ----------------------------------------------------------------

    def unary_unary(
        self,
        method: str,
        request_serializer: Callable[[Any], bytes] | None = None,
        response_deserializer: Callable[[bytes], Any] | None = None,
        _registered_method: bool | None = False,
    ) -> grpc.aio.UnaryUnaryMultiCallable[Any, Any]:
        return _UnaryUnary(self, method, request_serializer, response_deserializer)

    def unary_stream(
        self,
        method: str,
        request_serializer: Callable[[Any], bytes] | None = None,
        response_deserializer: Callable[[bytes], Any] | None = None,
        _registered_method: bool | None = False,
    ) -> grpc.aio.UnaryStreamMultiCallable[Any, Any]:
        return _UnaryStream(self, method, request_serializer, response_deserializer)

    def stream_unary(
        self,
        method: str,
        request_serializer: Callable[[Any], bytes] | None = None,
        response_deserializer: Callable[[bytes], Any] | None = None,
        _registered_method: bool | None = False,
    ) -> grpc.aio.StreamUnaryMultiCallable[Any, Any]:
        raise _client_streaming(method)

    def stream_stream(
        self,
        method: str,
        request_serializer: Callable[[Any], bytes] | None = None,
        response_deserializer: Callable[[bytes], Any] | None = None,
        _registered_method: bool | None = False,
    ) -> grpc.aio.StreamStreamMultiCallable[Any, Any]:
        raise _client_streaming(method)

    async def close(self, grace: float | None = None) -> None:
        """The broker channel is shared by every relayed peer; its owner closes it."""

    def get_state(self, try_to_connect: bool = False) -> grpc.ChannelConnectivity:
        return self._forwarder.channel.get_state(try_to_connect)

    async def wait_for_state_change(self, last_observed_state: grpc.ChannelConnectivity) -> None:
        await self._forwarder.channel.wait_for_state_change(last_observed_state)

    async def channel_ready(self) -> None:
        await self._forwarder.channel.channel_ready()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool | None:
        await self.close()
        return None


def _client_streaming(method: str) -> grpc.aio.AioRpcError:
    return _error(
        grpc.StatusCode.UNIMPLEMENTED,
        f"{method} streams requests, which cannot travel through the relay",
    )


def _serializer(s: Callable[[Any], bytes] | None) -> Callable[[Any], bytes]:
    return s if s is not None else bytes


def _deserializer(d: Callable[[bytes], Any] | None) -> Callable[[bytes], Any]:
    return d if d is not None else bytes


class _Call(Generic[Resp]):
    """The parts of ``grpc.aio.Call`` a relayed call implements over one task."""

    def __init__(self, task: asyncio.Task[Resp]) -> None:
        self._task = task

    def _error(self) -> grpc.aio.AioRpcError | None:
        if not self._task.done() or self._task.cancelled():
            return None
        e = self._task.exception()
        return e if isinstance(e, grpc.aio.AioRpcError) else None

    def cancelled(self) -> bool:
        return self._task.cancelled()

    def done(self) -> bool:
        return self._task.done()

    def time_remaining(self) -> float | None:
        return None

    def cancel(self) -> bool:
        return self._task.cancel()

    def add_done_callback(self, callback: Any) -> None:
        self._task.add_done_callback(lambda _: callback(self))

    async def initial_metadata(self) -> grpc.aio.Metadata:
        return grpc.aio.Metadata()

    async def trailing_metadata(self) -> grpc.aio.Metadata:
        await asyncio.wait([self._task])
        e = self._error()
        return e.trailing_metadata() if e is not None else grpc.aio.Metadata()

    async def code(self) -> grpc.StatusCode:
        await asyncio.wait([self._task])
        if self._task.cancelled():
            return grpc.StatusCode.CANCELLED
        e = self._error()
        return e.code() if e is not None else grpc.StatusCode.OK

    async def details(self) -> str:
        await asyncio.wait([self._task])
        e = self._error()
        return (e.details() or "") if e is not None else ""

    async def wait_for_connection(self) -> None:
        """A relayed call has no connection of its own (the broker's is shared)."""


class _UnaryUnaryCall(_Call[Any], grpc.aio.UnaryUnaryCall[Any, Any]):
    def __await__(self) -> Generator[Any, None, Any]:
        return self._task.__await__()


class _UnaryStreamCall(_Call[list[Any]], grpc.aio.UnaryStreamCall[Any, Any]):
    def __init__(self, task: asyncio.Task[list[Any]]) -> None:
        super().__init__(task)
        self._read_at = 0

    async def _iterate(self) -> AsyncIterator[Any]:
        for message in await self._task:
            yield message

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def read(self) -> Any:
        messages = await self._task
        if self._read_at >= len(messages):
            return grpc.aio.EOF
        self._read_at += 1
        return messages[self._read_at - 1]


class _RelayedMethod:
    """What every relayed multicallable holds: the channel, the method and its codecs."""

    def __init__(
        self,
        channel: RelayChannel,
        method: str,
        serializer: Callable[[Any], bytes] | None,
        deserializer: Callable[[bytes], Any] | None,
    ) -> None:
        self._channel = channel
        self._method = method
        self._serialize = _serializer(serializer)
        self._deserialize = _deserializer(deserializer)


class _UnaryUnary(_RelayedMethod, grpc.aio.UnaryUnaryMultiCallable[Any, Any]):
    def __call__(
        self,
        request: Any,
        *,
        timeout: float | None = None,
        metadata: Any = None,
        credentials: grpc.CallCredentials | None = None,
        wait_for_ready: bool | None = None,
        compression: grpc.Compression | None = None,
    ) -> grpc.aio.UnaryUnaryCall[Any, Any]:
        async def run() -> Any:
            body = await self._channel.invoke(self._method, self._serialize(request), timeout)
            return self._deserialize(body)

        return _UnaryUnaryCall(asyncio.ensure_future(run()))


class _UnaryStream(_RelayedMethod, grpc.aio.UnaryStreamMultiCallable[Any, Any]):
    def __call__(
        self,
        request: Any,
        *,
        timeout: float | None = None,
        metadata: Any = None,
        credentials: grpc.CallCredentials | None = None,
        wait_for_ready: bool | None = None,
        compression: grpc.Compression | None = None,
    ) -> grpc.aio.UnaryStreamCall[Any, Any]:
        async def run() -> list[Any]:
            body = await self._channel.invoke(self._method, self._serialize(request), timeout)
            try:
                return [self._deserialize(m) for m in decode_stream(body)]
            except RelayedCallError as e:
                raise _error(grpc.StatusCode.UNAVAILABLE, str(e)) from e

        return _UnaryStreamCall(asyncio.ensure_future(run()))
