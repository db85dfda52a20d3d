"""The node's method handlers, by full method name, from its service registrations.

A relayed call must run exactly the handler a direct call would. Rather than keep a
second table, this asks each generated ``add_XServicer_to_server`` to register itself on
a collector that records what it registers, so the relay dispatches to the very
handlers (and serializers) the gRPC server mounts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import grpc

from node.server import ServiceRegistration


class _Collector:
    """Stands in for a ``grpc.aio.Server`` while generated code registers on it."""

    def __init__(self) -> None:
        self.handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def add_generic_rpc_handlers(self, generic_rpc_handlers: Iterable[object]) -> None:
        """Generated code registers both ways; the registered-method table is enough."""

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: Mapping[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> None:
        for method, handler in method_handlers.items():
            self.handlers[f"/{service_name}/{method}"] = handler


class HandlerTable:
    """Full method name (``/accord.v1.ExchangeService/EvaluateHits``) -> handler."""

    def __init__(self, handlers: Mapping[str, grpc.RpcMethodHandler[Any, Any]]) -> None:
        self._handlers = dict(handlers)

    @classmethod
    def from_registrations(cls, services: Sequence[ServiceRegistration]) -> HandlerTable:
        collector = _Collector()
        for reg in services:
            reg.add(reg.servicer, collector)  # type: ignore[operator]
        return cls(collector.handlers)

    def get(self, method: str) -> grpc.RpcMethodHandler[Any, Any] | None:
        return self._handlers.get(method)

    def methods(self) -> frozenset[str]:
        return frozenset(self._handlers)
