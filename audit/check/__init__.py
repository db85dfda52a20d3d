"""Compliance checks across verified ledgers: ``accord audit check``.

Signatures and proofs say a ledger is what its node wrote. These checks say whether what
it wrote is what the agreements and the law allow: both sides of every exchange present
and agreeing, answered queries within their agreement, refusals for reasons that hold,
agreements the legal profile permits, epochs deleted on time, no unusual surge of
queries, and clocks that agree. See ``docs/adr/0012-compliance-audit.md``.

    report = run_check([Path("exports")], [Path("agreements")], "us-ca-sb34")
    for f in report.findings:
        print(f.code, f.severity, f.message)
"""

from audit.check.errors import CheckInputError
from audit.check.findings import CODES, EntryRef, Finding, Severity
from audit.check.model import CheckInput, Ledger, Thresholds
from audit.check.run import CheckReport, check, run_check

__all__ = [
    "CODES",
    "CheckInput",
    "CheckInputError",
    "CheckReport",
    "EntryRef",
    "Finding",
    "Ledger",
    "Severity",
    "Thresholds",
    "check",
    "run_check",
]
