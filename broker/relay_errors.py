"""Errors of the broker's relay, and the gRPC status each one is answered with.

Every refusal names what the caller can act on: the recipient that is not connected, the
identity the envelope claims against the one the caller's certificate proves, the limit
an envelope exceeded. None of them carries envelope bytes.
"""

from __future__ import annotations

from collections.abc import Mapping

import grpc

from broker.errors import BrokerError, CallerError


class RelayError(BrokerError):
    """Base class of the relay's refusals."""


class RecipientNotConnectedError(RelayError):
    """The recipient holds no relay stream (or it closed while the caller waited)."""


class ReplyTimeoutError(RelayError):
    """The recipient did not reply within the caller's deadline."""


class RelayBusyError(RelayError):
    """Too many envelopes are waiting for replies, or the recipient is not draining."""


class SenderMismatchError(RelayError, CallerError):
    """The envelope claims a sender other than the caller's certificate proves, or its
    signature is not the claimed sender's."""


class MalformedEnvelopeError(RelayError):
    """The envelope is malformed, oversized, or not the kind of envelope this call takes."""


class DuplicateEnvelopeError(RelayError):
    """An envelope with this id is already waiting for its reply."""


RELAY_STATUS: Mapping[type[BaseException], grpc.StatusCode] = {
    RecipientNotConnectedError: grpc.StatusCode.UNAVAILABLE,
    ReplyTimeoutError: grpc.StatusCode.DEADLINE_EXCEEDED,
    RelayBusyError: grpc.StatusCode.RESOURCE_EXHAUSTED,
    SenderMismatchError: grpc.StatusCode.PERMISSION_DENIED,
    MalformedEnvelopeError: grpc.StatusCode.INVALID_ARGUMENT,
    DuplicateEnvelopeError: grpc.StatusCode.ALREADY_EXISTS,
}


def relay_status(error: RelayError) -> grpc.StatusCode:
    """The status code of a relay refusal (most specific class wins)."""
    for cls in type(error).__mro__:
        code = RELAY_STATUS.get(cls)
        if code is not None:
            return code
    return grpc.StatusCode.INTERNAL
