"""Runs a relayed call on this node exactly as the gRPC server would run a direct one.

The handler comes from :class:`~node.relay.handlers.HandlerTable` (the server's own
handlers) and is wrapped by the server's own :class:`~node.rpc.interceptors.
ServerGuardInterceptor`, with a :class:`~node.relay.context.RelayedContext` whose
identity is the peer the envelope signature proved. So the same peer lookup, activity
check, ``calling_peer()``, policy, ledger writes and error-to-status table apply, and a
relayed refusal carries the same code, message and rule ids as a direct one.

Server-streaming methods (the index stream) run as a long poll: the reply carries the
messages the stream produced until it ended, or until it fell quiet for
:attr:`RelayDispatcher.stream_linger_s` after a message, or until
:attr:`RelayDispatcher.stream_window_s` passed with none (at most
:attr:`max_stream_messages`). The caller sees a stream that ends normally and resumes
from its cursor, as it does after any interruption.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio

from node.relay.context import RelayedContext
from node.relay.handlers import HandlerTable
from node.relay.wire import RelayedReply, encode_stream
from node.rpc.denials import DETAILS_KEY
from node.rpc.interceptors import CallGuard, ServerGuardInterceptor

log = logging.getLogger(__name__)

#: The longest a relayed unary call may run on this node (the broker waits a little more).
CALL_DEADLINE_S = 65.0
#: How long a relayed server stream waits for its first message.
STREAM_WINDOW_S = 20.0
#: How long it waits for a further message before the reply goes.
STREAM_LINGER_S = 0.25


@dataclass(slots=True)
class _Details:
    """``grpc.HandlerCallDetails`` of a relayed call."""

    method: str
    invocation_metadata: tuple[tuple[str, str | bytes], ...]


class RelayDispatcher:
    """Dispatches relayed calls to this node's own handlers, through its own guard."""

    def __init__(
        self,
        table: HandlerTable,
        guard: CallGuard,
        *,
        call_deadline_s: float = CALL_DEADLINE_S,
        stream_window_s: float = STREAM_WINDOW_S,
        stream_linger_s: float = STREAM_LINGER_S,
        max_stream_messages: int = 64,
    ) -> None:
        self._table = table
        self._interceptor = ServerGuardInterceptor(guard)
        self.call_deadline_s = call_deadline_s
        self.stream_window_s = stream_window_s
        self.stream_linger_s = stream_linger_s
        self.max_stream_messages = max_stream_messages

    async def dispatch(
        self, *, caller: str, caller_cert_pem: bytes, method: str, request: bytes
    ) -> RelayedReply:
        """The reply to ``method(request)`` called by ``caller`` (proved by its envelope)."""
        handler = self._table.get(method)
        if handler is None or handler.request_streaming:
            return RelayedReply(
                grpc.StatusCode.UNIMPLEMENTED,
                f"{method} is not served through the relay by this node",
                b"",
            )

        async def continuation(_: Any) -> grpc.RpcMethodHandler[Any, Any]:
            return handler

        details = _Details(method, ())
        guarded = await self._interceptor.intercept_service(continuation, details)
        assert guarded is not None
        deserialize, serialize = guarded.request_deserializer, guarded.response_serializer
        assert deserialize is not None
        assert serialize is not None
        try:
            message = deserialize(request)
        except Exception:  # protobuf raises DecodeError, but any parse failure is the caller's
            return RelayedReply(grpc.StatusCode.INVALID_ARGUMENT, "request does not parse", b"")
        context = RelayedContext(
            caller=caller, caller_cert_pem=caller_cert_pem, deadline_s=self.call_deadline_s
        )
        if guarded.unary_unary is not None:
            return await self._unary(guarded.unary_unary, message, context, serialize)
        assert guarded.unary_stream is not None
        return await self._stream(guarded.unary_stream, message, context, serialize)

    async def _unary(
        self, behaviour: Any, message: Any, context: RelayedContext, serialize: Any
    ) -> RelayedReply:
        try:
            async with asyncio.timeout(self.call_deadline_s):
                response = await behaviour(message, context)
        except grpc.aio.AbortError:
            return _failed(context)
        except TimeoutError:
            return RelayedReply(
                grpc.StatusCode.DEADLINE_EXCEEDED, "the relayed call ran out of time", b""
            )
        return RelayedReply(grpc.StatusCode.OK, "", serialize(response))

    async def _stream(
        self, behaviour: Any, message: Any, context: RelayedContext, serialize: Any
    ) -> RelayedReply:
        stream: AsyncIterator[Any] = behaviour(message, context)
        collected: list[bytes] = []
        ends = time.monotonic() + self.stream_window_s
        try:
            while len(collected) < self.max_stream_messages:
                remaining = ends - time.monotonic()
                if collected:
                    remaining = min(remaining, self.stream_linger_s)
                if remaining <= 0:
                    break
                # In this task (not wait_for's): the guard's context variables must hold
                # across the generator's steps.
                try:
                    async with asyncio.timeout(remaining):
                        item = await anext(stream)
                except (StopAsyncIteration, TimeoutError):
                    break
                collected.append(serialize(item))
        except grpc.aio.AbortError:
            if not collected:  # else the messages go now and the next window reports it
                return _failed(context)
        finally:
            with contextlib.suppress(Exception):
                await stream.aclose()  # type: ignore[attr-defined]
        return RelayedReply(grpc.StatusCode.OK, "", encode_stream(collected))


def _failed(context: RelayedContext) -> RelayedReply:
    details = next((v for k, v in context.trailers if k == DETAILS_KEY), b"")
    code = context.status if context.status is not grpc.StatusCode.OK else grpc.StatusCode.UNKNOWN
    return RelayedReply(code, context.message, details if isinstance(details, bytes) else b"")
