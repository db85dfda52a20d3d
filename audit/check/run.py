"""One compliance check: load the ledgers, documents and profile, run every rule.

:func:`check` runs the rules on inputs already in memory (what the unit tests use);
:func:`run_check` reads them from disk first, through :mod:`audit.ledger_set` (each ledger
verified in full; a ledger that fails is a finding and none of its entries is used) and
:mod:`audit.documents`. Input that cannot be read at all raises :class:`CheckInputError`;
everything else the auditor should know is a :class:`~audit.check.findings.Finding`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from accord.legal.errors import ProfileError
from accord.legal.profile import PROFILE_JURISDICTIONS, SHIPPED_PROFILES, LegalProfile
from accord.legal.signed_agreement import SignedAgreementDocument
from audit.check.agreements import check_documents, check_pairs, check_profile
from audit.check.errors import CheckInputError
from audit.check.exchanges import check_clock_skew, check_exchanges
from audit.check.findings import Finding, finding, sorted_findings
from audit.check.model import BoundProfile, CheckInput, Ledger, Thresholds, facts_of
from audit.check.queries import check_queries
from audit.check.retention import check_retention
from audit.check.volume import check_volume
from audit.documents import read_documents
from audit.errors import AuditError, DocumentSourceError
from audit.ledger_set import discover, load_ledgers
from crypto.canonical_json import JsonValue

REPORT_FORMAT = "accord/audit-check/v1"

RULES = (
    check_documents,
    check_pairs,
    check_profile,
    check_exchanges,
    check_queries,
    check_retention,
    check_volume,
    check_clock_skew,
)


def check(inp: CheckInput) -> list[Finding]:
    """Every rule over ``inp``; findings sorted (most severe first)."""
    facts = facts_of(inp)
    return sorted_findings([f for rule in RULES for f in rule(facts)])


@dataclass(frozen=True, slots=True)
class LedgerSummary:
    label: str
    node: str
    size: int
    witnessed: bool


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What ``accord audit check`` prints."""

    ledgers: tuple[LedgerSummary, ...]
    documents: tuple[str, ...]
    profile: str
    findings: tuple[Finding, ...]

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "format": REPORT_FORMAT,
            "profile": self.profile,
            "ledgers": [
                {"label": s.label, "node": s.node, "size": s.size, "witnessed": s.witnessed}
                for s in self.ledgers
            ],
            "agreements": list(self.documents),
            "findings": [f.to_json() for f in self.findings],
        }


def load_documents(paths: Sequence[Path]) -> tuple[list[SignedAgreementDocument], list[Finding]]:
    """Verified documents (:func:`audit.documents.read_documents`), and a finding for each
    file that is not a valid export.

    A path that does not exist, or a file that cannot be read, raises
    :class:`CheckInputError`.
    """
    try:
        found = read_documents(paths)
    except DocumentSourceError as e:
        raise CheckInputError(str(e)) from e
    findings = [
        finding("agreement.document_invalid", [], [], f"{r.path.name}: {r.reason}")
        for r in found.rejected
    ]
    return list(found.documents), findings


def load_profile(spec: str) -> tuple[BoundProfile | None, list[Finding]]:
    """A shipped profile by name, or a ``.cedar`` file (with the baseline permits) that
    binds every node. An unknown name is a finding (the law checks are then skipped); a
    file that does not validate raises :class:`CheckInputError`."""
    if spec in SHIPPED_PROFILES:
        return BoundProfile(LegalProfile.load(spec), PROFILE_JURISDICTIONS.get(spec)), []
    path = Path(spec)
    if path.is_file():
        try:
            text = path.read_text("utf-8")
            profile = LegalProfile.custom(path.stem, text, f"custom profile {path}")
        except (OSError, UnicodeDecodeError, ProfileError) as e:
            raise CheckInputError(f"{path}: not a usable profile: {e}") from e
        return BoundProfile(profile, None), []
    known = ", ".join(sorted(SHIPPED_PROFILES))
    return None, [
        finding(
            "profile.unknown",
            [],
            [],
            f"no legal profile {spec!r} (known: {known}, or a .cedar file); the agreements "
            "were not checked against any law",
        )
    ]


def run_check(
    ledger_paths: Sequence[Path],
    agreement_paths: Sequence[Path],
    profile: str,
    thresholds: Thresholds | None = None,
    *,
    workers: int | None = None,
) -> CheckReport:
    """Load everything and run every rule; raises :class:`CheckInputError` on input that
    cannot be read (a directory holding no ledger, an unreadable file, a broken profile
    file)."""
    bound, findings = load_profile(profile)
    documents, invalid = load_documents(agreement_paths)
    findings += invalid
    try:
        ledger_set = load_ledgers(discover(list(ledger_paths)), workers=workers)
    except AuditError as e:
        raise CheckInputError(str(e)) from e
    for bad in ledger_set.excluded:
        findings.append(
            finding(
                "ledger.unverified",
                [bad.label],
                [],
                f"{bad.label} ({bad.location}) is left out of every other check: {bad.reason}",
            )
        )
    inp = CheckInput(
        ledgers=[Ledger(v.node, v.entries) for v in ledger_set.verified],
        documents=documents,
        profile=bound,
        thresholds=thresholds or Thresholds(),
    )
    return CheckReport(
        ledgers=tuple(
            LedgerSummary(v.label, v.node, v.size, v.witnessed) for v in ledger_set.verified
        ),
        documents=tuple(d.digest_hex for d in documents),
        profile=profile,
        findings=tuple(sorted_findings(findings + check(inp))),
    )
