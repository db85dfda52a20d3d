"""The inputs of the compliance rules, and the facts every rule reads from them.

Rules work on decoded entries of verified ledgers held in memory (:class:`Ledger`), the
verified agreement documents, and the legal profile. :class:`Facts` indexes them once:
which nodes are audited, the exchanges with both of their sides, the agreement documents
by hash, revocations and what each node's jurisdiction is. Nothing here reads a file, so
every rule can be tested on lists of entries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from accord.legal.profile import LegalProfile
from accord.legal.signed_agreement import SignedAgreementDocument
from audit.check.findings import EntryRef
from crypto.entries import Entry

DAY_MS: Final = 86_400_000
#: What a node records as the agreement hash of a query naming an agreement it does not
#: hold (node/exchange/answering.py); never the hash of a document.
NO_AGREEMENT_HASH: Final = "0" * 64
#: The purpose alert arming queries carry (node/exchange/alerts.py): they are checked as
#: index sharing for alerts, not as hit queries.
ALERT_PURPOSE: Final = "hotlist-alert"


@dataclass(frozen=True, slots=True)
class Ledger:
    """The decoded entries of one verified ledger, in log order (index = position)."""

    node: str
    entries: Sequence[Entry]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The tolerances and thresholds of the rules (see ``docs/adr/0012``)."""

    #: Paired entries further apart than this are clock skew.
    skew_tolerance_ms: int = 60_000
    #: A decision this close to a validity boundary, or to midnight UTC for the daily
    #: rate, is not judged: the node decides a moment before it records.
    boundary_margin_ms: int = 60_000
    #: Time a node has to purge after an epoch falls due (it purges hourly).
    retention_grace_ms: int = 2 * 3_600_000
    #: A day is anomalous above max(factor x median daily count, floor).
    volume_factor: int = 5
    actor_floor: int = 20
    agency_floor: int = 40


@dataclass(frozen=True, slots=True)
class BoundProfile:
    """The legal profile the auditor applies, and the nodes it binds: those of its
    jurisdiction, or every node when ``jurisdiction`` is ``None`` (baseline, custom)."""

    profile: LegalProfile
    jurisdiction: str | None

    def binds(self, jurisdiction: str | None) -> bool:
        return self.jurisdiction is None or jurisdiction == self.jurisdiction


@dataclass(frozen=True, slots=True)
class CheckInput:
    ledgers: Sequence[Ledger]
    documents: Sequence[SignedAgreementDocument]
    profile: BoundProfile | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)


@dataclass(frozen=True, slots=True)
class Side:
    """One entry of an exchange, where it is."""

    ref: EntryRef
    entry: Entry

    @property
    def time_ms(self) -> int:
        return self.entry.time_ms

    def get(self, key: str) -> object:
        return self.entry.fields[key]


@dataclass(slots=True)
class Exchange:
    """One query and its answer, as both nodes recorded them, keyed by the requester and
    the request id (which the requester chooses, unique per requester)."""

    requester: str
    request_id: str
    responder: str | None = None
    sent: Side | None = None
    received: Side | None = None
    answer_sent: Side | None = None
    answer_received: Side | None = None

    @property
    def query(self) -> Side | None:
        """The responder's record if there is one (it holds the decision), else the
        requester's."""
        return self.received or self.sent

    @property
    def time_ms(self) -> int:
        side = self.sent or self.received or self.answer_sent or self.answer_received
        assert side is not None
        return side.time_ms

    def refs(self) -> list[EntryRef]:
        sides = (self.sent, self.received, self.answer_sent, self.answer_received)
        return [s.ref for s in sides if s is not None]


@dataclass(frozen=True, slots=True)
class Facts:
    """Indexes over a :class:`CheckInput`, built once by :func:`facts_of`."""

    inp: CheckInput
    nodes: frozenset[str]
    exchanges: Sequence[Exchange]
    documents: Mapping[str, SignedAgreementDocument]
    #: (node, agreement hash) -> time of the node's first ``agreement.revoked`` for it.
    revoked_at: Mapping[tuple[str, str], int]
    #: node -> jurisdiction, from the signed agreements that name it as a party.
    jurisdictions: Mapping[str, str]
    #: node -> time of its last entry (the ledger's own idea of "now").
    last_time: Mapping[str, int]


def _exchanges(ledgers: Sequence[Ledger]) -> list[Exchange]:
    found: dict[tuple[str, str], Exchange] = {}

    def at(requester: str, request_id: str) -> Exchange:
        key = (requester, request_id)
        if key not in found:
            found[key] = Exchange(requester, request_id)
        return found[key]

    for ledger in ledgers:
        for index, entry in enumerate(ledger.entries):
            side = Side(EntryRef(ledger.node, index), entry)
            f = entry.fields
            if entry.type == "query.sent":
                x = at(ledger.node, f["request_id"])
                x.sent, x.responder = x.sent or side, x.responder or f["peer"]
            elif entry.type == "answer.received":
                x = at(ledger.node, f["request_id"])
                x.answer_received = x.answer_received or side
                x.responder = x.responder or f["peer"]
            elif entry.type == "query.received":
                x = at(f["peer"], f["request_id"])
                x.received, x.responder = x.received or side, ledger.node
            elif entry.type == "answer.sent":
                x = at(f["peer"], f["request_id"])
                x.answer_sent, x.responder = x.answer_sent or side, ledger.node
    return sorted(found.values(), key=lambda x: (x.time_ms, x.requester, x.request_id))


def facts_of(inp: CheckInput) -> Facts:
    documents = {d.digest_hex: d for d in inp.documents}
    revoked: dict[tuple[str, str], int] = {}
    for ledger in inp.ledgers:
        for entry in ledger.entries:
            if entry.type == "agreement.revoked":
                revoked.setdefault((ledger.node, entry.fields["agreement_hash"]), entry.time_ms)
    jurisdictions: dict[str, str] = {}
    for doc in documents.values():
        for party in (doc.requester, doc.responder):
            jurisdictions.setdefault(party.node_id, party.jurisdiction)
    return Facts(
        inp=inp,
        nodes=frozenset(ledger.node for ledger in inp.ledgers),
        exchanges=_exchanges(inp.ledgers),
        documents=documents,
        revoked_at=revoked,
        jurisdictions=jurisdictions,
        last_time={
            ledger.node: ledger.entries[-1].time_ms for ledger in inp.ledgers if ledger.entries
        },
    )


def day_of(time_ms: int) -> int:
    """The UTC day number of a time (the node's epochs are UTC days)."""
    return time_ms // DAY_MS


def day_text(day: int) -> str:
    import datetime as dt

    return (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()
