"""Why a compliance check could not run at all (the CLI exits 2).

Everything the auditor should know about the ledgers, the agreements or the profile is a
finding; only input the check cannot even read is an error.
"""

from __future__ import annotations

from audit.errors import AuditError


class CheckInputError(AuditError):
    """A ledger directory, agreement file or profile file cannot be read or used."""
