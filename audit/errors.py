"""Errors of the auditor: every one names the first violation found."""

from __future__ import annotations


class AuditError(Exception):
    """Base class of audit errors."""


class AuditPolicyError(AuditError):
    """The verification policy file is missing, malformed or unsafe."""


class LogSourceError(AuditError):
    """A file of the log could not be read (missing, unreachable)."""


class VerificationError(AuditError):
    """The log violates what it claims: a signature, a proof, an entry or its history."""


class DocumentSourceError(AuditError):
    """A signed agreement file or directory named to the auditor cannot be read."""
