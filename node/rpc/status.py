"""THE table from domain errors to gRPC status codes.

Every error a servicer lets escape is mapped here and nowhere else, by walking the
exception's class hierarchy and taking the most specific entry. Anything unmapped is our
own bug: it becomes INTERNAL with a generic message, and the detail stays in our log.
"""

from __future__ import annotations

from collections.abc import Mapping

import grpc

from crypto.errors import CryptoError
from node.errors import (
    NodeError,
    PeerError,
    PeerMismatchError,
    PeerUnavailableError,
    SetupError,
    UnknownPeerError,
)
from node.exchange.answering import BatchCapError
from node.exchange.errors import (
    AgreementConflictError,
    AgreementNotFoundError,
    AgreementStateError,
    InactivePeerError,
    InvalidCommandError,
    NoSuchPeerError,
    PartyMismatchError,
    PeerDeniedError,
    PeerRefusedError,
    WrongPartyError,
)
from node.exchange.query_errors import AnswerError, QueryFormatError, QueryReplayError
from node.ledger.errors import (
    InconsistentCheckpointError,
    ProofRequestError,
    UnknownLogError,
    WitnessConflictError,
)
from node.policy.errors import (
    AgreementSignatureError,
    InvalidAgreementError,
    InvalidQueryError,
    PolicyDeniedError,
)

#: Domain error class -> status code. Subclasses inherit their nearest ancestor's entry.
STATUS_BY_ERROR: Mapping[type[BaseException], grpc.StatusCode] = {
    UnknownPeerError: grpc.StatusCode.UNAUTHENTICATED,
    # Policy: a well-formed request the agreement or legal profile does not allow.
    PolicyDeniedError: grpc.StatusCode.PERMISSION_DENIED,
    InvalidAgreementError: grpc.StatusCode.INVALID_ARGUMENT,
    InvalidQueryError: grpc.StatusCode.INVALID_ARGUMENT,
    AgreementSignatureError: grpc.StatusCode.INVALID_ARGUMENT,
    PeerMismatchError: grpc.StatusCode.PERMISSION_DENIED,
    PeerUnavailableError: grpc.StatusCode.UNAVAILABLE,
    PeerError: grpc.StatusCode.PERMISSION_DENIED,
    # Agreements between nodes (node.exchange): an admin's command, a peer's message, and
    # the peer's own refusal of ours (its message, with its rule ids, inside ours).
    InvalidCommandError: grpc.StatusCode.INVALID_ARGUMENT,
    NoSuchPeerError: grpc.StatusCode.NOT_FOUND,
    InactivePeerError: grpc.StatusCode.FAILED_PRECONDITION,
    AgreementNotFoundError: grpc.StatusCode.NOT_FOUND,
    AgreementStateError: grpc.StatusCode.FAILED_PRECONDITION,
    AgreementConflictError: grpc.StatusCode.ALREADY_EXISTS,
    WrongPartyError: grpc.StatusCode.PERMISSION_DENIED,
    PartyMismatchError: grpc.StatusCode.INVALID_ARGUMENT,
    PeerDeniedError: grpc.StatusCode.PERMISSION_DENIED,
    PeerRefusedError: grpc.StatusCode.FAILED_PRECONDITION,
    # Private hit queries: a malformed, unsigned or inconsistent query; a replayed or stale
    # one; a batch over the transport cap; a peer's answer that does not verify.
    QueryFormatError: grpc.StatusCode.INVALID_ARGUMENT,
    QueryReplayError: grpc.StatusCode.ALREADY_EXISTS,
    BatchCapError: grpc.StatusCode.RESOURCE_EXHAUSTED,
    AnswerError: grpc.StatusCode.FAILED_PRECONDITION,
    # Ledger and witness (tlog-witness: 404 unknown log, 409 conflict, 422 bad proof).
    UnknownLogError: grpc.StatusCode.NOT_FOUND,
    WitnessConflictError: grpc.StatusCode.FAILED_PRECONDITION,
    InconsistentCheckpointError: grpc.StatusCode.INVALID_ARGUMENT,
    ProofRequestError: grpc.StatusCode.OUT_OF_RANGE,
    # Bad bytes from a peer (invalid group elements, proofs, signatures, notes).
    CryptoError: grpc.StatusCode.INVALID_ARGUMENT,
    SetupError: grpc.StatusCode.FAILED_PRECONDITION,
    NodeError: grpc.StatusCode.INTERNAL,
}


def status_for(error: BaseException) -> grpc.StatusCode | None:
    """The status code for ``error``, or ``None`` if it is not a domain error."""
    for cls in type(error).__mro__:
        code = STATUS_BY_ERROR.get(cls)
        if code is not None:
            return code
    return None
