"""The broker's ``accord.v1.RelayService``: forwards sealed envelopes it cannot read.

A member that cannot accept connections holds a ``Connect`` stream; other members reach
it with ``Forward``, which pushes their envelope down that stream and returns the reply
envelope the member sends back on it (matched by ``in_reply_to``). Identity comes only
from the TLS client certificate, looked up among the directory's current members:

- ``Connect``: only a member may hold a stream, one per member (a new one replaces the
  old); the broker sends a heartbeat first and whenever idle, and closes a stream whose
  member went silent or left the directory (:meth:`RelayServicer.directory_changed`).
- ``Forward``: the envelope's sender MUST be the caller (PERMISSION_DENIED otherwise, and
  when the signature is not the sender's), the recipient MUST be connected
  (UNAVAILABLE), the reply MUST come within the caller's deadline, capped at
  :attr:`RelayServicer.max_wait_s` (DEADLINE_EXCEEDED); malformed or oversized envelopes
  are INVALID_ARGUMENT.

The broker stores nothing: its routing state (:mod:`broker.relay_routes`) lives in memory
for the duration of a call, and the payloads are sealed to their recipients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
import grpc.aio
from google.protobuf import timestamp_pb2

from accord.v1 import broker_pb2, broker_pb2_grpc
from broker.relay_errors import (
    RELAY_STATUS,
    MalformedEnvelopeError,
    RelayError,
    SenderMismatchError,
    relay_status,
)
from broker.relay_routes import Link, Routes
from broker.status import register_status
from crypto.certs import cert_fingerprint
from crypto.directory import Member
from crypto.envelope import Envelope, verify_envelope_signature
from crypto.errors import CryptoError

log = logging.getLogger(__name__)

# The servicer answers its own refusals; the broker's table knows them too, should one
# escape to the server's guard.
register_status(RELAY_STATUS)

Context = grpc.aio.ServicerContext[Any, Any]

#: Seconds between heartbeats on an idle stream.
HEARTBEAT_S = 10.0
#: A stream whose member sent nothing for this many heartbeats is closed as dead.
SILENT_HEARTBEATS = 3
#: Trailer on the relay's own refusals, so a node can tell them from an unreachable broker.
RELAY_REFUSAL_HEADER = "accord-relay-refusal"
#: The longest a Forward waits for a reply (a large hit query takes up to a minute).
MAX_WAIT_S = 75.0


@dataclass(frozen=True, slots=True)
class RelayMember:
    """A current directory member as the relay needs it."""

    name: str
    #: Its Ed25519 signing key: the relay checks envelope signatures before forwarding.
    signing_key: bytes


class RelayMembers(Protocol):
    """The broker's current directory, as the relay reads it."""

    def member_by_fingerprint(self, cert_sha256: str) -> RelayMember | None:
        """The current member whose pinned certificate has this fingerprint, if any."""
        ...


class DirectoryMembers:
    """:class:`RelayMembers` over the directory the broker serves (read on every call, so
    a member removed by ``accord broker member remove`` is refused at once)."""

    def __init__(self, members: Callable[[], Sequence[Member]]) -> None:
        self._members = members

    def member_by_fingerprint(self, cert_sha256: str) -> RelayMember | None:
        member = next((m for m in self._members() if m.cert_sha256 == cert_sha256), None)
        if member is None:
            return None
        return RelayMember(member.name, bytes.fromhex(member.signing_key))


def envelope_from_proto(message: broker_pb2.SealedEnvelope) -> Envelope:
    return Envelope(
        sender=message.sender,
        recipient=message.recipient,
        envelope_id=message.envelope_id,
        ciphertext=message.ciphertext,
        signature=message.signature,
        in_reply_to=message.in_reply_to,
    )


def envelope_to_proto(envelope: Envelope) -> broker_pb2.SealedEnvelope:
    return broker_pb2.SealedEnvelope(
        sender=envelope.sender,
        recipient=envelope.recipient,
        envelope_id=envelope.envelope_id,
        ciphertext=envelope.ciphertext,
        signature=envelope.signature,
        in_reply_to=envelope.in_reply_to,
    )


def _heartbeat() -> broker_pb2.RelayFrame:
    stamp = timestamp_pb2.Timestamp()
    stamp.GetCurrentTime()
    return broker_pb2.RelayFrame(heartbeat=stamp)


class RelayServicer(broker_pb2_grpc.RelayServiceServicer):
    """Routes envelopes between members; see the module docstring for the contract."""

    def __init__(
        self,
        members: RelayMembers,
        *,
        heartbeat_s: float = HEARTBEAT_S,
        max_wait_s: float = MAX_WAIT_S,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._members = members
        self.routes = Routes()
        self.heartbeat_s = heartbeat_s
        self.max_wait_s = max_wait_s
        self._clock = clock

    def _now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    def _caller(self, context: Context) -> tuple[RelayMember, str]:
        certs = list(context.auth_context().get("x509_pem_cert") or [])
        if not certs:
            raise SenderMismatchError("no client certificate: the relay requires mutual TLS")
        fingerprint = cert_fingerprint(certs[0])
        member = self._members.member_by_fingerprint(fingerprint)
        if member is None:
            raise SenderMismatchError(
                f"client certificate sha256:{fingerprint[:16]}... is not a current member"
            )
        return member, fingerprint

    async def _refuse(self, context: Context, error: RelayError) -> None:
        code = relay_status(error)
        log.info("relay refused: %s: %s", code.name, error)
        await context.abort(code, str(error), trailing_metadata=((RELAY_REFUSAL_HEADER, "1"),))

    def _check_still_member(self, link: Link) -> bool:
        """Close ``link`` if its member left the directory; whether it is still open."""
        member = self._members.member_by_fingerprint(link.cert_sha256)
        if member is None or member.name != link.member:
            self.routes.close_member(
                link.member,
                f"{link.member} is no longer a member of the directory",
                status="PERMISSION_DENIED",
            )
            return False
        return True

    def directory_changed(self) -> None:
        """Close the stream of every member no longer in the directory (or whose
        certificate changed) now. Without it this happens at the next heartbeat tick of
        each stream, and before anything is forwarded to a member."""
        for name in list(self.routes.connected()):
            link = self.routes.link_of(name)
            if link is not None:
                self._check_still_member(link)

    async def Connect(
        self, request_iterator: AsyncIterator[broker_pb2.RelayFrame], context: Context
    ) -> AsyncIterator[broker_pb2.RelayFrame]:
        try:
            member, fingerprint = self._caller(context)
        except RelayError as e:
            await self._refuse(context, e)
            return
        link = self.routes.attach(member.name, fingerprint, now=self._now())
        log.info("relay: %s connected", member.name)
        reader = asyncio.create_task(self._read(link, request_iterator), name="relay-reader")
        try:
            yield _heartbeat()
            while link.open:
                try:
                    item = await asyncio.wait_for(link.outbox.get(), self.heartbeat_s)
                except TimeoutError:
                    if self._now() - link.last_seen > SILENT_HEARTBEATS * self.heartbeat_s:
                        link.close(f"{member.name} sent nothing for too long")
                        break
                    if not self._check_still_member(link):
                        break
                    yield _heartbeat()
                    continue
                if item is not None:
                    yield broker_pb2.RelayFrame(envelope=envelope_to_proto(item))
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            self.routes.detach(link)
            log.info("relay: %s disconnected (%s)", member.name, link.closed_reason)
        if link.closed_status != "OK":
            await context.abort(grpc.StatusCode[link.closed_status], link.closed_reason)

    async def _read(self, link: Link, frames: AsyncIterator[broker_pb2.RelayFrame]) -> None:
        try:
            async for frame in frames:
                link.last_seen = self._now()
                if frame.WhichOneof("frame") != "envelope":
                    continue
                reply = envelope_from_proto(frame.envelope)
                try:
                    reply.check_shape()
                except CryptoError:
                    log.info("relay dropped a malformed reply from %s", link.member)
                    continue
                self.routes.deliver_reply(link, reply)
        except grpc.aio.AioRpcError:
            pass
        finally:
            link.close(link.closed_reason or "stream closed by the member")

    async def Forward(
        self, request: broker_pb2.ForwardRequest, context: Context
    ) -> broker_pb2.ForwardResponse:
        try:
            member, _ = self._caller(context)
            envelope = self._checked(member, envelope_from_proto(request.envelope))
            recipient = self.routes.link_of(envelope.recipient)
            if recipient is not None:
                self._check_still_member(recipient)
            remaining = context.time_remaining()
            wait = self.max_wait_s if remaining is None else min(remaining, self.max_wait_s)
            reply = await self.routes.forward(member.name, envelope, timeout_s=wait)
        except RelayError as e:
            await self._refuse(context, e)
            raise AssertionError("unreachable: abort raises") from e
        return broker_pb2.ForwardResponse(reply=envelope_to_proto(reply))

    def _checked(self, caller: RelayMember, envelope: Envelope) -> Envelope:
        try:
            envelope.check_shape()
        except CryptoError as e:
            raise MalformedEnvelopeError(str(e)) from e
        if envelope.in_reply_to:
            raise MalformedEnvelopeError("Forward carries requests; replies go on the stream")
        if envelope.sender != caller.name:
            raise SenderMismatchError(
                f"the envelope claims sender {envelope.sender!r}, "
                f"but the caller's certificate is {caller.name!r}"
            )
        try:
            verify_envelope_signature(envelope, caller.signing_key)
        except CryptoError as e:
            raise SenderMismatchError(f"the envelope is not signed by {caller.name}") from e
        return envelope


RELAY_SERVICE_NAME = "accord.v1.RelayService"


def relay_service(
    members: Callable[[], Sequence[Member]],
) -> tuple[str, Callable[[Any, grpc.aio.Server], None], RelayServicer]:
    """The relay, ready for ``BrokerServer.add_service(*relay_service(members))``."""
    return (
        RELAY_SERVICE_NAME,
        broker_pb2_grpc.add_RelayServiceServicer_to_server,
        RelayServicer(DirectoryMembers(members)),
    )
