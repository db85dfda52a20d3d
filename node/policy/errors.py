"""Errors of agreements, legal profiles and policy decisions.

By who is at fault:

- a peer or an admin handed us a malformed document: :class:`InvalidAgreementError`,
  :class:`InvalidQueryError` (both name the offending field);
- a signature on an agreement or revocation does not verify: :class:`AgreementSignatureError`,
  one opaque message whatever went wrong;
- the request is well formed but the agreement or the legal profile refuses it:
  :class:`PolicyDeniedError`, carrying the ids of the rules that decided;
- our own setup is broken (an unknown or invalid profile): :class:`ProfileError`, also a
  :class:`~node.errors.SetupError`;
- the policy engine failed to evaluate: :class:`PolicyEvaluationError`, our bug.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from node.errors import NodeError, SetupError


class PolicyError(NodeError):
    """Base class of every error raised by ``node.policy``."""


class _FieldError(PolicyError):
    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {detail}" if field else detail)
        self.detail = detail
        self.field = field

    def under(self, prefix: str) -> Self:
        """The same error, with its field path prefixed by ``prefix``."""
        return type(self)(self.detail, f"{prefix}.{self.field}" if self.field else prefix)


class InvalidAgreementError(_FieldError):
    """An agreement document is malformed: a missing, unknown or ill-typed field, or a value
    out of range. ``field`` is the dotted path of the offending field, when there is one."""


class InvalidQueryError(_FieldError):
    """A query or share request lacks a field or carries an invalid one. Refused before any
    policy is evaluated."""


class AgreementSignatureError(PolicyError):
    """A signature on an agreement or its revocation is missing where required, made by
    someone who is not a party, or does not verify."""


class PolicyDeniedError(PolicyError):
    """The agreement or the legal profile refuses the request.

    ``rule_ids`` are the stable ids of the rules that decided (for the ledger and for
    ``google.rpc.Status`` details); ``reason`` is one human-readable line.
    """

    def __init__(self, rule_ids: Sequence[str], reason: str) -> None:
        super().__init__(f"denied by {', '.join(rule_ids)}: {reason}")
        self.rule_ids = tuple(rule_ids)
        self.reason = reason


class ProfileError(PolicyError, SetupError):
    """A legal profile is unknown, or its Cedar policies or schema are invalid."""


class PolicyEvaluationError(PolicyError):
    """Cedar could not evaluate a request. Never a decision: the caller must refuse."""
