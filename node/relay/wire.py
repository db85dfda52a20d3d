"""What travels inside relay envelopes: ``accord.v1.RelayedCall`` and ``RelayedReply``.

A call is the full method name and the serialized request, exactly as a direct call
would put it on the wire. A reply is the gRPC status code, its message and:

- for a unary method that succeeded, the serialized response;
- for a server-streaming method, the responses the stream produced within its window,
  each prefixed with its length as a protobuf varint (the "delimited" stream form);
- for a failed call, the ``google.rpc.Status`` the direct call would have carried in its
  ``grpc-status-details-bin`` trailer (empty when it had none), so a policy denial's rule
  ids reach the requester through the relay as they would directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import grpc
from google.protobuf.message import DecodeError

from accord.v1 import broker_pb2
from crypto.envelope import Envelope
from node.relay.errors import RelayedCallError

_CODES = {code.value[0]: code for code in grpc.StatusCode}


@dataclass(frozen=True, slots=True)
class RelayedReply:
    code: grpc.StatusCode
    message: str
    body: bytes

    def encode(self) -> bytes:
        return broker_pb2.RelayedReply(
            code=self.code.value[0], message=self.message, response=self.body
        ).SerializeToString()


def encode_call(method: str, request: bytes) -> bytes:
    return broker_pb2.RelayedCall(method=method, request=request).SerializeToString()


def decode_call(payload: bytes) -> tuple[str, bytes]:
    try:
        call = broker_pb2.RelayedCall.FromString(payload)
    except DecodeError as e:
        raise RelayedCallError("relayed call does not parse") from e
    if not call.method.startswith("/"):
        raise RelayedCallError("relayed call names no method")
    return call.method, call.request


def decode_reply(payload: bytes) -> RelayedReply:
    try:
        reply = broker_pb2.RelayedReply.FromString(payload)
    except DecodeError as e:
        raise RelayedCallError("relayed reply does not parse") from e
    code = _CODES.get(reply.code)
    if code is None:
        raise RelayedCallError(f"relayed reply has an unknown status code {reply.code}")
    return RelayedReply(code, reply.message, reply.response)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_stream(messages: Iterable[bytes]) -> bytes:
    return b"".join(_varint(len(m)) + m for m in messages)


def decode_stream(body: bytes) -> Iterator[bytes]:
    i = 0
    while i < len(body):
        size = shift = 0
        while True:
            if i >= len(body) or shift > 35:
                raise RelayedCallError("relayed stream is truncated")
            byte = body[i]
            i += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        if i + size > len(body):
            raise RelayedCallError("relayed stream is truncated")
        yield body[i : i + size]
        i += size


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
