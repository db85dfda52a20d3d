"""The outbound stream a relay-only node keeps to the broker.

The node dials out (it accepts no connections), holds ``RelayService.Connect`` open and
answers the envelopes the broker pushes down it. Each envelope MUST come from a peer this
node knows, MUST be signed by that peer's pinned signing key and sealed to this node's
sealing key, and MUST NOT be a replay (:class:`~crypto.envelope.ReplayGuard`); anything
else is dropped unanswered and counted in :attr:`RelayLink.refused`. An accepted call is
dispatched to this node's own handlers (:mod:`node.relay.dispatch`) and the reply is
sealed back to the caller.

When the stream breaks (the broker restarts, the network drops) the link dials again
with exponential backoff and jitter, and the backoff starts over once the broker answers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import grpc.aio
from google.protobuf import timestamp_pb2
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from accord.v1 import broker_pb2, broker_pb2_grpc
from crypto.envelope import (
    ENVELOPE_ID_SIZE,
    Envelope,
    ReplayGuard,
    open_envelope,
    seal_envelope,
)
from crypto.errors import EnvelopeError
from node.relay.dispatch import RelayDispatcher
from node.relay.errors import RelayedCallError
from node.relay.wire import (
    RelayedReply,
    decode_call,
    envelope_from_proto,
    envelope_to_proto,
)
from node.store.peers import Peer

log = logging.getLogger(__name__)

HEARTBEAT_S = 10.0
BACKOFF_INITIAL_S = 0.25
BACKOFF_MAX_S = 5.0
#: Relayed calls this node answers at once; more wait for a free slot.
CONCURRENT_CALLS = 16


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class RelayLink:
    """Keeps this node reachable through the broker; run :meth:`run` as a task."""

    def __init__(
        self,
        *,
        own_name: str,
        signing_key: SigningKey,
        sealing_key: PrivateKey,
        broker: grpc.aio.Channel,
        peer_named: Callable[[str], Peer | None],
        dispatcher: RelayDispatcher,
        clock_ms: Callable[[], int] = wall_clock_ms,
        heartbeat_s: float = HEARTBEAT_S,
        backoff_initial_s: float = BACKOFF_INITIAL_S,
        backoff_max_s: float = BACKOFF_MAX_S,
    ) -> None:
        self._own_name = own_name
        self._signing_key = signing_key
        self._sealing_key = sealing_key
        self._stub: Any = broker_pb2_grpc.RelayServiceStub(broker)
        self._peer_named = peer_named
        self._dispatcher = dispatcher
        self._clock_ms = clock_ms
        # Nothing sealed before this run can be admitted again after a restart.
        self._replays = ReplayGuard(not_before_ms=clock_ms())
        self._slots = asyncio.Semaphore(CONCURRENT_CALLS)
        self.heartbeat_s = heartbeat_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        #: Set while the broker holds our stream (after its first frame arrived).
        self.connected = asyncio.Event()
        #: Envelopes dropped unanswered: unknown sender, not opening, replayed, malformed.
        self.refused = 0
        #: Relayed calls answered (any status).
        self.answered = 0
        #: Streams the broker accepted since the link started.
        self.sessions = 0

    async def run(self) -> None:
        attempt = 0
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except grpc.aio.AioRpcError as e:
                log.info("relay stream to the broker ended: %s %s", e.code().name, e.details())
            except Exception:
                log.exception("relay stream to the broker failed")
            if self.connected.is_set():
                attempt = 0
            self.connected.clear()
            delay = min(self.backoff_max_s, self.backoff_initial_s * 2**attempt)
            attempt = min(attempt + 1, 16)
            await asyncio.sleep(delay * (0.5 + secrets.randbelow(1000) / 2000))

    async def _session(self) -> None:
        outgoing: asyncio.Queue[broker_pb2.RelayFrame] = asyncio.Queue()
        call = self._stub.Connect(self._frames(outgoing))
        tasks: set[asyncio.Task[None]] = set()
        try:
            async for frame in call:
                if not self.connected.is_set():
                    self.sessions += 1
                    self.connected.set()
                    log.info("%s is reachable through the broker's relay", self._own_name)
                if frame.WhichOneof("frame") == "envelope":
                    task = asyncio.create_task(
                        self._answer(envelope_from_proto(frame.envelope), outgoing)
                    )
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
        finally:
            call.cancel()
            for task in list(tasks):
                task.cancel()
            self.connected.clear()

    async def _frames(
        self, outgoing: asyncio.Queue[broker_pb2.RelayFrame]
    ) -> AsyncIterator[broker_pb2.RelayFrame]:
        while True:
            try:
                yield await asyncio.wait_for(outgoing.get(), self.heartbeat_s)
            except TimeoutError:
                stamp = timestamp_pb2.Timestamp()
                stamp.GetCurrentTime()
                yield broker_pb2.RelayFrame(heartbeat=stamp)

    async def _answer(
        self, envelope: Envelope, outgoing: asyncio.Queue[broker_pb2.RelayFrame]
    ) -> None:
        async with self._slots:
            opened = await self._open(envelope)
            if opened is None:
                return
            peer, method, request = opened
            reply = await self._dispatcher.dispatch(
                caller=peer.name, caller_cert_pem=peer.cert_pem, method=method, request=request
            )
            sealed = self._seal_reply(peer, envelope.envelope_id, reply)
            self.answered += 1
            await outgoing.put(broker_pb2.RelayFrame(envelope=envelope_to_proto(sealed)))

    async def _open(self, envelope: Envelope) -> tuple[Peer, str, bytes] | None:
        peer = await asyncio.to_thread(self._peer_named, envelope.sender)
        try:
            if peer is None:
                raise EnvelopeError("the sender is not a peer of this node")
            if envelope.in_reply_to:
                raise EnvelopeError("a reply arrived where only calls are expected")
            opened = open_envelope(
                envelope,
                recipient=self._own_name,
                recipient_key=self._sealing_key,
                sender_public=peer.signing_key,
            )
            self._replays.admit(opened, now_ms=self._clock_ms())
            method, request = decode_call(opened.payload)
        except (EnvelopeError, RelayedCallError) as e:
            self.refused += 1
            log.warning("refused a relayed envelope claiming to be from %r: %s", envelope.sender, e)
            return None
        return peer, method, request

    def _seal_reply(self, peer: Peer, request_id: bytes, reply: RelayedReply) -> Envelope:
        def seal(r: RelayedReply) -> Envelope:
            return seal_envelope(
                r.encode(),
                sender=self._own_name,
                sender_key=self._signing_key,
                recipient=peer.name,
                recipient_public=peer.sealing_key,
                envelope_id=os.urandom(ENVELOPE_ID_SIZE),
                now_ms=self._clock_ms(),
                in_reply_to=request_id,
            )

        try:
            return seal(reply)
        except EnvelopeError:
            return seal(
                RelayedReply(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    "the answer is larger than a relay envelope may carry",
                    b"",
                )
            )
