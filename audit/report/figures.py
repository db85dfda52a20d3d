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
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from audit.ledger_set import ExcludedLedger, LedgerSet, VerifiedLedger
from audit.report.retention import (
    Deletion,
    Setting,
    SettingsHistory,
    deletion,
    parse_settings,
)
from crypto.entries import Entry

#: The decision a responder logs for a query its policy refused.
DENY = "deny"
#: Rule id of an admin.action ``query.refused`` whose detail names none.
UNNAMED_RULE = "unnamed"


@dataclass(frozen=True, slots=True)
class AgreementState:
    """An agreement's latest logged version, as its parties' ledgers record it."""

    agreement_id: str
    version: int
    parties: tuple[str, str]
    #: Each logging party's own role (requester or responder).
    roles: Mapping[str, str]
    in_force: bool
    since_ms: int
    revoked_ms: int | None
    revoked_reason: str | None
    logged_by: tuple[str, ...]


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


ExchangeKey = tuple[str, str, str, str]  # requester, responder, request id, q_commit


def _agreements(ledgers: LedgerSet) -> tuple[AgreementState, ...]:
    latest: dict[str, tuple[int, int, Entry, str]] = {}  # id -> (version, time, entry, node)
    revoked: dict[str, tuple[int, int, str]] = {}  # id -> (version, time, reason)
    roles: dict[str, dict[str, str]] = {}
    logged_by: dict[str, set[str]] = {}
    parties: dict[str, set[str]] = {}
    for ledger, e in ledgers.entries():
        if not e.type.startswith("agreement."):
            continue
        aid, version = str(e.fields["agreement_id"]), int(e.fields["version"])
        logged_by.setdefault(aid, set()).add(ledger.node)
        parties.setdefault(aid, set()).update({ledger.node, str(e.fields["peer"])})
        if e.type == "agreement.revoked":
            old = revoked.get(aid)
            if old is None or (version, e.time_ms) > old[:2]:
                revoked[aid] = (version, e.time_ms, str(e.fields["reason"]))
            continue
        roles.setdefault(aid, {})[ledger.node] = str(e.fields["role"])
        old_latest = latest.get(aid)
        if old_latest is None or (version, e.time_ms) > old_latest[:2]:
            latest[aid] = (version, e.time_ms, e, ledger.node)
    out = []
    for aid in sorted(set(latest) | set(revoked)):
        version, since = latest[aid][:2] if aid in latest else (revoked[aid][0], revoked[aid][1])
        rev = revoked.get(aid)
        ended = rev is not None and rev[0] >= version
        pair = sorted(parties[aid])
        out.append(
            AgreementState(
                agreement_id=aid,
                version=version,
                parties=(pair[0], pair[-1]),
                roles=dict(sorted(roles.get(aid, {}).items())),
                in_force=not ended,
                since_ms=since,
                revoked_ms=rev[1] if ended and rev else None,
                revoked_reason=rev[2] if ended and rev else None,
                logged_by=tuple(sorted(logged_by[aid])),
            )
        )
    return tuple(out)


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


def compute(ledgers: LedgerSet) -> Figures:
    """Every exact figure of the report."""
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
    return Figures(
        verified=ledgers.verified,
        excluded=ledgers.excluded,
        first_ms=min(times) if times else None,
        last_ms=max(times) if times else None,
        agreements=_agreements(ledgers),
        queries=dict(sorted(queries.items())),
        plates_answered=dict(sorted(plates.items())),
        hits=dict(sorted(hits.items())),
        refusals=dict(sorted(refusals.items())),
        settings=tuple(history.latest()),
        deletions=tuple(sorted(deletions, key=lambda d: (d.node, d.data_class, d.epoch))),
    )
