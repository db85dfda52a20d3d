"""Every answered query within its agreement; every refusal for a reason that holds.

For each exchange the agreement is found by the hash its entries record. The query was
*answered* when the responder recorded ``query.received`` with decision ``allow`` (or,
when the responder's ledger is not audited, when the requester recorded
``answer.received``). An answered query is checked against the agreement's terms, by the
same rules the node's policy engine applies, as far as the ledger holds the facts:

============================  ====================  =====================================
code                          node rule             fact checked
============================  ====================  =====================================
query.kind_outside_agreement  agreement.query-kind  hit_query (or alerts) among the kinds
query.purpose_outside...      agreement.purpose     the purpose among the agreement's
query.window_outside...       agreement.window      window_days <= the agreement's
query.batch_outside...        agreement.batch-size  batch_size <= max_batch
query.rate_outside...         agreement.rate-limit  plates answered that UTC day <= limit
query.outside_validity        agreement.unsigned,   both signatures; valid_from <= time <
                              not-yet-valid,        valid_until; before the responder's
                              expired, revoked      agreement.revoked
============================  ====================  =====================================

A *refused* query is not a violation; its rule ids are checked instead
(``query.refusal_rule_mismatch``) for the rules above, whose facts the ledger holds. The
case number (only its salted commitment is logged), the requester's ORI, the declarations
on file and the transport checks (``request.*``) are not on the ledger: refusals citing
them are not judged. Times within ``boundary_margin_ms`` of a validity boundary or of
midnight UTC are not judged either: the node decides a moment before it records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from accord.legal.signed_agreement import SignedAgreementDocument
from audit.check.findings import Finding, finding
from audit.check.model import (
    ALERT_PURPOSE,
    DAY_MS,
    NO_AGREEMENT_HASH,
    Exchange,
    Facts,
    Side,
    day_of,
)


@dataclass(frozen=True, slots=True)
class _Broken:
    code: str
    rule_id: str
    why: str


def _terms(
    q: Side, doc: SignedAgreementDocument, facts: Facts, used_before: int
) -> tuple[list[_Broken], set[str]]:
    """The agreement terms ``q`` breaks, and the rule ids too close to call;
    ``used_before`` = plates answered under the agreement earlier that UTC day on the
    responder."""
    out: list[_Broken] = []
    undecided: set[str] = set()
    purpose, window, batch = q.get("purpose"), q.get("window_days"), q.get("batch_size")
    assert isinstance(window, int)
    assert isinstance(batch, int)
    if purpose == ALERT_PURPOSE:
        if "alerts" not in doc.query_kinds:
            out.append(_Broken("query.kind_outside_agreement", "agreement.query-kind", "alerts"))
    else:
        if "hit_query" not in doc.query_kinds:
            out.append(
                _Broken("query.kind_outside_agreement", "agreement.query-kind", "hit queries")
            )
        if purpose not in doc.purposes:
            out.append(
                _Broken(
                    "query.purpose_outside_agreement",
                    "agreement.purpose",
                    f"purpose {purpose} is not among {', '.join(sorted(doc.purposes))}",
                )
            )
        if window > doc.window_days:
            out.append(
                _Broken(
                    "query.window_outside_agreement",
                    "agreement.window",
                    f"{window} days asked, {doc.window_days} agreed",
                )
            )
    if batch > doc.max_batch:
        out.append(
            _Broken(
                "query.batch_outside_agreement",
                "agreement.batch-size",
                f"{batch} plates in one query, {doc.max_batch} agreed",
            )
        )
    margin = facts.inp.thresholds.boundary_margin_ms
    if min(q.time_ms % DAY_MS, DAY_MS - q.time_ms % DAY_MS) < margin:
        undecided.add("agreement.rate-limit")
    elif used_before + batch > doc.plates_per_day:
        out.append(
            _Broken(
                "query.rate_outside_agreement",
                "agreement.rate-limit",
                f"{used_before + batch} plates that UTC day, {doc.plates_per_day} agreed",
            )
        )
    if purpose == ALERT_PURPOSE and batch > doc.max_batch:
        # The node refuses an oversized alerts batch under agreement.rate-limit.
        undecided.add("agreement.rate-limit")
    out += _validity(q, doc, facts, undecided)
    return out, undecided


def _validity(
    q: Side, doc: SignedAgreementDocument, facts: Facts, undecided: set[str]
) -> list[_Broken]:
    margin = facts.inp.thresholds.boundary_margin_ms
    start = int(doc.valid_from.timestamp() * 1000)
    end = int(doc.valid_until.timestamp() * 1000)
    if abs(q.time_ms - start) <= margin:
        undecided.add("agreement.not-yet-valid")
    if abs(q.time_ms - end) <= margin:
        undecided.add("agreement.expired")
    if not doc.fully_signed:
        return [
            _Broken(
                "query.outside_validity",
                "agreement.unsigned",
                f"agreement {doc.agreement_id} is signed by "
                f"{', '.join(sorted(doc.signed_by)) or 'nobody'} only",
            )
        ]
    if q.time_ms < start - margin:
        return [_Broken("query.outside_validity", "agreement.not-yet-valid", "before valid_from")]
    if q.time_ms >= end + margin:
        return [_Broken("query.outside_validity", "agreement.expired", "after valid_until")]
    revoked = facts.revoked_at.get((q.ref.node, doc.digest_hex))
    if revoked is not None and q.time_ms > revoked:
        return [
            _Broken(
                "query.outside_validity",
                "agreement.revoked",
                f"after {q.ref.node} recorded its revocation",
            )
        ]
    return []


#: The node rules whose facts the ledger holds: a refusal citing one is judged.
_DECIDABLE = {
    "agreement.query-kind",
    "agreement.purpose",
    "agreement.window",
    "agreement.batch-size",
    "agreement.rate-limit",
    "agreement.unsigned",
    "agreement.not-yet-valid",
    "agreement.expired",
    "agreement.revoked",
}


def _answered(x: Exchange) -> bool:
    if x.received is not None:
        return x.received.get("decision") == "allow"
    return x.answer_received is not None


def check_queries(facts: Facts) -> list[Finding]:
    """The term codes for answered queries, ``query.without_agreement``, and
    ``query.refusal_rule_mismatch`` for refusals."""
    out: list[Finding] = []
    # (responder, agreement id, UTC day) -> plates answered: the node counts by agreement
    # id, whatever the version, so this does too.
    used: dict[tuple[str, str, int], int] = {}
    for x in facts.exchanges:
        q = x.query
        if q is None:
            continue
        h = q.get("agreement_hash")
        assert isinstance(h, str)
        day_key = (str(x.responder), str(q.get("agreement_id")), day_of(q.time_ms))
        used_before = used.get(day_key, 0)
        answered = _answered(x)
        doc = facts.documents.get(h)
        refs = x.refs()
        nodes = [x.requester, str(x.responder)]
        if answered:
            batch = q.get("batch_size")
            assert isinstance(batch, int)
            used[day_key] = used_before + batch
        if doc is None:
            if answered and h == NO_AGREEMENT_HASH:
                out.append(
                    finding(
                        "query.without_agreement",
                        nodes,
                        refs,
                        f"request {x.request_id} was answered, and the responder holds no "
                        f"agreement {q.get('agreement_id')}",
                    )
                )
            continue  # a missing document is its own finding
        broken, undecided = _terms(q, doc, facts, used_before)
        if answered:
            for b in broken:
                out.append(
                    finding(
                        b.code,
                        nodes,
                        refs,
                        f"request {x.request_id} from {x.requester} was answered under "
                        f"{doc.agreement_id} v{doc.version} although {b.why} ({b.rule_id})",
                    )
                )
        elif x.received is not None:
            out += _mismatched_refusal(x, x.received, broken, undecided)
    return out


def _mismatched_refusal(
    x: Exchange, received: Side, broken: Sequence[_Broken], undecided: set[str]
) -> list[Finding]:
    rule_ids = received.get("rule_ids")
    assert isinstance(rule_ids, list)
    holds = {b.rule_id for b in broken} | undecided
    wrong = sorted(r for r in rule_ids if r in _DECIDABLE and r not in holds)
    if not wrong:
        return []
    return [
        finding(
            "query.refusal_rule_mismatch",
            [received.ref.node],
            [received.ref],
            f"request {x.request_id} was refused citing {', '.join(wrong)}, which the "
            "recorded query and its agreement do not break",
        )
    ]
