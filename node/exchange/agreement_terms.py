"""What an admin proposes, what a node shows, and how both parties are filled in.

Pure: no network, no database, no clock of its own. An admin names only the terms and
the peer (:class:`AgreementTerms`); the node builds the whole
:class:`~node.policy.agreement.Agreement` from facts it holds itself, never from what the
admin typed about the parties: the requester is this node as configured
(:func:`own_party`), the responder is the peer as pinned (:func:`peer_party`). The peer
checks the same facts the other way round (:func:`check_parties`), so neither side can be
talked into an agreement that misstates who the other is, which is exactly what legal
profiles decide on (California SB 34 looks at the recipient's jurisdiction and kind).

    terms = AgreementTerms(agreement_id=AgreementId("oak-sf"), peer=NodeId("sf-pd"), ...)
    agreement = build_agreement(terms, version=1, requester=own_party(config, key),
                                responder=peer_party(peer), now=now)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from nacl.signing import SigningKey

from node.config import NodeConfig
from node.exchange.errors import InvalidCommandError, PartyMismatchError
from node.ids import AgreementId, NodeId
from node.policy import (
    Agreement,
    CaseNumberRule,
    LabelDetail,
    Party,
    QueryKind,
    RateLimit,
)
from node.policy.errors import InvalidAgreementError
from node.store.agreements import AgreementStatus, StoredAgreement
from node.store.peers import Peer

#: Reason codes go to the ledger as tokens (:mod:`crypto.entries`): keep them short codes.
_REASON_RE = re.compile(r"^[A-Za-z0-9._:/-]{1,64}$")
MAX_ADMIN_NAME = 128


@dataclass(frozen=True, slots=True, kw_only=True)
class AgreementTerms:
    """The terms an admin proposes to one peer; the parties are filled in by the node.

    ``valid_from`` ``None`` means the start of the current UTC day: a retried proposal on
    the same day then builds the very same document (and signature), which the peer
    answers with the state it already stored instead of refusing a second copy.
    """

    agreement_id: AgreementId
    peer: NodeId
    purposes: frozenset[str]
    query_kinds: frozenset[QueryKind]
    window_days: int
    label_detail: LabelDetail
    plates_per_day: int
    max_batch: int
    case_number_required: bool
    case_number_pattern: str | None
    alert_categories: frozenset[str]
    retention_days: int
    onward_sharing_banned: bool
    confusable_folding: bool
    valid_from: dt.datetime | None
    valid_until: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class AgreementView:
    """One version of an agreement as this node holds it, for admins.

    ``status`` is the stored status, except that a proposed or active version whose
    ``valid_until`` has passed shows as ``expired``. ``ledger_index`` is this node's
    ledger index of the entry that recorded the change just made; it is ``None`` in
    listings and when a repeated request changed nothing.
    """

    agreement_id: AgreementId
    version: int
    peer: NodeId
    role: str
    status: str
    agreement_hash: bytes
    document: bytes
    ledger_index: int | None = None


def view_of(
    stored: StoredAgreement, now: dt.datetime, ledger_index: int | None = None
) -> AgreementView:
    status = stored.status
    live = status in (AgreementStatus.PROPOSED, AgreementStatus.ACTIVE)
    shown = AgreementStatus.EXPIRED if live and now >= stored.valid_until else status
    return AgreementView(
        agreement_id=stored.id,
        version=stored.version,
        peer=stored.peer_id,
        role=stored.role,
        status=shown.value,
        agreement_hash=stored.digest,
        document=stored.document,
        ledger_index=ledger_index,
    )


def start_of_day(now: dt.datetime) -> dt.datetime:
    """Midnight UTC of ``now``'s day: the default start of a proposed agreement."""
    return now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def own_party(config: NodeConfig, signing_key: SigningKey) -> Party:
    """This node as a party, from its configuration and its signing key."""
    return Party(
        node_id=NodeId(config.name),
        name=config.name,
        ori=config.ori,
        jurisdiction=config.jurisdiction,
        kind=config.kind,
        signing_key=bytes(signing_key.verify_key),
    )


def peer_party(peer: Peer) -> Party:
    """A pinned peer as a party, from its card as this node stored it."""
    return Party(
        node_id=peer.node_id,
        name=peer.name,
        ori=peer.ori,
        jurisdiction=peer.jurisdiction,
        kind=peer.kind,
        signing_key=peer.signing_key,
    )


def build_agreement(
    terms: AgreementTerms,
    *,
    version: int,
    requester: Party,
    responder: Party,
    now: dt.datetime,
) -> Agreement:
    """The agreement document for ``terms``; raises
    :class:`~node.policy.errors.InvalidAgreementError` naming the bad field."""
    try:
        case_number = CaseNumberRule(terms.case_number_required, terms.case_number_pattern)
    except InvalidAgreementError as e:
        raise e.under("case_number") from None
    try:
        rate_limit = RateLimit(terms.plates_per_day, terms.max_batch)
    except InvalidAgreementError as e:
        raise e.under("rate_limit") from None
    return Agreement(
        id=terms.agreement_id,
        version=version,
        requester=requester,
        responder=responder,
        query_kinds=terms.query_kinds,
        purposes=terms.purposes,
        case_number=case_number,
        window_days=terms.window_days,
        label_detail=terms.label_detail,
        rate_limit=rate_limit,
        alert_categories=terms.alert_categories,
        retention_days=terms.retention_days,
        onward_sharing_banned=terms.onward_sharing_banned,
        confusable_folding=terms.confusable_folding,
        valid_from=terms.valid_from if terms.valid_from is not None else start_of_day(now),
        valid_until=terms.valid_until,
    )


def parse_document(document: bytes) -> Agreement:
    """A peer's agreement document, which MUST be the canonical bytes of the agreement it
    encodes: what is signed, hashed and stored is then one and the same byte string."""
    agreement = Agreement.from_canonical_bytes(document)
    if agreement.canonical_bytes() != document:
        raise InvalidAgreementError("the document is not in canonical form")
    return agreement


_PARTY_FIELDS = ("node_id", "name", "ori", "jurisdiction", "kind", "signing_key")


def _differences(claimed: Party, known: Party) -> list[str]:
    return [f for f in _PARTY_FIELDS if getattr(claimed, f) != getattr(known, f)]


def check_parties(agreement: Agreement, *, requester: Party, responder: Party) -> None:
    """Refuse a document whose parties differ from what this node knows of them.

    ``requester`` and ``responder`` are the parties as this node knows them (one is itself,
    the other the pinned peer). Raises :class:`PartyMismatchError` naming the fields that
    differ, never their values.
    """
    for role, claimed, known in (
        ("requester", agreement.requester, requester),
        ("responder", agreement.responder, responder),
    ):
        differ = _differences(claimed, known)
        if differ:
            raise PartyMismatchError(
                f"agreement {agreement.id} v{agreement.version}: the {role}'s "
                f"{', '.join(differ)} differ from what this node holds for {known.node_id}"
            )


def check_admin(admin: str) -> str:
    """The acting admin's name: it goes to the ledger only as a keyed pseudonym, but it
    must be present, so that every change is attributable."""
    if not admin or len(admin) > MAX_ADMIN_NAME or not admin.isprintable():
        raise InvalidCommandError(
            f"the admin name must be 1 to {MAX_ADMIN_NAME} printable characters"
        )
    return admin


def check_reason(reason: str) -> str:
    """A reason code for a rejection or revocation, as the ledger records it."""
    if not _REASON_RE.match(reason):
        raise InvalidCommandError(
            "the reason must be a short code (1-64 letters, digits or . _ : / -), "
            "e.g. terms or profile"
        )
    return reason


def newest_per_agreement(views: Iterable[AgreementView]) -> list[AgreementView]:
    """The highest version of each agreement among ``views``, by agreement id."""
    newest: dict[str, AgreementView] = {}
    for v in views:
        if v.agreement_id not in newest or v.version > newest[v.agreement_id].version:
            newest[v.agreement_id] = v
    return [newest[k] for k in sorted(newest)]
