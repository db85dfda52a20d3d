"""The broker's gRPC server: TLS with client certificates, health, graceful shutdown.

Who may connect: the broker's own certificate (the operator's tools) and the current
directory's members. The trust bundle is re-read on every handshake from the snapshot
being served, so a removed member's new connections fail at once; calls on connections
that are already open are re-checked per call by :class:`MemberGuard`, which also tells
each servicer who is calling (:func:`calling_member`).

Services are mounted with :meth:`BrokerServer.add_service` before :meth:`start`: the
directory and witness services are mounted by :class:`broker.app.BrokerApp`; the relay
mounts its own the same way.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import grpc
import grpc.aio
from cryptography.hazmat.primitives.serialization import Encoding
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio

from broker.errors import BrokerListenError, NotAMemberError
from broker.status import status_for
from crypto.certs import TlsIdentity, load_certificate
from crypto.directory import Member

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
SHUTDOWN_GRACE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: a member of the current directory, or the broker itself."""

    name: str
    cert_sha256: str
    member: Member | None

    @property
    def is_broker(self) -> bool:
        return self.member is None


_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar(
    "accord_broker_caller", default=None
)


def calling_member() -> Caller:
    """The authenticated caller of the current call (inside a mounted servicer)."""
    caller = _caller.get()
    if caller is None:
        raise NotAMemberError("no authenticated caller")
    return caller


#: The members currently admitted (the served directory's), read on every call.
MemberSource = Callable[[], Sequence[Member]]


class MemberGuard:
    """Maps the verified client certificate to a current member, for every call."""

    def __init__(self, *, own: TlsIdentity, own_name: str, members: MemberSource) -> None:
        self._own_fp = own.fingerprint
        self._own_name = own_name
        self._members = members

    def authenticate(self, context: grpc.aio.ServicerContext[Any, Any]) -> Caller:
        certs = list(context.auth_context().get("x509_pem_cert") or [])
        if not certs:
            raise NotAMemberError("no client certificate: present your node certificate")
        fp = hashlib.sha256(load_certificate(certs[0]).public_bytes(Encoding.DER)).hexdigest()
        if fp == self._own_fp:
            return Caller(self._own_name, fp, None)
        member = next((m for m in self._members() if m.cert_sha256 == fp), None)
        if member is None:
            raise NotAMemberError(
                f"client certificate sha256:{fp[:16]}... is not a member of this federation"
            )
        return Caller(member.name, fp, member)

    async def fail(self, context: grpc.aio.ServicerContext[Any, Any], error: Exception) -> None:
        code = status_for(error)
        if code is None:
            log.exception("internal error in %s", type(error).__name__)
            await context.abort(grpc.StatusCode.INTERNAL, "internal error (see the broker's log)")
        log.info("refused: %s: %s", code.name, error)
        await context.abort(code, str(error))


Behaviour = Callable[..., Any]


def _wrap_unary(guard: MemberGuard, behaviour: Behaviour) -> Behaviour:
    async def guarded(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            _caller.set(guard.authenticate(context))
            return await behaviour(request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as e:  # every domain error is mapped; the rest is INTERNAL
            await guard.fail(context, e)
            raise AssertionError("unreachable: abort raises") from e

    return guarded


def _wrap_stream(guard: MemberGuard, behaviour: Behaviour) -> Behaviour:
    async def guarded(
        request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        try:
            _caller.set(guard.authenticate(context))
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


class MemberGuardInterceptor(grpc.aio.ServerInterceptor):
    """Wraps every handler (health included) with :class:`MemberGuard`."""

    def __init__(self, guard: MemberGuard) -> None:
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
        g = self._guard
        ser = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(_wrap_unary(g, handler.unary_unary), **ser)
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _wrap_stream(g, handler.unary_stream), **ser
            )
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(_wrap_unary(g, handler.stream_unary), **ser)
        assert handler.stream_stream is not None
        return grpc.stream_stream_rpc_method_handler(_wrap_stream(g, handler.stream_stream), **ser)


@dataclass(slots=True)
class Service:
    """A servicer to mount: ``add`` is the generated ``add_XServicer_to_server``."""

    full_name: str
    add: Callable[[Any, grpc.aio.Server], None]
    servicer: object


@dataclass
class BrokerServer:
    """The broker's listening server. Mount services, then :meth:`start`."""

    name: str
    tls: TlsIdentity
    members: MemberSource
    listen: str
    services: list[Service] = field(default_factory=list)
    health: health_aio.HealthServicer = field(default_factory=health_aio.HealthServicer)
    port: int = 0
    _server: grpc.aio.Server | None = None

    def add_service(
        self, full_name: str, add: Callable[[Any, grpc.aio.Server], None], servicer: object
    ) -> None:
        """Mount a servicer (before :meth:`start`): ``add`` is the generated adder."""
        if self._server is not None:
            raise RuntimeError("services are mounted before the broker starts")
        self.services.append(Service(full_name, add, servicer))

    def _bundle(self) -> bytes:
        certs = [self.tls.cert_pem, *(m.cert_pem.encode("ascii") for m in self.members())]
        return b"".join(c if c.endswith(b"\n") else c + b"\n" for c in certs)

    def _credentials(self) -> grpc.ServerCredentials:
        def config(bundle: bytes) -> grpc.ServerCertificateConfiguration:
            return grpc.ssl_server_certificate_configuration(
                [(self.tls.key_pem, self.tls.cert_pem)], root_certificates=bundle
            )

        current = {"bundle": self._bundle()}

        def fetch() -> grpc.ServerCertificateConfiguration | None:
            try:
                bundle = self._bundle()
            except Exception:  # a broken snapshot file must not kill the handshake thread
                log.exception("reading the members for the TLS trust bundle failed")
                return None
            if bundle == current["bundle"]:
                return None
            current["bundle"] = bundle
            return config(bundle)

        fetcher = cast("Callable[[], grpc.ServerCertificateConfiguration]", fetch)
        return grpc.dynamic_ssl_server_credentials(config(current["bundle"]), fetcher, True)

    async def start(self) -> int:
        """Bind, serve, and return the bound port (useful with port 0)."""
        guard = MemberGuard(own=self.tls, own_name=self.name, members=self.members)
        server = grpc.aio.server(
            interceptors=[MemberGuardInterceptor(guard)],
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 0),
            ],
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        names = [health_pb2.DESCRIPTOR.services_by_name["Health"].full_name]
        for svc in self.services:
            svc.add(svc.servicer, server)
            names.append(svc.full_name)
        try:
            port = server.add_secure_port(self.listen, self._credentials())
        except RuntimeError as e:
            await server.stop(None)
            raise BrokerListenError(self.listen) from e
        await server.start()
        for n in ["", *names]:
            await self.health.set(n, health_pb2.HealthCheckResponse.SERVING)
        self._server, self.port = server, port
        log.info("broker %s serving on port %d with TLS", self.name, port)
        return port

    async def stop(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Stop accepting calls; in-flight calls get ``grace`` seconds to finish."""
        if self._server is None:
            return
        await self.health.enter_graceful_shutdown()
        await self._server.stop(grace)
        self._server = None
        log.info("broker %s stopped", self.name)

    async def serve_until_signalled(self) -> None:
        """Serve until SIGTERM or SIGINT, then shut down gracefully."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            await self.stop()
