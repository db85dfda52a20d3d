"""The exact figures of a transparency report, computed from verified ledgers only.

Nothing here is published as it is: :mod:`audit.report.publish` suppresses small counts
first. Every figure is built from a :class:`~audit.ledger_set.LedgerSet`'s verified
entries, so an excluded ledger contributes nothing.

One exchange (a query from a requester to a responder) is logged on both sides, as
``query.sent`` at the requester and ``query.received`` at the responder, with the same
``request_id`` and ``q_commit``; it is counted once, whichever ledgers were loaded. The
``q_commit`` commits to the whole query (purpose, plates, window), so both sides' copies
describe the same query. The responder's copy says whether it was refused and by which
rules; the requester's ``answer.received`` says how many hits came back.

Agreements are the one figure that needs more than the ledgers: whether one is in force
depends on the validity written in its signed document, matched by the hash a verified
ledger records (:mod:`audit.report.agreements`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from audit.documents import DocumentSet, RejectedDocument
from audit.ledger_set import ExcludedLedger, LedgerSet, VerifiedLedger
from audit.report.agreements import AgreementState, agreement_states
from audit.report.retention import (
    Deletion,
    Setting,
    SettingsHistory,
    deletion,
    parse_settings,
)

#: The decision a responder logs for a query its policy refused.
DENY = "deny"
#: Rule id of an admin.action ``query.refused`` whose detail names none.
UNNAMED_RULE = "unnamed"


@dataclass(slots=True)
class Exchange:
    requester: str
    responder: str
    purpose: str
    plates: int
    time_ms: int
    decision: str | None = None
    rule_ids: tuple[str, ...] = ()
    hits: int | None = None
    logged_by: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Figures:
    verified: tuple[VerifiedLedger, ...]
    excluded: tuple[ExcludedLedger, ...]
    first_ms: int | None
    last_ms: int | None
    #: Each agreement's state at ``last_ms`` (audit/report/agreements.py).
    agreements: tuple[AgreementState, ...]
    #: Queries by (requesting agency, purpose).
    queries: Mapping[tuple[str, str], int]
    #: Plates asked in answered queries, and hits returned, by requesting agency.
    plates_answered: Mapping[str, int]
    hits: Mapping[str, int]
    #: Refusals by the sorted rule ids that decided.
    refusals: Mapping[tuple[str, ...], int]
    settings: tuple[Setting, ...]
    deletions: tuple[Deletion, ...]
    #: Distinct verified agreement documents supplied, and the files that did not verify.
    documents: int = 0
    rejected_documents: tuple[RejectedDocument, ...] = ()


ExchangeKey = tuple[str, str, str, str]  # requester, responder, request id, q_commit


def _exchanges(ledgers: LedgerSet) -> tuple[dict[ExchangeKey, Exchange], Counter[tuple[str, ...]]]:
    exchanges: dict[ExchangeKey, Exchange] = {}
    unparsed: Counter[tuple[str, ...]] = Counter()
    answers: list[tuple[ExchangeKey, int]] = []
    for ledger, e in ledgers.entries():
        f = e.fields
        if e.type in ("query.sent", "query.received"):
            sent = e.type == "query.sent"
            requester, responder = (
                (ledger.node, str(f["peer"])) if sent else (str(f["peer"]), ledger.node)
            )
            key = (requester, responder, str(f["request_id"]), str(f["q_commit"]))
            x = exchanges.setdefault(
                key,
                Exchange(requester, responder, str(f["purpose"]), int(f["batch_size"]), e.time_ms),
            )
            x.logged_by.add(ledger.node)
            if not sent:
                x.decision = str(f["decision"])
                x.rule_ids = tuple(sorted({str(r) for r in f["rule_ids"]}))
        elif e.type == "answer.received":
            key = (ledger.node, str(f["peer"]), str(f["request_id"]), str(f["q_commit"]))
            answers.append((key, int(f["hits"])))
        elif e.type == "admin.action" and f["action"] == "query.refused":
            # A query refused before it could be read: its detail starts with the rule id.
            words = str(f["detail"]).split()
            unparsed[(words[0] if words else UNNAMED_RULE,)] += 1
    for key, hits in answers:
        answered = exchanges.get(key)
        if answered is not None:  # an answer without its query.sent: the compliance check's
            answered.hits = (answered.hits or 0) + hits
    return exchanges, unparsed


def compute(ledgers: LedgerSet, documents: DocumentSet | None = None) -> Figures:
    """Every exact figure of the report.

    ``documents`` are the signed agreements supplied with the ledgers (none if omitted:
    every agreement's validity is then unknown). Agreements are judged at ``last_ms``, the
    latest entry of the verified ledgers, not at the time the report is made, so the same
    inputs always give the same figures.
    """
    if documents is None:
        documents = DocumentSet()
    exchanges, refusals = _exchanges(ledgers)
    queries: Counter[tuple[str, str]] = Counter()
    plates: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    for x in exchanges.values():
        queries[(x.requester, x.purpose)] += 1
        if x.decision == DENY:
            refusals[x.rule_ids or (UNNAMED_RULE,)] += 1
        if x.hits is not None:
            plates[x.requester] += x.plates
            hits[x.requester] += x.hits
    settings = [s for ledger, e in ledgers.entries() for s in parse_settings(ledger.node, e)]
    history = SettingsHistory(settings)
    deletions = tuple(
        deletion(ledger.node, e, history)
        for ledger, e in ledgers.entries()
        if e.type == "retention.deleted"
    )
    times = [e.time_ms for _, e in ledgers.entries()]
    by_hash = documents.by_hash()
    return Figures(
        verified=ledgers.verified,
        excluded=ledgers.excluded,
        first_ms=min(times) if times else None,
        last_ms=max(times) if times else None,
        agreements=agreement_states(ledgers, by_hash, max(times)) if times else (),
        queries=dict(sorted(queries.items())),
        plates_answered=dict(sorted(plates.items())),
        hits=dict(sorted(hits.items())),
        refusals=dict(sorted(refusals.items())),
        settings=tuple(history.latest()),
        deletions=tuple(sorted(deletions, key=lambda d: (d.node, d.data_class, d.epoch))),
        documents=len(by_hash),
        rejected_documents=documents.rejected,
    )
