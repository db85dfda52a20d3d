"""The agreements behind the ledgers: each one present, the one recorded, and lawful.

Both parties' ledgers record an agreement's hash (``agreement.created`` or
``agreement.amended``, then in every query entry). The auditor is handed the signed
documents (``accord agreement export``); a document is accepted only for a hash a verified
ledger records, since its signing keys come from the document itself. The legal profile is
then asked, for the party that shares (the responder), whether it could sign it: the same
``SignAgreement`` question, with the same Cedar inputs, the node asks before signing.
"""

from __future__ import annotations

from collections.abc import Iterator

from accord.legal.cedar_inputs import agency_attributes, agreement_attributes, sign_context
from accord.legal.errors import PolicyEvaluationError
from accord.legal.signed_agreement import SignedAgreementDocument
from audit.check.findings import EntryRef, Finding, finding
from audit.check.model import NO_AGREEMENT_HASH, Facts

_RECORDS = ("agreement.created", "agreement.amended")
_REFERENCES = (*_RECORDS, "agreement.revoked", "query.sent", "query.received")


def _references(facts: Facts) -> Iterator[tuple[str, str, EntryRef]]:
    """(agreement hash, agreement id, entry) for every entry that names an agreement."""
    for ledger in facts.inp.ledgers:
        for index, entry in enumerate(ledger.entries):
            if entry.type in _REFERENCES:
                h = entry.fields["agreement_hash"]
                if h != NO_AGREEMENT_HASH:
                    yield h, entry.fields["agreement_id"], EntryRef(ledger.node, index)


def check_documents(facts: Facts) -> list[Finding]:
    """``agreement.missing`` and ``agreement.hash_mismatch``."""
    refs: dict[str, list[EntryRef]] = {}
    ids: dict[str, set[str]] = {}
    for h, agreement_id, ref in _references(facts):
        refs.setdefault(h, []).append(ref)
        ids.setdefault(agreement_id, set()).add(h)
    out: list[Finding] = []
    for h, where in sorted(refs.items()):
        if h in facts.documents:
            continue
        named = sorted(i for i, hashes in ids.items() if h in hashes)
        out.append(
            finding(
                "agreement.missing",
                [r.node for r in where],
                where,
                f"no document for agreement {', '.join(named)} (sha256 {h}), named by "
                f"{len(where)} entr{'y' if len(where) == 1 else 'ies'}; its queries are not "
                "checked against its terms",
            )
        )
    for doc in sorted(facts.documents.values(), key=lambda d: d.digest_hex):
        recorded = ids.get(doc.agreement_id, set())
        if doc.digest_hex in refs or not recorded:
            continue
        where = [r for h in recorded for r in refs[h]]
        out.append(
            finding(
                "agreement.hash_mismatch",
                [r.node for r in where],
                where,
                f"the document given for agreement {doc.agreement_id} v{doc.version} hashes to "
                f"{doc.digest_hex}; the ledgers record {', '.join(sorted(recorded))}",
            )
        )
    return out


def check_pairs(facts: Facts) -> list[Finding]:
    """``agreement.unpaired``: a party records an agreement the other party, audited too,
    does not (both store it, and log it, before either considers it proposed)."""
    recorded: dict[str, set[str]] = {}
    entries: list[tuple[str, str, str, EntryRef]] = []
    for ledger in facts.inp.ledgers:
        for index, entry in enumerate(ledger.entries):
            if entry.type in _RECORDS:
                h, peer = entry.fields["agreement_hash"], entry.fields["peer"]
                recorded.setdefault(ledger.node, set()).add(h)
                entries.append(
                    (h, peer, entry.fields["agreement_id"], EntryRef(ledger.node, index))
                )
    out: list[Finding] = []
    for h, peer, agreement_id, ref in entries:
        if peer in facts.nodes and h not in recorded.get(peer, set()):
            out.append(
                finding(
                    "agreement.unpaired",
                    [ref.node, peer],
                    [ref],
                    f"{ref.node} records agreement {agreement_id} (sha256 {h[:16]}...) with "
                    f"{peer}, whose ledger does not",
                )
            )
    return out


def _forbidden(facts: Facts, doc: SignedAgreementDocument) -> tuple[str, ...] | None:
    """The profile's rule ids that forbid the responder signing ``doc``, or ``None``."""
    bound = facts.inp.profile
    if bound is None or not bound.binds(doc.responder.jurisdiction):
        return None
    terms = doc.terms
    requester = terms["requester"]
    assert isinstance(requester, dict)
    # The declaration an out-of-state recipient may need is kept off the ledger: assume it
    # is on file, so only what the agreement itself shows can make a finding.
    context = sign_context(
        terms, local_is_party=True, local_shares=True, declaration_on_file=True, expired=False
    )
    try:
        result = bound.profile.evaluate(
            "SignAgreement", agency_attributes(requester), agreement_attributes(terms), context
        )
    except (PolicyEvaluationError, ValueError):
        return ("policy.evaluation-error",)
    if result.allowed:
        return None
    forbids = tuple(r for r in result.rule_ids if r in bound.profile.rules)
    return forbids or ("policy.default-deny",)


def check_profile(facts: Facts) -> list[Finding]:
    """``agreement.forbidden_by_profile`` for every recorded agreement whose responder the
    profile binds."""
    refs: dict[str, list[EntryRef]] = {}
    for h, _, ref in _references(facts):
        refs.setdefault(h, []).append(ref)
    out: list[Finding] = []
    for h, where in sorted(refs.items()):
        doc = facts.documents.get(h)
        if doc is None:
            continue
        rule_ids = _forbidden(facts, doc)
        if rule_ids is None:
            continue
        assert facts.inp.profile is not None
        rules = facts.inp.profile.profile.rules
        why = "; ".join(
            f"{r}: {rules[r].reason} ({rules[r].citation})" if r in rules else r for r in rule_ids
        )
        out.append(
            finding(
                "agreement.forbidden_by_profile",
                [doc.responder.node_id, doc.requester.node_id],
                where,
                f"profile {facts.inp.profile.profile.name} forbids {doc.responder.node_id} "
                f"sharing with {doc.requester.node_id} ({doc.requester.kind}, "
                f"{doc.requester.jurisdiction}) under agreement {doc.agreement_id} "
                f"v{doc.version}: {why}",
            )
        )
    return out
