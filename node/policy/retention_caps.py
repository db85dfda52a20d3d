"""Statutory retention caps by state: re-exported from :mod:`accord.legal.retention_caps`,
where the table lives so that the auditor checks deadlines against the same caps."""

from accord.legal.retention_caps import (
    RETENTION_CAPS,
    RetentionCap,
    Verification,
    cap_for,
    capped,
)

__all__ = ["RETENTION_CAPS", "RetentionCap", "Verification", "cap_for", "capped"]
