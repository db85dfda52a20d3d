"""The one server interceptor every call passes through.

For each call it (1) takes the request id from the ``accord-request-id`` header or makes
one, so every log line of the call carries it; (2) maps the TLS client certificate to a
known peer and refuses the call otherwise; (3) turns domain errors into gRPC statuses
through the single table in :mod:`node.rpc.status`.

Identity comes only from the certificate the handshake verified. A ``accord-node-name``
header, when sent, must agree with it: a mismatch is refused, never believed.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import grpc.aio

from crypto.certs import load_certificate
from node.errors import PeerMismatchError, UnknownPeerError
from node.rpc.context import (
    NODE_NAME_HEADER,
    REQUEST_ID_HEADER,
    CallingPeer,
    calling_peer_var,
    request_id_var,
)
from node.rpc.denials import denial_trailer
from node.rpc.peers import PeerResolver
from node.rpc.status import status_for

log = logging.getLogger(__name__)

_MAX_REQUEST_ID = 64


def _metadata_value(context: grpc.aio.ServicerContext[Any, Any], key: str) -> str | None:
    for item_key, value in context.invocation_metadata() or ():
        if item_key == key:
            return value if isinstance(value, str) else value.decode("ascii", "replace")
    return None


def _request_id(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    """The caller's request id if it is sane, else a fresh one."""
    supplied = _metadata_value(context, REQUEST_ID_HEADER)
    if supplied and len(supplied) <= _MAX_REQUEST_ID and supplied.isprintable():
        return supplied
    return uuid.uuid4().hex


class CallGuard:
    """Authenticates the calling peer and maps errors, for every method of a server."""

    def __init__(self, *, own_cert_sha256: str, own_name: str, peers: PeerResolver) -> None:
        self._own_fp = own_cert_sha256
        self._own_name = own_name
        self._peers = peers

    def authenticate(self, context: grpc.aio.ServicerContext[Any, Any]) -> CallingPeer:
        """Map the verified client certificate to a peer, or raise."""
        auth = context.auth_context()
        certs = list(auth.get("x509_pem_cert") or [])
        if not certs:
            raise UnknownPeerError("no client certificate: mutual TLS is required")
        pem = certs[0]
        from cryptography.hazmat.primitives.serialization import Encoding

        fp = hashlib.sha256(load_certificate(pem).public_bytes(Encoding.DER)).hexdigest()
        claimed = _metadata_value(context, NODE_NAME_HEADER)
        if fp == self._own_fp:
            peer = CallingPeer(node_name=self._own_name, cert_sha256=fp, is_self=True)
        else:
            known = self._peers.by_fingerprint(fp)
            if known is None:
                raise UnknownPeerError(
                    f"client certificate sha256:{fp[:16]}... is not a known peer of this node"
                )
            if not known.active:
                raise PeerMismatchError(f"peer {known.name} is not active on this node")
            peer = CallingPeer(node_name=known.name, cert_sha256=fp, is_self=False)
        if claimed is not None and claimed != peer.node_name:
            raise PeerMismatchError(
                f"certificate belongs to {peer.node_name}, but the call claims {claimed}"
            )
        return peer

    async def fail(self, context: grpc.aio.ServicerContext[Any, Any], error: Exception) -> None:
        """Abort the call with the status the table gives ``error``."""
        code = status_for(error)
        if code is None:
            log.exception("internal error in %s", type(error).__name__)
            await context.abort(grpc.StatusCode.INTERNAL, "internal error (see the node's log)")
        else:
            log.info("refused: %s: %s", code.name, error)
            rule_ids = getattr(error, "rule_ids", None)
            if rule_ids:
                trailer = denial_trailer(code, str(error), rule_ids)
                await context.abort(code, str(error), trailing_metadata=trailer)
            await context.abort(code, str(error))

    def enter(self, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        request_id_var.set(_request_id(context))
        calling_peer_var.set(None)
        context.set_trailing_metadata(((REQUEST_ID_HEADER, request_id_var.get()),))
        calling_peer_var.set(self.authenticate(context))


Behaviour = Callable[..., Any]


class ServerGuardInterceptor(grpc.aio.ServerInterceptor):
    """Wraps every handler with :class:`CallGuard`."""

    def __init__(self, guard: CallGuard) -> None:
        self._guard = guard

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        guard = self._guard
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _wrap_unary(guard, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _wrap_stream(guard, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(
                _wrap_unary(guard, handler.stream_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        assert handler.stream_stream is not None
        return grpc.stream_stream_rpc_method_handler(
            _wrap_stream(guard, handler.stream_stream),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _wrap_unary(guard: CallGuard, behaviour: Behaviour) -> Behaviour:
    async def guarded(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            guard.enter(context)
            return await behaviour(request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as e:  # every domain error is mapped; the rest is INTERNAL
            await guard.fail(context, e)
            raise AssertionError("unreachable: abort raises") from e

    return guarded


def _wrap_stream(guard: CallGuard, behaviour: Behaviour) -> Behaviour:
    async def guarded(
        request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        try:
            guard.enter(context)
            result = behaviour(request, context)
            if hasattr(result, "__aiter__"):
                async for item in result:
                    yield item
            else:
                await result
        except grpc.aio.AbortError:
            raise
        except Exception as e:
            await guard.fail(context, e)

    return guarded
