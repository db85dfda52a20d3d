"""Legal profiles, as the node uses them: :mod:`accord.legal.profile` with node errors.

The policies, the schema and the evaluation live in :mod:`accord.legal` so that the
auditor asks the very same profile the node does (see ``docs/adr/0012``). This module keeps
the names the node has always imported, and turns the shared package's errors into the
node's: :class:`~node.policy.errors.ProfileError` (also a
:class:`~node.errors.SetupError`) and :class:`~node.policy.errors.PolicyEvaluationError`.

    >>> profile = LegalProfile.load("us-ca-sb34")
    >>> sorted(profile.rules)[:2]
    ['baseline-honour-query', 'baseline-share-alert']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Self

from accord.legal import errors as legal_errors
from accord.legal import profile as legal
from accord.legal.profile import (
    BASELINE_FILE,
    NAMESPACE,
    SCHEMA_FILE,
    SHIPPED_PROFILES,
    CedarRule,
    Evaluation,
)
from crypto.canonical_json import JsonValue
from node.policy.errors import PolicyEvaluationError, ProfileError

__all__ = [
    "BASELINE_FILE",
    "NAMESPACE",
    "SCHEMA_FILE",
    "SHIPPED_PROFILES",
    "CedarRule",
    "Evaluation",
    "LegalProfile",
]


class LegalProfile(legal.LegalProfile):
    """A validated set of Cedar policies with stable rule ids (raising node errors)."""

    def __init__(self, name: str, policy_texts: Sequence[str], description: str = "") -> None:
        try:
            super().__init__(name, policy_texts, description)
        except legal_errors.ProfileError as e:
            raise ProfileError(str(e)) from e

    @classmethod
    def load(cls, name: str) -> Self:
        """One of :data:`SHIPPED_PROFILES`; raises :class:`ProfileError` for any other."""
        try:
            return super().load(name)
        except legal_errors.ProfileError as e:
            raise ProfileError(str(e)) from e

    def evaluate(
        self,
        action: str,
        principal: Mapping[str, JsonValue],
        resource: Mapping[str, JsonValue],
        context: Mapping[str, JsonValue],
    ) -> Evaluation:
        """See :meth:`accord.legal.profile.LegalProfile.evaluate`."""
        try:
            return super().evaluate(action, principal, resource, context)
        except legal_errors.PolicyEvaluationError as e:
            raise PolicyEvaluationError(str(e)) from e
