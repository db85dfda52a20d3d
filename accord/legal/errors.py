"""Errors of the legal profiles: a profile that cannot be used, or Cedar failing."""

from __future__ import annotations


class LegalError(Exception):
    """Base class of errors raised by :mod:`accord.legal`."""


class ProfileError(LegalError):
    """A legal profile is unknown, or its Cedar policies or schema are invalid."""


class PolicyEvaluationError(LegalError):
    """Cedar could not evaluate a request. Never a decision: the caller must refuse."""


class SignedAgreementError(LegalError):
    """An exported agreement document is malformed, or a signature on it does not verify."""
