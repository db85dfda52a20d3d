"""Each agreement's state at the report's moment, from the ledgers and the signed documents.

The ledgers record each version of an agreement (``agreement.created``, then
``agreement.amended``) and its end (``agreement.revoked``), but of the terms only their
hash: when an agreement is valid is written in its signed document, which a node exports
beside its ledger (``<export>/agreements/``, read by :mod:`audit.documents`). An agreement
that simply ran out is never revoked on any ledger, so the ledgers alone would list it in
force for ever. Its state is therefore decided from both:

========================  ===========================================================
``revoked``               a party logged the revocation of its latest logged version
``unknown``               no verified document has the hash that version's entry records
``unsigned``              the document lacks a party's signature (a proposal not accepted)
``not_yet_valid``         the moment is before the document's ``valid_from``
``expired``               the moment is at or after the document's ``valid_until``
``in_force``              none of the above
========================  ===========================================================

checked in that order, so only ``in_force`` means in force. The *moment* is the time of
the latest entry of the verified ledgers (:attr:`audit.report.figures.Figures.last_ms`),
never the wall clock: the same ledgers and documents give the same report whenever it is
made, and an export says nothing about what happened after its last entry.

A document is matched by hash only, and only to a hash a verified ledger records, as
``accord audit check`` matches it: its keys come from the document itself, so the hash on a
verified ledger is what binds it to the parties.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from accord.legal.signed_agreement import SignedAgreementDocument
from audit.ledger_set import LedgerSet
from crypto.entries import Entry

#: How the report decides "in force", published with it (the JSON and the page).
IN_FORCE_RULE: Final = (
    "An agreement is in force only if no party has logged its revocation and the signed "
    "agreement whose hash the ledgers record for its latest version was supplied with the "
    "ledgers, verifies, is signed by both parties and is valid at the report's time: on or "
    "after its valid_from and before its valid_until. The report's time is that of the "
    "latest entry of the verified ledgers, so the same ledgers always give the same report. "
    "The ledgers record only each agreement's hash: where no signed document was supplied, "
    "its validity is unknown and it is not counted as in force."
)


class Standing(StrEnum):
    """An agreement's state at the report's moment (published as ``state``)."""

    IN_FORCE = "in_force"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNSIGNED = "unsigned"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class AgreementState:
    """An agreement's latest logged version, as its parties' ledgers and its signed
    document record it."""

    agreement_id: str
    version: int
    parties: tuple[str, str]
    #: Each logging party's own role (requester or responder).
    roles: Mapping[str, str]
    state: Standing
    #: The hash of the latest version's terms, as its ledger entry records it.
    agreement_hash: str
    since_ms: int
    revoked_ms: int | None
    revoked_reason: str | None
    #: The signed document's validity; ``None`` when no document has the hash.
    valid_from_ms: int | None
    valid_until_ms: int | None
    logged_by: tuple[str, ...]

    @property
    def in_force(self) -> bool:
        return self.state is Standing.IN_FORCE


def validity_ms(doc: SignedAgreementDocument) -> tuple[int, int]:
    """The document's ``valid_from`` and ``valid_until`` in milliseconds, as entry times."""
    return int(doc.valid_from.timestamp() * 1000), int(doc.valid_until.timestamp() * 1000)


def standing(revoked: bool, doc: SignedAgreementDocument | None, moment_ms: int) -> Standing:
    """The state of an agreement at ``moment_ms`` (see the module's table)."""
    if revoked:
        return Standing.REVOKED
    if doc is None:
        return Standing.UNKNOWN
    if not doc.fully_signed:
        return Standing.UNSIGNED
    start, end = validity_ms(doc)
    if moment_ms < start:
        return Standing.NOT_YET_VALID
    if moment_ms >= end:
        return Standing.EXPIRED
    return Standing.IN_FORCE


def agreement_states(
    ledgers: LedgerSet, documents: Mapping[str, SignedAgreementDocument], moment_ms: int
) -> tuple[AgreementState, ...]:
    """Every agreement the verified ledgers name, by id, in its state at ``moment_ms``.

    ``documents`` are verified documents by hash (:meth:`audit.documents.DocumentSet.by_hash`).
    """
    latest: dict[str, tuple[int, int, Entry]] = {}  # id -> (version, time, entry)
    revoked: dict[str, tuple[int, int, Entry]] = {}
    roles: dict[str, dict[str, str]] = {}
    logged_by: dict[str, set[str]] = {}
    parties: dict[str, set[str]] = {}
    for ledger, e in ledgers.entries():
        if not e.type.startswith("agreement."):
            continue
        aid, version = str(e.fields["agreement_id"]), int(e.fields["version"])
        logged_by.setdefault(aid, set()).add(ledger.node)
        parties.setdefault(aid, set()).update({ledger.node, str(e.fields["peer"])})
        if e.type != "agreement.revoked":
            roles.setdefault(aid, {})[ledger.node] = str(e.fields["role"])
        found = revoked if e.type == "agreement.revoked" else latest
        old = found.get(aid)
        if old is None or (version, e.time_ms) > old[:2]:
            found[aid] = (version, e.time_ms, e)
    out = []
    for aid in sorted(set(latest) | set(revoked)):
        version, since, entry = latest[aid] if aid in latest else revoked[aid]
        rev = revoked.get(aid)
        ended = rev if rev is not None and rev[0] >= version else None
        agreement_hash = str(entry.fields["agreement_hash"])
        doc = documents.get(agreement_hash)
        valid = validity_ms(doc) if doc is not None else None
        pair = sorted(parties[aid])
        out.append(
            AgreementState(
                agreement_id=aid,
                version=version,
                parties=(pair[0], pair[-1]),
                roles=dict(sorted(roles.get(aid, {}).items())),
                state=standing(ended is not None, doc, moment_ms),
                agreement_hash=agreement_hash,
                since_ms=since,
                revoked_ms=ended[1] if ended else None,
                revoked_reason=str(ended[2].fields["reason"]) if ended else None,
                valid_from_ms=valid[0] if valid else None,
                valid_until_ms=valid[1] if valid else None,
                logged_by=tuple(sorted(logged_by[aid])),
            )
        )
    return tuple(out)
