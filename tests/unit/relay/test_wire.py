"""What a relayed call and reply carry inside their envelopes."""

from __future__ import annotations

import grpc
import pytest

from node.relay.errors import RelayedCallError
from node.relay.wire import (
    RelayedReply,
    decode_call,
    decode_reply,
    decode_stream,
    encode_call,
    encode_stream,
)


def test_calls_and_replies_round_trip() -> None:
    assert decode_call(encode_call("/accord.v1.X/Y", b"req")) == ("/accord.v1.X/Y", b"req")
    reply = RelayedReply(grpc.StatusCode.PERMISSION_DENIED, "no", b"details")
    assert decode_reply(reply.encode()) == reply


def test_bad_calls_and_replies_are_refused() -> None:
    with pytest.raises(RelayedCallError, match="names no method"):
        decode_call(encode_call("", b""))
    with pytest.raises(RelayedCallError, match="does not parse"):
        decode_call(b"\xff\xff")
    from accord.v1 import broker_pb2

    with pytest.raises(RelayedCallError, match="unknown status code"):
        decode_reply(broker_pb2.RelayedReply(code=99).SerializeToString())


@pytest.mark.parametrize("sizes", [[], [0], [1, 127, 128, 300, 70_000]])
def test_streams_are_length_delimited(sizes: list[int]) -> None:
    messages = [bytes([i % 251]) * n for i, n in enumerate(sizes)]
    assert list(decode_stream(encode_stream(messages))) == messages


def test_a_truncated_stream_is_refused() -> None:
    body = encode_stream([b"x" * 300])
    with pytest.raises(RelayedCallError, match="truncated"):
        list(decode_stream(body[:-1]))
    with pytest.raises(RelayedCallError, match="truncated"):
        list(decode_stream(b"\x80"))
