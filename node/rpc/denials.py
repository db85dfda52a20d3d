"""Policy denials as rich gRPC statuses: ``google.rpc.Status`` with ``accord.v1.PolicyDenial``.

A refusal by a rule carries the rules' stable ids in the status details (the standard
``grpc-status-details-bin`` trailer), so a requester can show and log exactly which rules
refused, without parsing messages::

    await context.abort(code, message, trailing_metadata=denial_trailer(code, message, ids))
    rule_ids = rule_ids_of(aio_rpc_error)        # on the client
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
import grpc.aio
from google.protobuf import any_pb2
from google.rpc import status_pb2

from accord.v1 import common_pb2

DETAILS_KEY = "grpc-status-details-bin"


def denial_trailer(
    code: grpc.StatusCode, message: str, rule_ids: Sequence[str], *, profile: str = ""
) -> tuple[tuple[str, bytes], ...]:
    """The trailing metadata that carries ``rule_ids`` as a PolicyDenial detail."""
    detail = any_pb2.Any()
    detail.Pack(common_pb2.PolicyDenial(rule_ids=list(rule_ids), reasons=[], profile=profile))
    status = status_pb2.Status(code=code.value[0], message=message, details=[detail])
    return ((DETAILS_KEY, status.SerializeToString()),)


def rule_ids_of(error: grpc.aio.AioRpcError) -> tuple[str, ...]:
    """The rule ids of a PolicyDenial in a failed call's details (empty if none)."""
    for key, value in error.trailing_metadata() or ():
        if key != DETAILS_KEY or not isinstance(value, bytes):
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            denial = common_pb2.PolicyDenial()
            if detail.Unpack(denial):
                return tuple(denial.rule_ids)
    return ()
