"""THE table from the broker's errors to gRPC status codes (most specific class wins).

The witness refusals use the codes node witnesses use (C2SP tlog-witness: 404 unknown
log, 409 conflict, 422 bad proof), so a node's publisher treats the broker like a peer.
"""

from __future__ import annotations

from collections.abc import Mapping

import grpc

from broker.errors import BrokerError, BrokerSetupError, CallerError, NotAMemberError
from crypto.errors import CryptoError
from crypto.witness import InconsistentCheckpointError, UnknownLogError, WitnessConflictError

STATUS_BY_ERROR: dict[type[BaseException], grpc.StatusCode] = {
    NotAMemberError: grpc.StatusCode.UNAUTHENTICATED,
    CallerError: grpc.StatusCode.PERMISSION_DENIED,
    UnknownLogError: grpc.StatusCode.NOT_FOUND,
    WitnessConflictError: grpc.StatusCode.FAILED_PRECONDITION,
    InconsistentCheckpointError: grpc.StatusCode.INVALID_ARGUMENT,
    CryptoError: grpc.StatusCode.INVALID_ARGUMENT,
    BrokerSetupError: grpc.StatusCode.FAILED_PRECONDITION,
    BrokerError: grpc.StatusCode.INTERNAL,
}


def register_status(table: Mapping[type[BaseException], grpc.StatusCode]) -> None:
    """Add entries for errors of services mounted later (the relay's)."""
    STATUS_BY_ERROR.update(table)


def status_for(error: BaseException) -> grpc.StatusCode | None:
    for cls in type(error).__mro__:
        code = STATUS_BY_ERROR.get(cls)
        if code is not None:
            return code
    return None
