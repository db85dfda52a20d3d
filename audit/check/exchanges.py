"""Both sides of every exchange: present, saying the same thing, at about the same time.

A hit query is recorded four times: ``query.sent`` and ``answer.received`` on the
requester's ledger, ``query.received`` and ``answer.sent`` on the responder's. They are
paired by the requester's name and the request id, and must agree on the commitments
(``q_commit``, ``case_commit``), the agreement, purpose, actor, window and batch. A side is
expected only when the ledger that would hold it is audited, and an answer only when the
responder allowed the query.
"""

from __future__ import annotations

from audit.check.findings import Finding, finding
from audit.check.model import Exchange, Facts, Side

#: Fields both query entries carry and must agree on.
_SHARED = (
    "agreement_id",
    "agreement_hash",
    "purpose",
    "case_commit",
    "actor",
    "window_days",
    "batch_size",
    "q_commit",
)


def _unpaired(x: Exchange, facts: Facts) -> list[Finding]:
    out: list[Finding] = []
    responder_audited = x.responder in facts.nodes
    requester_audited = x.requester in facts.nodes
    pairs = (
        (x.sent, x.received, "query.sent", "query.received", responder_audited),
        (x.received, x.sent, "query.received", "query.sent", requester_audited),
        (x.answer_sent, x.answer_received, "answer.sent", "answer.received", requester_audited),
        (x.answer_received, x.answer_sent, "answer.received", "answer.sent", responder_audited),
    )
    for have, want, have_type, want_type, expected in pairs:
        if have is None or want is not None or not expected:
            continue
        where = x.requester if want_type in ("query.sent", "answer.received") else x.responder
        out.append(
            finding(
                "exchange.unpaired",
                [have.ref.node, str(where)],
                [have.ref],
                f"{have_type} of request {x.request_id} ({have.ref.node} #{have.ref.index}) "
                f"has no {want_type} on {where}'s ledger",
            )
        )
    return out


def _mismatch(x: Exchange) -> list[Finding]:
    out: list[Finding] = []
    if x.sent is not None and x.received is not None:
        differ = [k for k in _SHARED if x.sent.get(k) != x.received.get(k)]
        if x.sent.get("peer") != x.received.ref.node:
            differ.append("peer")
        if differ:
            out.append(
                finding(
                    "exchange.mismatch",
                    [x.sent.ref.node, x.received.ref.node],
                    [x.sent.ref, x.received.ref],
                    f"request {x.request_id}: query.sent and query.received differ in "
                    f"{', '.join(differ)}",
                )
            )
    commits = {s.get("q_commit") for s in (x.sent, x.received) if s is not None}
    for answer, name in ((x.answer_sent, "answer.sent"), (x.answer_received, "answer.received")):
        if answer is not None and commits and answer.get("q_commit") not in commits:
            query = x.query
            assert query is not None
            out.append(
                finding(
                    "exchange.mismatch",
                    [answer.ref.node, query.ref.node],
                    [answer.ref, query.ref],
                    f"request {x.request_id}: {name} commits to another query (q_commit)",
                )
            )
    return out


def _answer_without_allow(x: Exchange, facts: Facts) -> list[Finding]:
    if x.answer_sent is None:
        return []
    if (
        x.received is not None
        and x.received.get("decision") == "allow"
        and x.received.ref.index < x.answer_sent.ref.index
    ):
        return []
    if x.received is None:
        why = "no query.received precedes it"
    elif x.received.get("decision") != "allow":
        why = f"the query was refused ({', '.join(x.received.get('rule_ids'))})"  # type: ignore[arg-type]
    else:
        why = "it precedes the query.received that allowed it"
    return [
        finding(
            "exchange.answer_without_allow",
            [x.answer_sent.ref.node],
            [r for r in (x.answer_sent.ref, x.received.ref if x.received else None) if r],
            f"answer.sent for request {x.request_id} on {x.answer_sent.ref.node}, but {why}",
        )
    ]


def check_exchanges(facts: Facts) -> list[Finding]:
    """``exchange.unpaired``, ``exchange.mismatch`` and ``exchange.answer_without_allow``."""
    out: list[Finding] = []
    for x in facts.exchanges:
        out += _unpaired(x, facts)
        out += _mismatch(x)
        out += _answer_without_allow(x, facts)
    return out


def check_clock_skew(facts: Facts) -> list[Finding]:
    """``clock.skew``: one finding per pair of nodes where a record of an exchange's step is
    timestamped before the step that caused it by more than the tolerance, naming the
    worst pair.

    A record made later can only carry an earlier time if the two clocks disagree: the
    query is received after it is sent, the answer received after it is sent. A record
    *later* than its cause proves nothing (the responder checks, the requester unblinds a
    large batch), but a clock ahead on one side shows as the reply recorded before the
    answer on the other, so every skew beyond the tolerance is caught on an exchange with
    both steps, and nothing else is.
    """
    tolerance = facts.inp.thresholds.skew_tolerance_ms
    worst: dict[tuple[str, str], tuple[int, Side, Side]] = {}
    counts: dict[tuple[str, str], list[int]] = {}
    for x in facts.exchanges:
        for cause, effect in ((x.sent, x.received), (x.answer_sent, x.answer_received)):
            if cause is None or effect is None:
                continue
            key = (min(cause.ref.node, effect.ref.node), max(cause.ref.node, effect.ref.node))
            early = cause.time_ms - effect.time_ms
            tally = counts.setdefault(key, [0, 0])
            tally[1] += 1
            if early > tolerance:
                tally[0] += 1
                if key not in worst or early > worst[key][0]:
                    worst[key] = (early, cause, effect)
    out: list[Finding] = []
    for key, (early, cause, effect) in sorted(worst.items()):
        skewed, total = counts[key]
        out.append(
            finding(
                "clock.skew",
                key,
                [cause.ref, effect.ref],
                f"{effect.entry.type} on {effect.ref.node} is timed {early / 1000:.1f} s before "
                f"the {cause.entry.type} on {cause.ref.node} it follows (tolerance "
                f"{tolerance / 1000:.0f} s); {skewed} of {total} paired steps show it",
            )
        )
    return out
