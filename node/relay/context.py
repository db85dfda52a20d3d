"""The servicer context of a relayed call.

The node's interceptor establishes who calls from the TLS client certificate the
handshake verified. For a relayed call the proof is the envelope's signature under the
peer's pinned signing key; once :mod:`node.relay.link` has verified it, this context
presents that same peer's pinned certificate as the call's authenticated identity, so
the interceptor's own lookup, activity check, authorization and error table run
unchanged, and decide exactly as they would for a direct call.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

import grpc
import grpc.aio

from node.rpc.context import NODE_NAME_HEADER


class RelayedContext(grpc.aio.ServicerContext[Any, Any]):
    """Collects the status, details and trailers a handler (or the interceptor) sets."""

    def __init__(self, *, caller: str, caller_cert_pem: bytes, deadline_s: float) -> None:
        self._caller = caller
        self._cert_pem = caller_cert_pem
        self._deadline = time.monotonic() + deadline_s
        self._metadata = grpc.aio.Metadata((NODE_NAME_HEADER, caller))
        self.status = grpc.StatusCode.OK
        self.message = ""
        self.trailers: list[tuple[str, str | bytes]] = []
        self._cancelled = False

    # -- what the interceptor and handlers use --------------------------------------------

    async def abort(
        self,
        code: grpc.StatusCode,
        details: str = "",
        trailing_metadata: grpc.aio.Metadata | Iterable[tuple[str, str | bytes]] = (),
    ) -> NoReturn:
        self.status = code
        self.message = details
        self.trailers.extend(trailing_metadata)
        raise grpc.aio.AbortError(details)

    async def abort_with_status(self, status: Any) -> NoReturn:
        await self.abort(status.code, status.details, status.trailing_metadata)

    def set_trailing_metadata(self, trailing_metadata: Any) -> None:
        self.trailers = list(trailing_metadata)

    def invocation_metadata(self) -> grpc.aio.Metadata:
        return self._metadata

    def auth_context(self) -> Mapping[str, Iterable[bytes]]:
        return {"x509_pem_cert": [self._cert_pem]}

    def peer(self) -> str:
        return f"relay:{self._caller}"

    def peer_identities(self) -> Iterable[bytes] | None:
        return [self._caller.encode()]

    def peer_identity_key(self) -> str | None:
        return "x509_subject_alternative_name"

    def time_remaining(self) -> float:
        return max(0.0, self._deadline - time.monotonic())

    def set_code(self, code: grpc.StatusCode) -> None:
        self.status = code

    def set_details(self, details: str) -> None:
        self.message = details

    def code(self) -> grpc.StatusCode:
        return self.status

    def details(self) -> str:
        return self.message

    def cancelled(self) -> bool:
        return self._cancelled

    def done(self) -> bool:
        return False

    # -- streaming and compression do not apply to a relayed unary exchange ----------------

    async def read(self) -> Any:
        raise NotImplementedError("relayed calls carry one request")

    async def write(self, message: Any) -> None:
        raise NotImplementedError("handlers of relayed calls yield or return their answers")

    async def send_initial_metadata(self, initial_metadata: Any) -> None:
        """Initial metadata does not travel through the relay."""

    def set_compression(self, compression: grpc.Compression) -> None:
        """The envelope, not the call, decides the bytes on the wire."""

    def disable_next_message_compression(self) -> None:
        """See :meth:`set_compression`."""
