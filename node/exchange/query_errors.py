"""Errors of the private query exchange, by who is at fault.

A peer's request that is malformed, unsigned, replayed or stale is the peer's fault and
is refused with a precise status; an agreement that is missing or not in force is a
policy matter (:class:`~node.policy.errors.PolicyDeniedError` with rule ids, raised by the
engine). Each message names the rule or field, never a plate.
"""

from __future__ import annotations

from node.errors import NodeError, PeerError


class ExchangeError(NodeError):
    """Base class of the query exchange's errors."""


class QueryFormatError(ExchangeError, PeerError):
    """A hit query's body, signature or elements are malformed or do not verify."""


class QueryReplayError(QueryFormatError):
    """A hit query's request id was seen before, or its time is outside the clock window."""


class NoAgreementError(ExchangeError):
    """No agreement in force lets this node ask (or answer) the peer for this."""


class AnswerError(ExchangeError, PeerError):
    """A peer's answer does not verify: bad proof, changed epoch key, bad receipt."""
