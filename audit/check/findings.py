"""What the compliance check reports: findings with stable codes.

A finding names the rule it breaks by a **code** that never changes meaning (reports,
scripts and dashboards key on it), a severity, the nodes and ledger entries it rests on,
and one line for people. It never holds a plate: ledgers hold none, and nothing here adds
one. Codes are listed in :data:`CODES` with their severity; ``docs/adr/0012`` explains
each rule, its inputs, thresholds and limits.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from crypto.canonical_json import JsonValue


class Severity(enum.StrEnum):
    """How bad a finding is, for whoever reads the report first."""

    HIGH = "high"  # a rule of the agreement or the law broken, or evidence that cannot be trusted
    MEDIUM = "medium"  # evidence missing or inconsistent: one side of a story is absent
    LOW = "low"  # unusual, not a violation: worth a look

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


#: Every code the check can report, with its severity and what it means.
CODES: Final[Mapping[str, tuple[Severity, str]]] = {
    "ledger.unverified": (Severity.HIGH, "a ledger failed verification; it was left out"),
    "profile.unknown": (Severity.MEDIUM, "the named legal profile is not known"),
    "agreement.missing": (Severity.MEDIUM, "a ledger names an agreement no document was given for"),
    "agreement.document_invalid": (Severity.HIGH, "an agreement document does not verify"),
    "agreement.hash_mismatch": (
        Severity.HIGH,
        "an agreement document is not the one the ledgers record",
    ),
    "agreement.unpaired": (
        Severity.MEDIUM,
        "one party records an agreement, the other does not",
    ),
    "agreement.forbidden_by_profile": (Severity.HIGH, "the legal profile forbids the agreement"),
    "exchange.unpaired": (
        Severity.MEDIUM,
        "one side of an exchange is missing on the other",
    ),
    "exchange.mismatch": (Severity.HIGH, "the two sides of an exchange record different facts"),
    "exchange.answer_without_allow": (Severity.HIGH, "an answer was sent without an allowed query"),
    "query.without_agreement": (Severity.HIGH, "a query was answered under no known agreement"),
    "query.kind_outside_agreement": (Severity.HIGH, "answered a kind the agreement does not allow"),
    "query.purpose_outside_agreement": (Severity.HIGH, "answered a purpose outside the agreement"),
    "query.window_outside_agreement": (Severity.HIGH, "answered a look-back beyond the agreement"),
    "query.batch_outside_agreement": (Severity.HIGH, "answered more plates at once than agreed"),
    "query.rate_outside_agreement": (Severity.HIGH, "answered beyond the agreed daily plates"),
    "query.outside_validity": (Severity.HIGH, "answered under an agreement not in force"),
    "query.refusal_rule_mismatch": (
        Severity.MEDIUM,
        "a refusal cites a rule the facts miss",
    ),
    "retention.deadline_missed": (Severity.HIGH, "an epoch was kept past its maximum age"),
    "retention.setting_above_cap": (Severity.HIGH, "a declared retention exceeds the state cap"),
    "clock.skew": (Severity.MEDIUM, "two nodes' clocks disagree beyond the tolerance"),
    "volume.actor_above_usual": (Severity.LOW, "a user asked far more than usual on one day"),
    "volume.agency_above_usual": (Severity.LOW, "an agency asked far more than usual on one day"),
}


@dataclass(frozen=True, slots=True, order=True)
class EntryRef:
    """One ledger entry: the node whose ledger holds it and its index there."""

    node: str
    index: int

    def to_json(self) -> dict[str, JsonValue]:
        return {"node": self.node, "index": self.index}


#: At most this many entries are listed per finding (the message gives the full count).
MAX_REFS: Final = 20


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the auditor should look at."""

    code: str
    nodes: tuple[str, ...]
    entries: tuple[EntryRef, ...]
    message: str

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown finding code {self.code!r}")

    @property
    def severity(self) -> Severity:
        return CODES[self.code][0]

    def sort_key(self) -> tuple[int, str, tuple[str, ...], tuple[EntryRef, ...], str]:
        return (self.severity.rank, self.code, self.nodes, self.entries, self.message)

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "nodes": list(self.nodes),
            "entries": [e.to_json() for e in self.entries],
            "message": self.message,
        }


def finding(code: str, nodes: Iterable[str], entries: Iterable[EntryRef], message: str) -> Finding:
    """A finding with its nodes sorted and de-duplicated, and at most :data:`MAX_REFS`
    entries (in ledger order)."""
    refs = sorted(set(entries))
    return Finding(code, tuple(sorted(set(nodes))), tuple(refs[:MAX_REFS]), message)


def sorted_findings(findings: Sequence[Finding]) -> list[Finding]:
    """Most severe first, then by code, nodes and entries: the same input always gives the
    same report."""
    return sorted(findings, key=Finding.sort_key)
