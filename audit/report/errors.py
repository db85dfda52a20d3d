"""Errors of the transparency report."""

from __future__ import annotations

from audit.errors import AuditError


class ReportError(AuditError):
    """The report could not be written (the output path is unusable)."""
